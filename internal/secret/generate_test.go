package secret_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"regexp"
	"testing"

	"github.com/gatehouse/gatehouse/internal/secret"
)

// counting returns a reader of the bytes 0, 1, 2, ... n-1.
func counting(n int) io.Reader {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return bytes.NewReader(b)
}

type failingReader struct{ err error }

func (r failingReader) Read([]byte) (int, error) { return 0, r.err }

var errRand = errors.New("entropy exhausted")

func TestToken(t *testing.T) {
	tests := []struct {
		name    string
		rand    io.Reader
		want    string
		wantErr error
	}{
		{"counting", counting(32), "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", nil},
		{"all ones", bytes.NewReader(bytes.Repeat([]byte{0xff}, 32)), "__________________________________________8", nil},
		{"reads only 32 bytes", counting(64), "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", nil},
		{"short source", counting(31), "", io.ErrUnexpectedEOF},
		{"empty source", counting(0), "", io.EOF},
		{"failing source", failingReader{errRand}, "", errRand},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := secret.Generator{Rand: tt.rand}.Token()
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Token() error = %v, want %v", err, tt.wantErr)
			}
			if got.Reveal() != tt.want {
				t.Fatalf("Token() = %q, want %q", got.Reveal(), tt.want)
			}
		})
	}
}

func TestTokenDefaultSource(t *testing.T) {
	shape := regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)
	seen := map[string]bool{}
	for range 100 {
		tok, err := secret.Generator{}.Token()
		if err != nil {
			t.Fatal(err)
		}
		s := tok.Reveal()
		if len(s) != secret.TokenLen || !shape.MatchString(s) {
			t.Fatalf("token %q is not 43 base64url characters", s)
		}
		raw, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil || len(raw) != secret.TokenBytes {
			t.Fatalf("token %q decodes to %d bytes (%v), want %d", s, len(raw), err, secret.TokenBytes)
		}
		if seen[s] {
			t.Fatalf("token %q repeated", s)
		}
		seen[s] = true
	}
}

func TestBytes(t *testing.T) {
	tests := []struct {
		name    string
		rand    io.Reader
		n       int
		want    []byte
		wantErr bool
	}{
		{"zero", counting(0), 0, []byte{}, false},
		{"four", counting(10), 4, []byte{0, 1, 2, 3}, false},
		{"exact", counting(3), 3, []byte{0, 1, 2}, false},
		{"short", counting(3), 4, nil, true},
		{"negative", counting(3), -1, nil, true},
		{"failing", failingReader{errRand}, 1, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := secret.Generator{Rand: tt.rand}.Bytes(tt.n)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Bytes(%d) error = %v, want error %v", tt.n, err, tt.wantErr)
			}
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("Bytes(%d) = %v, want %v", tt.n, got, tt.want)
			}
		})
	}
}

func TestBytesDefaultSource(t *testing.T) {
	a, err := secret.Generator{}.Bytes(32)
	if err != nil {
		t.Fatal(err)
	}
	b, err := secret.Generator{}.Bytes(32)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 32 || bytes.Equal(a, b) {
		t.Fatalf("two draws of 32 bytes: %x and %x", a, b)
	}
}

func TestUUID(t *testing.T) {
	tests := []struct {
		name    string
		rand    io.Reader
		want    string
		wantErr error
	}{
		// Bytes 0..15 with the version nibble set to 4 and the variant bits to 10.
		{"counting", counting(16), "00010203-0405-4607-8809-0a0b0c0d0e0f", nil},
		{"all ones", bytes.NewReader(bytes.Repeat([]byte{0xff}, 16)), "ffffffff-ffff-4fff-bfff-ffffffffffff", nil},
		{"short", counting(15), "", io.ErrUnexpectedEOF},
		{"failing", failingReader{errRand}, "", errRand},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := secret.Generator{Rand: tt.rand}.UUID()
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("UUID() error = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Fatalf("UUID() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestUUIDDefaultSource(t *testing.T) {
	v4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a, err := secret.Generator{}.UUID()
	if err != nil {
		t.Fatal(err)
	}
	b, err := secret.Generator{}.UUID()
	if err != nil {
		t.Fatal(err)
	}
	if !v4.MatchString(a) || !v4.MatchString(b) || a == b {
		t.Fatalf("UUIDs %q and %q: want two distinct version 4 UUIDs", a, b)
	}
}
