package secret

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/google/uuid"
)

// TokenBytes is the number of random bytes in a [Generator.Token]: 256 bits,
// the entropy Gatehouse requires of client secrets and static keys.
const TokenBytes = 32

// TokenLen is the length of a [Generator.Token]: 32 bytes in unpadded
// base64url (RFC 4648 section 5) is 43 characters.
const TokenLen = 43

// Generator makes secrets from a source of randomness.
//
// Rand is the source; nil means crypto/rand.Reader. Tests inject a
// deterministic reader to get predictable secrets. The zero Generator is
// ready to use and safe for concurrent use if Rand is.
type Generator struct {
	Rand io.Reader
}

func (g Generator) rand() io.Reader {
	if g.Rand == nil {
		return rand.Reader
	}
	return g.Rand
}

// Bytes returns n random bytes read in full from the source.
func (g Generator) Bytes(n int) ([]byte, error) {
	if n < 0 {
		return nil, fmt.Errorf("random bytes: negative length %d", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(g.rand(), b); err != nil {
		return nil, fmt.Errorf("random bytes: %w", err)
	}
	return b, nil
}

// Token returns a new opaque secret of 256 random bits encoded as unpadded
// base64url (RFC 4648 section 5), [TokenLen] characters, safe in URLs,
// headers and form bodies without escaping.
func (g Generator) Token() (Secret, error) {
	var b [TokenBytes]byte
	if _, err := io.ReadFull(g.rand(), b[:]); err != nil {
		return "", fmt.Errorf("generate token: %w", err)
	}
	return Secret(base64.RawURLEncoding.EncodeToString(b[:])), nil
}

// UUID returns a new random (version 4) UUID (RFC 9562 section 5.4) in its
// canonical lowercase 36-character form, drawn from the same source.
func (g Generator) UUID() (string, error) {
	id, err := uuid.NewRandomFromReader(g.rand())
	if err != nil {
		return "", fmt.Errorf("generate uuid: %w", err)
	}
	return id.String(), nil
}
