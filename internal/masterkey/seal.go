package masterkey

import (
	"errors"
	"fmt"
)

// ErrOpen reports sealed data that does not authenticate: it was changed,
// sealed under another master key, or sealed for other additional data.
var ErrOpen = errors.New("sealed data is corrupt, or was sealed under another master key or for another owner")

// Overhead is how many bytes Seal adds to the plaintext: a 12-byte random
// nonce before the ciphertext and a 16-byte tag after it.
const Overhead = 12 + 16

// Seal encrypts and authenticates plaintext with AES-256-GCM (NIST
// SP 800-38D) under the subkey Derive("seal"), and returns
// nonce || ciphertext || tag, with a fresh random 96-bit nonce.
//
// additionalData is authenticated but not encrypted; it binds the sealed
// blob to its owner (callers pass, for example, "team/kid"), so that a blob
// copied to another owner's row does not open. With random nonces one key
// must not seal more than 2^32 messages, far beyond Gatehouse's use (signing
// keys).
func (k Key) Seal(plaintext, additionalData []byte) ([]byte, error) {
	if k.aead == nil {
		return nil, fmt.Errorf("seal: %w", errZero)
	}
	return k.aead.Seal(nil, nil, plaintext, additionalData), nil
}

// Open authenticates and decrypts sealed, the output of [Key.Seal] with the
// same additionalData. Any change to sealed or additionalData, or another
// master key, gives an error wrapping [ErrOpen].
func (k Key) Open(sealed, additionalData []byte) ([]byte, error) {
	if k.aead == nil {
		return nil, fmt.Errorf("open sealed data: %w", errZero)
	}
	plaintext, err := k.aead.Open(nil, nil, sealed, additionalData)
	if err != nil {
		return nil, fmt.Errorf("open sealed data: %w", ErrOpen)
	}
	return plaintext, nil
}
