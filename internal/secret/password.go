package secret

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Errors of [VerifyPassword], wrapped with detail; test with errors.Is.
var (
	// ErrMalformedHash reports a stored password hash that is not a valid
	// Argon2id PHC string.
	ErrMalformedHash = errors.New("malformed password hash")
	// ErrUnsupportedHash reports a well-formed PHC string of another
	// algorithm (argon2i, bcrypt, ...) or another Argon2 version.
	ErrUnsupportedHash = errors.New("unsupported password hash")
)

// PasswordParams are the Argon2id cost parameters (RFC 9106 section 3.1).
type PasswordParams struct {
	Memory  uint32 // m: memory in KiB
	Time    uint32 // t: passes over the memory
	Threads uint8  // p: lanes, computed in parallel
	SaltLen uint32 // salt length in bytes
	KeyLen  uint32 // tag (hash) length in bytes
}

// DefaultPasswordParams are the parameters of [HashPassword]: RFC 9106
// section 4's second recommended option, m=64 MiB, t=3, p=4, with a
// 128-bit salt and a 256-bit tag.
//
// Why these: OWASP's Password Storage Cheat Sheet sets a floor of m=19 MiB,
// t=2, p=1 (or an equivalent trade of memory for passes); this option is
// above that floor on every axis (3.4 times the memory, one more pass) and
// is the one RFC 9106 names for servers that cannot spend gigabytes per
// login. It takes 55-85 ms on two cores of a current server CPU, a cost
// a person logging in does not notice but an attacker pays per guess. The
// price is 64 MiB per verification in flight, so callers bound how many
// password checks run at once (and rate-limit logins).
var DefaultPasswordParams = PasswordParams{
	Memory:  64 * 1024,
	Time:    3,
	Threads: 4,
	SaltLen: 16,
	KeyLen:  32,
}

// Limits of what [HashPasswordWith] produces and [VerifyPassword] accepts.
// The lower bounds are Argon2's own (RFC 9106 section 3.1); maxMemory keeps
// a corrupt or hostile stored hash from asking for more memory than any
// sane configuration would (RFC 9106's largest recommendation is 2 GiB).
const (
	minSaltLen = 8
	maxSaltLen = 64
	minKeyLen  = 4
	maxKeyLen  = 128
	maxMemory  = 4 * 1024 * 1024 // KiB: 4 GiB
	maxTime    = 1024
)

func (p PasswordParams) validate() error {
	switch {
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("time cost t=%d out of range 1..%d", p.Time, maxTime)
	case p.Threads < 1:
		return fmt.Errorf("parallelism p=%d out of range 1..255", p.Threads)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory:
		return fmt.Errorf("memory cost m=%d KiB out of range 8*p..%d", p.Memory, maxMemory)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("salt length %d out of range %d..%d", p.SaltLen, minSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("hash length %d out of range %d..%d", p.KeyLen, minKeyLen, maxKeyLen)
	}
	return nil
}

// HashPassword hashes pw with Argon2id and [DefaultPasswordParams], taking
// the salt from rand (nil means crypto/rand.Reader), and returns the PHC
// string, for example
//
//	$argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>
//
// with salt and hash in unpadded standard base64 (RFC 4648 section 4), as
// the reference implementation writes it.
func HashPassword(pw string, rand io.Reader) (string, error) {
	return HashPasswordWith(DefaultPasswordParams, pw, rand)
}

// HashPasswordWith is [HashPassword] with explicit parameters; tests use it
// with cheap ones.
func HashPasswordWith(params PasswordParams, pw string, rand io.Reader) (string, error) {
	if err := params.validate(); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	salt, err := Generator{Rand: rand}.Bytes(int(params.SaltLen))
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, params.Time, params.Memory, params.Threads, params.KeyLen)
	return encodePHC(params, salt, key), nil
}

func encodePHC(p PasswordParams, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt),
		base64.RawStdEncoding.EncodeToString(key))
}

