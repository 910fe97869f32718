package secret

import (
	"errors"
	"testing"
)

// A stored password hash, as the database holds it (a restored backup, an
// import, a hand-edited row): what decodePHC accepts is Argon2id with
// parameters within bounds and encodes back to exactly the input (one
// spelling per hash); what it refuses wraps ErrMalformedHash or
// ErrUnsupportedHash. No Argon2 work is done here: a hash that asked for
// gigabytes is refused before any is spent.
func FuzzDecodePHC(f *testing.F) {
	for _, s := range []string{
		dummyHash(),
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=064,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHR$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$t=1,m=64,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$2b$10$abcdefghijklmnopqrstuuXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
		"$argon2id$v=19$m=64,t=1,p=256$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNh\nbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"", "$", "argon2id",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := decodePHC(s)
		if err != nil {
			if !errors.Is(err, ErrMalformedHash) && !errors.Is(err, ErrUnsupportedHash) {
				t.Fatalf("decodePHC(%q): %v wraps neither error", s, err)
			}
			if len(err.Error()) > 400 {
				t.Errorf("decodePHC(%q): an error of %d bytes echoes the input", s, len(err.Error()))
			}
			return
		}
		if err := p.validate(); err != nil {
			t.Errorf("decodePHC(%q) accepted %+v: %v", s, p, err)
		}
		if int(p.SaltLen) != len(salt) || int(p.KeyLen) != len(key) {
			t.Errorf("decodePHC(%q): params %+v, salt %d bytes, key %d bytes", s, p, len(salt), len(key))
		}
		if again := encodePHC(p, salt, key); again != s {
			t.Errorf("decodePHC(%q) encodes back as %q", s, again)
		}
		if PasswordNeedsRehash(s, p) {
			t.Errorf("PasswordNeedsRehash(%q, its own parameters) = true", s)
		}
	})
}
