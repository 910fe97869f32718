package masterkey_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"testing"

	"github.com/gatehouse/gatehouse/internal/masterkey"
)

func TestSealOpenRoundTrip(t *testing.T) {
	k := mustNew(t, rawKey(1))
	tests := []struct {
		name      string
		plaintext []byte
		ad        []byte
	}{
		{"signing key", []byte("-----BEGIN EC PRIVATE KEY-----\n..."), []byte("acme/kid-1")},
		{"empty plaintext", []byte{}, []byte("acme/kid-2")},
		{"nil plaintext", nil, []byte("acme/kid-3")},
		{"no additional data", []byte("data"), nil},
		{"large", bytes.Repeat([]byte{7}, 1<<16), []byte("acme/big")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sealed, err := k.Seal(tt.plaintext, tt.ad)
			if err != nil {
				t.Fatal(err)
			}
			if len(sealed) != len(tt.plaintext)+masterkey.Overhead {
				t.Fatalf("sealed is %d bytes, want %d", len(sealed), len(tt.plaintext)+masterkey.Overhead)
			}
			if len(tt.plaintext) >= 8 && bytes.Contains(sealed, tt.plaintext[:8]) {
				t.Fatal("sealed data contains the plaintext")
			}
			got, err := k.Open(sealed, tt.ad)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if !bytes.Equal(got, tt.plaintext) {
				t.Fatalf("Open = %q, want %q", got, tt.plaintext)
			}
			// A Key parsed from the same bytes opens it too (another process, same key).
			again, err := mustNew(t, rawKey(1)).Open(sealed, tt.ad)
			if err != nil || !bytes.Equal(again, tt.plaintext) {
				t.Fatalf("Open with an equal Key = %q, %v", again, err)
			}
		})
	}
}

func TestSealUsesFreshNonces(t *testing.T) {
	k := mustNew(t, rawKey(1))
	a, err := k.Seal([]byte("same"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := k.Seal([]byte("same"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a[:12], b[:12]) || bytes.Equal(a, b) {
		t.Fatal("two seals of the same plaintext share a nonce")
	}
}

func TestOpenRejects(t *testing.T) {
	k := mustNew(t, rawKey(1))
	ad := []byte("acme/kid-1")
	sealed, err := k.Seal([]byte("private key bytes"), ad)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[(i+len(b))%len(b)] ^= 0x01
		return b
	}
	tests := []struct {
		name   string
		key    masterkey.Key
		sealed []byte
		ad     []byte
	}{
		{"nonce bit flipped", k, flip(0), ad},
		{"ciphertext bit flipped", k, flip(12), ad},
		{"tag bit flipped", k, flip(-1), ad},
		{"truncated", k, sealed[:len(sealed)-1], ad},
		{"extended", k, append(bytes.Clone(sealed), 0), ad},
		{"nonce only", k, sealed[:12], ad},
		{"shorter than overhead", k, sealed[:masterkey.Overhead-1], ad},
		{"empty", k, nil, ad},
		{"wrong additional data", k, sealed, []byte("acme/kid-2")},
		{"other team", k, sealed, []byte("evil/kid-1")},
		{"no additional data", k, sealed, nil},
		{"other master key", mustNew(t, rawKey(2)), sealed, ad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.key.Open(tt.sealed, tt.ad)
			if !errors.Is(err, masterkey.ErrOpen) {
				t.Fatalf("Open error = %v, want %v", err, masterkey.ErrOpen)
			}
			if got != nil {
				t.Fatalf("Open returned %q with an error", got)
			}
		})
	}
	// The original still opens: nothing above changed it.
	if _, err := k.Open(sealed, ad); err != nil {
		t.Fatalf("Open of the untouched blob: %v", err)
	}
}

// TestSealFormat opens a sealed blob with plain AES-256-GCM: the key is
// Derive("seal"), not the master key itself, and the layout is
// nonce (12) || ciphertext || tag (16).
func TestSealFormat(t *testing.T) {
	k := mustNew(t, rawKey(1))
	ad := []byte("acme/kid-1")
	sealed, err := k.Seal([]byte("private key bytes"), ad)
	if err != nil {
		t.Fatal(err)
	}
	open := func(key []byte) ([]byte, error) {
		block, err := aes.NewCipher(key)
		if err != nil {
			t.Fatal(err)
		}
		gcm, err := cipher.NewGCM(block)
		if err != nil {
			t.Fatal(err)
		}
		return gcm.Open(nil, sealed[:gcm.NonceSize()], sealed[gcm.NonceSize():], ad)
	}
	got, err := open(k.Derive("seal"))
	if err != nil || string(got) != "private key bytes" {
		t.Fatalf("AES-256-GCM under Derive(\"seal\") = %q, %v", got, err)
	}
	if _, err := open(k.Raw()); err == nil {
		t.Fatal("the blob opens under the master key itself")
	}
}