// VerifyPassword reports whether pw matches encoded, an Argon2id PHC string
// with any valid parameters (so hashes made under older defaults keep
// working). The comparison takes constant time. A mismatch is (false, nil);
// an encoded string that cannot be checked is an error wrapping
// [ErrMalformedHash] or [ErrUnsupportedHash].
func VerifyPassword(pw, encoded string) (bool, error) {
	params, salt, want, err := decodePHC(encoded)
	if err != nil {
		return false, fmt.Errorf("verify password: %w", err)
	}
	got := argon2.IDKey([]byte(pw), salt, params.Time, params.Memory, params.Threads, params.KeyLen)
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// PasswordNeedsRehash reports whether encoded was made with parameters
// other than params (or cannot be parsed), so that a caller who has just
// verified the password can store a fresh hash under the current defaults.
func PasswordNeedsRehash(encoded string, params PasswordParams) bool {
	got, _, _, err := decodePHC(encoded)
	return err != nil || got != params
}

// dummyHash returns a well-formed PHC string under DefaultPasswordParams
// whose salt and tag are zero: no password matches it (finding one would
// mean inverting Argon2id), yet checking a password against it costs what a
// real check costs. It is built on each call, so it follows any change to
// DefaultPasswordParams.
func dummyHash() string {
	p := DefaultPasswordParams
	return encodePHC(p, make([]byte, p.SaltLen), make([]byte, p.KeyLen))
}

// DummyVerifyPassword does the work of [VerifyPassword] against a hash under
// [DefaultPasswordParams] and discards the result. Call it when the user
// named in a login does not exist, so that the response takes as long as for
// a wrong password and does not reveal which accounts exist.
func DummyVerifyPassword(pw string) {
	_, _ = VerifyPassword(pw, dummyHash())
}

// decodePHC parses "$argon2id$v=19$m=<m>,t=<t>,p=<p>$<salt>$<hash>", strictly:
// fields in this order, decimal numbers without sign or leading zeros,
// unpadded standard base64.
func decodePHC(s string) (PasswordParams, []byte, []byte, error) {
	var p PasswordParams
	fields := strings.Split(s, "$")
	if len(fields) < 2 || fields[0] != "" {
		return p, nil, nil, fmt.Errorf("%w: does not start with $<algorithm>", ErrMalformedHash)
	}
	if fields[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("%w: algorithm %q, want argon2id", ErrUnsupportedHash, clip(fields[1]))
	}
	if len(fields) != 6 {
		if len(fields) == 5 && strings.HasPrefix(fields[2], "m=") {
			return p, nil, nil, fmt.Errorf("%w: no version field (Argon2 1.0), want v=%d", ErrUnsupportedHash, argon2.Version)
		}
		return p, nil, nil, fmt.Errorf("%w: %d $-separated fields, want 6", ErrMalformedHash, len(fields))
	}

	v, ok := strings.CutPrefix(fields[2], "v=")
	if !ok {
		return p, nil, nil, fmt.Errorf("%w: second field is not v=<version>", ErrMalformedHash)
	}
	version, err := parseDecimal(v)
	if err != nil {
		return p, nil, nil, fmt.Errorf("%w: version: %v", ErrMalformedHash, err)
	}
	if version != argon2.Version {
		return p, nil, nil, fmt.Errorf("%w: version %d, want %d", ErrUnsupportedHash, version, argon2.Version)
	}

	kv := strings.Split(fields[3], ",")
	if len(kv) != 3 {
		return p, nil, nil, fmt.Errorf("%w: parameters %q, want m=<KiB>,t=<passes>,p=<lanes>", ErrMalformedHash, clip(fields[3]))
	}
	var nums [3]uint32
	for i, name := range []string{"m", "t", "p"} {
		val, ok := strings.CutPrefix(kv[i], name+"=")
		if !ok {
			return p, nil, nil, fmt.Errorf("%w: parameters %q, want m=<KiB>,t=<passes>,p=<lanes>", ErrMalformedHash, clip(fields[3]))
		}
		n, err := parseDecimal(val)
		if err != nil {
			return p, nil, nil, fmt.Errorf("%w: parameter %s: %v", ErrMalformedHash, name, err)
		}
		nums[i] = n
	}
	if nums[2] > 255 {
		return p, nil, nil, fmt.Errorf("%w: parallelism p=%d out of range 1..255", ErrMalformedHash, nums[2])
	}
	p.Memory, p.Time, p.Threads = nums[0], nums[1], uint8(nums[2])

	salt, err := base64.RawStdEncoding.Strict().DecodeString(fields[4])
	if err != nil || strings.ContainsAny(fields[4], "\r\n") {
		return p, nil, nil, fmt.Errorf("%w: salt is not unpadded standard base64", ErrMalformedHash)
	}
	key, err := base64.RawStdEncoding.Strict().DecodeString(fields[5])
	if err != nil || strings.ContainsAny(fields[5], "\r\n") {
		return p, nil, nil, fmt.Errorf("%w: hash is not unpadded standard base64", ErrMalformedHash)
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))

	if err := p.validate(); err != nil {
		return p, nil, nil, fmt.Errorf("%w: %v", ErrMalformedHash, err)
	}
	return p, salt, key, nil
}

// parseDecimal parses a canonical unsigned 32-bit decimal: digits only, no
// sign, no leading zeros.
func parseDecimal(s string) (uint32, error) {
	if s == "" {
		return 0, errors.New("empty number")
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("number %q has a leading zero", clip(s))
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%q is not a decimal number", clip(s))
		}
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("number %q out of range", clip(s))
	}
	return uint32(n), nil
}

// clip shortens a field of a malformed hash before it goes into an error, so
// that a long value (a secret stored in the wrong column, say) is not echoed.
func clip(s string) string {
	const max = 24
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
