package statickey_test

import (
	"encoding/base64"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/internal/statickey"
)

// Parse takes what a caller sends after "Bearer " or "AppKey ". A key it
// accepts is exactly the one Format makes of its id and secret (one
// spelling per key: no line breaks, padding variants or stray bits), its
// id is a canonical UUID and its secret 1 to 64 printable characters
// without ':'; anything else is ErrInvalidKey.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		statickey.Format("0890ed49-630d-487b-924b-23f33164f3b0", "HMQTLR+8Hhz4xAcmUrOFigdznkc0kozt7NzYC4lijs3"),
		statickey.Format("0890ed49-630d-487b-924b-23f33164f3b0", "a"),
		"", "=", "not base64!", "eyJhbGciOiJub25lIn0",
		base64.StdEncoding.EncodeToString([]byte("0890ED49-630D-487B-924B-23F33164F3B0:secret")),
		base64.StdEncoding.EncodeToString([]byte("0890ed49-630d-487b-924b-23f33164f3b0:with space")),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		id, secret, err := statickey.Parse(key)
		if err != nil {
			if !errors.Is(err, statickey.ErrInvalidKey) {
				t.Fatalf("Parse(%q): error %v does not wrap ErrInvalidKey", key, err)
			}
			return
		}
		if u, err := uuid.Parse(id); err != nil || u.String() != id {
			t.Errorf("Parse(%q): id %q is not a canonical UUID", key, id)
		}
		if len(secret) < 1 || len(secret) > 64 {
			t.Errorf("Parse(%q): secret of %d bytes", key, len(secret))
		}
		for _, c := range []byte(secret) {
			if c <= ' ' || c >= 0x7f || c == ':' {
				t.Errorf("Parse(%q): secret %q holds %q", key, secret, c)
			}
		}
		if again := statickey.Format(id, secret); again != key {
			t.Errorf("Parse(%q) = %q, %q, which Format spells %q: more than one spelling of a key", key, id, secret, again)
		}
	})
}

// Format and Parse round-trip every key the service can make.
func FuzzFormatParse(f *testing.F) {
	f.Add([]byte("0123456789abcdef"), "HMQTLR+8Hhz4xAcmUrOFigdznkc0kozt7NzYC4lijs3")
	f.Add([]byte("ffffffffffffffff"), "x")
	f.Fuzz(func(t *testing.T, raw []byte, secret string) {
		if len(raw) < 16 {
			return
		}
		id := uuid.UUID(raw[:16]).String()
		valid := len(secret) >= 1 && len(secret) <= 64
		for _, c := range []byte(secret) {
			valid = valid && c > ' ' && c < 0x7f && c != ':'
		}
		gotID, gotSecret, err := statickey.Parse(statickey.Format(id, secret))
		switch {
		case valid && (err != nil || gotID != id || gotSecret != secret):
			t.Errorf("Parse(Format(%q, %q)) = %q, %q, %v", id, secret, gotID, gotSecret, err)
		case !valid && err == nil:
			t.Errorf("Parse(Format(%q, %q)) accepted a secret the service never makes", id, secret)
		}
	})
}
