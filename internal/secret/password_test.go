package secret_test

import (
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/secret"
)

// cheap keeps password tests fast; never use it outside tests.
var cheap = secret.PasswordParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// Vectors from the Argon2 reference implementation (phc-winner-argon2,
// src/test.c), an encoder independent of golang.org/x/crypto.
func TestVerifyPasswordReferenceVectors(t *testing.T) {
	tests := []struct {
		pw, encoded string
	}{
		{"password", "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
		{"password", "$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc"},
		{"password", "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"},
		{"password", "$argon2id$v=19$m=65536,t=1,p=1$c29tZXNhbHQ$9qWtwbpyPd3vm1rB1GThgPzZ3/ydHL92zKL+15XZypg"},
		{"differentpassword", "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$C4TWUs9rDEvq7w3+J4umqA32aWKB1+DSiRuBfYxFj94"},
		{"password", "$argon2id$v=19$m=65536,t=2,p=1$ZGlmZnNhbHQ$vfMrBczELrFdWP0ZsfhWsRPaHppYdP3MVEMIVlqoFBw"},
	}
	for _, tt := range tests {
		t.Run(tt.encoded[:32], func(t *testing.T) {
			ok, err := secret.VerifyPassword(tt.pw, tt.encoded)
			if err != nil || !ok {
				t.Fatalf("VerifyPassword(%q) = %v, %v; want true, nil", tt.pw, ok, err)
			}
			ok, err = secret.VerifyPassword(tt.pw+"x", tt.encoded)
			if err != nil || ok {
				t.Fatalf("VerifyPassword(%q) = %v, %v; want false, nil", tt.pw+"x", ok, err)
			}
		})
	}
}

func TestHashPasswordWithDeterministicSalt(t *testing.T) {
	got, err := secret.HashPasswordWith(cheap, "correct horse", counting(16))
	if err != nil {
		t.Fatal(err)
	}
	// Salt: bytes 0..15 in unpadded standard base64; hash: 32 bytes, 43 characters.
	want := regexp.MustCompile(`^\$argon2id\$v=19\$m=64,t=1,p=1\$AAECAwQFBgcICQoLDA0ODw\$[A-Za-z0-9+/]{43}$`)
	if !want.MatchString(got) {
		t.Fatalf("HashPasswordWith = %q, want match for %s", got, want)
	}
	again, err := secret.HashPasswordWith(cheap, "correct horse", counting(16))
	if err != nil {
		t.Fatal(err)
	}
	if again != got {
		t.Fatalf("same password, salt and params gave %q and %q", got, again)
	}
}

func TestHashPasswordDefaults(t *testing.T) {
	got, err := secret.HashPassword("correct horse battery staple", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := regexp.MustCompile(`^\$argon2id\$v=19\$m=65536,t=3,p=4\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !want.MatchString(got) {
		t.Fatalf("HashPassword = %q, want match for %s", got, want)
	}
	if secret.PasswordNeedsRehash(got, secret.DefaultPasswordParams) {
		t.Fatalf("a fresh default hash needs rehash: %q", got)
	}
	ok, err := secret.VerifyPassword("correct horse battery staple", got)
	if err != nil || !ok {
		t.Fatalf("VerifyPassword = %v, %v; want true, nil", ok, err)
	}
}

func TestHashPasswordRandomSalt(t *testing.T) {
	a, err := secret.HashPasswordWith(cheap, "pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := secret.HashPasswordWith(cheap, "pw", nil)
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatalf("two hashes of one password are equal: %q", a)
	}
}

func TestHashPasswordErrors(t *testing.T) {
	with := func(f func(*secret.PasswordParams)) secret.PasswordParams {
		p := cheap
		f(&p)
		return p
	}
	tests := []struct {
		name    string
		params  secret.PasswordParams
		rand    io.Reader // nil: a working source
		wantErr error     // nil: any error
	}{
		{"zero params", secret.PasswordParams{}, nil, nil},
		{"t=0", with(func(p *secret.PasswordParams) { p.Time = 0 }), nil, nil},
		{"p=0", with(func(p *secret.PasswordParams) { p.Threads = 0 }), nil, nil},
		{"m<8p", with(func(p *secret.PasswordParams) { p.Threads = 4; p.Memory = 31 }), nil, nil},
		{"m too large", with(func(p *secret.PasswordParams) { p.Memory = 1 << 30 }), nil, nil},
		{"salt too short", with(func(p *secret.PasswordParams) { p.SaltLen = 7 }), nil, nil},
		{"salt too long", with(func(p *secret.PasswordParams) { p.SaltLen = 65 }), nil, nil},
		{"hash too short", with(func(p *secret.PasswordParams) { p.KeyLen = 3 }), nil, nil},
		{"hash too long", with(func(p *secret.PasswordParams) { p.KeyLen = 129 }), nil, nil},
		{"failing rand", cheap, failingReader{errRand}, errRand},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rand := tt.rand
			if rand == nil {
				rand = counting(64)
			}
			got, err := secret.HashPasswordWith(tt.params, "pw", rand)
			if err == nil || got != "" {
				t.Fatalf("HashPasswordWith = %q, %v; want an error", got, err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v does not wrap %v", err, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "hash password: ") {
				t.Fatalf("error %q lacks context", err)
			}
		})
	}
}

func TestVerifyPasswordAnyParams(t *testing.T) {
	params := []secret.PasswordParams{
		cheap,
		{Memory: 8, Time: 1, Threads: 1, SaltLen: 8, KeyLen: 4},
		{Memory: 256, Time: 3, Threads: 4, SaltLen: 32, KeyLen: 64},
		{Memory: 1024, Time: 2, Threads: 2, SaltLen: 16, KeyLen: 16},
	}
	for _, p := range params {
		encoded, err := secret.HashPasswordWith(p, "hunter2", nil)
		if err != nil {
			t.Fatalf("HashPasswordWith(%+v): %v", p, err)
		}
		tests := []struct {
			pw   string
			want bool
		}{
			{"hunter2", true},
			{"hunter3", false},
			{"Hunter2", false},
			{"hunter2 ", false},
			{"", false},
		}
		for _, tt := range tests {
			ok, err := secret.VerifyPassword(tt.pw, encoded)
			if err != nil || ok != tt.want {
				t.Errorf("params %+v: VerifyPassword(%q) = %v, %v; want %v, nil", p, tt.pw, ok, err, tt.want)
			}
		}
		if !secret.PasswordNeedsRehash(encoded, secret.DefaultPasswordParams) {
			t.Errorf("params %+v: no rehash needed against the defaults", p)
		}
		if secret.PasswordNeedsRehash(encoded, p) {
			t.Errorf("params %+v: rehash needed against its own params", p)
		}
	}
}

func TestVerifyPasswordMalformed(t *testing.T) {
	const (
		salt = "c29tZXNhbHQ"
		hash = "nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"
	)
	valid := "$argon2id$v=19$m=256,t=2,p=1$" + salt + "$" + hash
	if ok, err := secret.VerifyPassword("password", valid); err != nil || !ok {
		t.Fatalf("base case: VerifyPassword = %v, %v", ok, err)
	}
	tests := []struct {
		name    string
		encoded string
		want    error
	}{
		{"empty", "", secret.ErrMalformedHash},
		{"plain text", "password", secret.ErrMalformedHash},
		{"just $", "$", secret.ErrUnsupportedHash},
		{"no leading $", "argon2id$v=19$m=256,t=2,p=1$" + salt + "$" + hash, secret.ErrMalformedHash},
		{"argon2i", "$argon2i$v=19$m=256,t=2,p=1$" + salt + "$" + hash, secret.ErrUnsupportedHash},
		{"argon2d", "$argon2d$v=19$m=256,t=2,p=1$" + salt + "$" + hash, secret.ErrUnsupportedHash},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", secret.ErrUnsupportedHash},
		{"uppercase algorithm", "$ARGON2ID$v=19$m=256,t=2,p=1$" + salt + "$" + hash, secret.ErrUnsupportedHash},
		{"version 16", "$argon2id$v=16$m=256,t=2,p=1$" + salt + "$" + hash, secret.ErrUnsupportedHash},
		{"no version", "$argon2id$m=256,t=2,p=1$" + salt + "$" + hash, secret.ErrUnsupportedHash},
		{"version not a number", "$argon2id$v=x$m=256,t=2,p=1$" + salt + "$" + hash, secret.ErrMalformedHash},
		{"version leading zero", "$argon2id$v=019$m=256,t=2,p=1$" + salt + "$" + hash, secret.ErrMalformedHash},
		{"version field misnamed", "$argon2id$x=19$m=256,t=2,p=1$" + salt + "$" + hash, secret.ErrMalformedHash},
		{"too few fields", "$argon2id$v=19$m=256,t=2,p=1$" + salt, secret.ErrMalformedHash},
		{"too many fields", valid + "$", secret.ErrMalformedHash},
		{"params reordered", "$argon2id$v=19$t=2,m=256,p=1$" + salt + "$" + hash, secret.ErrMalformedHash},
		{"param missing", "$argon2id$v=19$m=256,t=2$" + salt + "$" + hash, secret.ErrMalformedHash},
		{"param repeated", "$argon2id$v=19$m=256,t=2,p=1,p=1$" + salt + "$" + hash, secret.ErrMalformedHash},
		{"params with spaces", "$argon2id$v=19$m=256, t=2, p=1$" + salt + "$" + hash, secret.ErrMalformedHash},
		{"params with semicolons", "$argon2id$v=19$m=256;t=2;p=1$" + salt + "$" + hash, secret.ErrMalformedHash},
		{"param empty", "$argon2id$v=19$m=,t=2,p=1$" + salt + "$" + hash, secret.ErrMalformedHash},
		{"param negative", "$argon2id$v=19$m=-256,t=2,p=1$" + salt + "$" + hash, secret.ErrMalformedHash},
		{"param plus sign", "$argon2id$v=19$m=+256,t=2,p=1$" + salt + "$" + hash, secret.ErrMalformedHash},
		{"param leading zero", "$argon2id$v=19$m=0256,t=2,p=1$" + salt + "$" + hash, secret.ErrMalformedHash},
		{"param overflows", "$argon2id$v=19$m=99999999999999999999,t=2,p=1$" + salt + "$" + hash, secret.ErrMalformedHash},
		{"t=0", "$argon2id$v=19$m=256,t=0,p=1$" + salt + "$" + hash, secret.ErrMalformedHash},
		{"p=0", "$argon2id$v=19$m=256,t=2,p=0$" + salt + "$" + hash, secret.ErrMalformedHash},
		{"p=256", "$argon2id$v=19$m=4096,t=2,p=256$" + salt + "$" + hash, secret.ErrMalformedHash},
		{"m<8p", "$argon2id$v=19$m=15,t=2,p=2$" + salt + "$" + hash, secret.ErrMalformedHash},
		{"m above 4 GiB", "$argon2id$v=19$m=4194305,t=2,p=1$" + salt + "$" + hash, secret.ErrMalformedHash},
		{"t above limit", "$argon2id$v=19$m=256,t=1025,p=1$" + salt + "$" + hash, secret.ErrMalformedHash},
		{"salt padded", "$argon2id$v=19$m=256,t=2,p=1$" + salt + "=$" + hash, secret.ErrMalformedHash},
		{"salt url alphabet", "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ-$" + hash, secret.ErrMalformedHash},
		{"salt with newline", "$argon2id$v=19$m=256,t=2,p=1$c29tZX\nNhbHQ$" + hash, secret.ErrMalformedHash},
		{"salt too short", "$argon2id$v=19$m=256,t=2,p=1$c2FsdA$" + hash, secret.ErrMalformedHash},
		{"salt empty", "$argon2id$v=19$m=256,t=2,p=1$$" + hash, secret.ErrMalformedHash},
		{"hash padded", "$argon2id$v=19$m=256,t=2,p=1$" + salt + "$" + hash + "=", secret.ErrMalformedHash},
		{"hash not base64", "$argon2id$v=19$m=256,t=2,p=1$" + salt + "$!!!!", secret.ErrMalformedHash},
		{"hash bad trailing bits", "$argon2id$v=19$m=256,t=2,p=1$" + salt + "$" + hash[:42] + "5", secret.ErrMalformedHash},
		{"hash too short", "$argon2id$v=19$m=256,t=2,p=1$" + salt + "$AAA", secret.ErrMalformedHash},
		{"hash empty", "$argon2id$v=19$m=256,t=2,p=1$" + salt + "$", secret.ErrMalformedHash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := secret.VerifyPassword("password", tt.encoded)
			if ok || !errors.Is(err, tt.want) {
				t.Fatalf("VerifyPassword = %v, %v; want false and an error wrapping %v", ok, err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "verify password: ") {
				t.Fatalf("error %q lacks context", err)
			}
			if !secret.PasswordNeedsRehash(tt.encoded, secret.DefaultPasswordParams) {
				t.Fatal("PasswordNeedsRehash = false for an unusable hash")
			}
		})
	}
}

func TestVerifyPasswordErrorDoesNotEchoLongFields(t *testing.T) {
	long := "$" + strings.Repeat("leaked-secret-", 10) + "$v=19"
	_, err := secret.VerifyPassword("pw", long)
	if err == nil || strings.Count(err.Error(), "leaked-secret-") > 2 {
		t.Fatalf("error %v echoes the long field", err)
	}
}

func TestDummyVerifyPassword(t *testing.T) {
	if secret.PasswordNeedsRehash(secret.DummyHash(), secret.DefaultPasswordParams) {
		t.Fatalf("dummy hash %q does not use DefaultPasswordParams, so a dummy check would not cost what a real one does", secret.DummyHash())
	}
	for _, pw := range []string{"", "password", "x"} {
		ok, err := secret.VerifyPassword(pw, secret.DummyHash())
		if err != nil || ok {
			t.Fatalf("VerifyPassword(%q, dummy) = %v, %v; want false, nil", pw, ok, err)
		}
	}
	secret.DummyVerifyPassword("password")
}

// BenchmarkPassword shows the cost of the defaults and that a dummy check
// costs what a real one does.
func BenchmarkPassword(b *testing.B) {
	encoded, err := secret.HashPassword("correct horse battery staple", nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Verify", func(b *testing.B) {
		for b.Loop() {
			if _, err := secret.VerifyPassword("wrong password", encoded); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("DummyVerify", func(b *testing.B) {
		for b.Loop() {
			secret.DummyVerifyPassword("wrong password")
		}
	})
}
