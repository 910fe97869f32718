package webui

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/masterkey"
)

// FuzzOpenSession feeds session cookie values to openSession: it never
// panics, opens only what was sealed for its team with its key, and what
// it opens seals and opens again to the same session. The seeds are in
// the code (every run of go test runs them) and in testdata/fuzz.
func FuzzOpenSession(f *testing.F) {
	key, err := masterkey.New(bytes.Repeat([]byte{3}, masterkey.Size))
	if err != nil {
		f.Fatal(err)
	}
	other, err := masterkey.New(bytes.Repeat([]byte{4}, masterkey.Size))
	if err != nil {
		f.Fatal(err)
	}
	seal := func(k masterkey.Key, team, plain string) string {
		sealed, err := k.Seal([]byte(plain), sealAD(team))
		if err != nil {
			f.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(sealed)
	}
	good := `{"s":"` + strings.Repeat("A", 43) + `","e":1893456000}`
	for _, seed := range []string{
		seal(key, team, good),
		seal(key, "beta", good), // another team's
		seal(other, team, good), // another key's
		seal(key, team, `{"u":"0b8e3a51","s":"c2Vzc2lvbg","i":1,"e":2,"p":"x"}`), // the stateless cookie of before
		seal(key, team, `{"s":"","e":1}`),
		seal(key, team, `{"s":"x","e":-1}`),
		seal(key, team, `{"s":5,"e":"never"}`),
		seal(key, team, `null`),
		seal(key, team, ``),
		seal(key, team, strings.Repeat("[", 300)),
		"",
		"not base64!",
		"AAAA",
		strings.Repeat("A", 600),
		base64.RawURLEncoding.EncodeToString(make([]byte, 12)),
		base64.StdEncoding.EncodeToString([]byte(good)),
	} {
		f.Add(team, seed)
	}
	f.Fuzz(func(t *testing.T, tm, value string) {
		s, ok := openSession(key, tm, value)
		if !ok {
			if s != (session{}) {
				t.Fatalf("refused value, yet session %+v", s)
			}
			return
		}
		if s.ID == "" || s.Expires <= 0 || len(value) > maxCookie {
			t.Fatalf("opened %q as %+v", value, s)
		}
		if _, ok := openSession(other, tm, value); ok {
			t.Fatalf("%q opened with another key", value)
		}
		if _, ok := openSession(key, tm+"x", value); ok {
			t.Fatalf("%q opened for another team", value)
		}
		again, err := sealSession(key, tm, s)
		if err != nil {
			t.Fatal(err)
		}
		if len(again) > maxCookie {
			return // JSON may escape more than the sealed text did
		}
		if s2, ok := openSession(key, tm, again); !ok || s2 != s {
			t.Fatalf("resealed %+v opened as %+v, %v", s, s2, ok)
		}
	})
}
