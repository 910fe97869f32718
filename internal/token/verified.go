package token

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/change"
)

// verifiedLimit bounds a Verified cache; when full, the oldest of a
// random sample goes.
const verifiedLimit = 100_000

// Verified remembers the access tokens whose signature and claims this
// node checked, by the hash of team and token, so that a token presented
// again (to the access guard, to introspection) costs a map lookup instead
// of a signature verification. Concurrent first presentations of one
// token share one verification. It keeps no failure, and says nothing of
// revocation: callers check the denylist on every call. Its zero value is
// ready to use; it must not be copied after first use.
type Verified struct {
	once  sync.Once
	cache *change.Cache[[sha256.Size]byte, Claims]
}

func (v *Verified) init() {
	v.once.Do(func() {
		v.cache = change.New[[sha256.Size]byte, Claims](change.Options[[sha256.Size]byte]{
			Name:  func(k [sha256.Size]byte) string { return string(k[:]) },
			Limit: verifiedLimit,
		})
	})
}

// Check returns the claims of the access token raw of team, valid at now
// for want: from the cache when this node verified the same token for the
// same team before, else from verify (which checks the signature and
// returns the payload; its errors are returned as they are) and Validate,
// keeping them. A remembered token is checked again against want at now:
// issuer, audience, expiry and not-before, with want's leeway, so callers
// with different leeways may share one Verified.
func (v *Verified) Check(team, raw string, now time.Time, want Expectation, verify func() ([]byte, error)) (Claims, error) {
	v.init()
	c, _, err := v.cache.Get(verifiedKey(team, raw), func() (Claims, bool, error) {
		payload, err := verify()
		if err != nil {
			return Claims{}, false, err
		}
		// Kept if valid with the widest leeway: every caller, this one
		// included, checks the times with its own below.
		wide := want
		wide.Leeway = MaxLeeway
		c, err := Validate(payload, now, wide)
		return c, err == nil, err
	})
	if err != nil {
		return Claims{}, err
	}
	return c, Recheck(c, now, want)
}

// verifiedKey is a token's key in a Verified: the SHA-256 of the team, a
// zero byte and the token, hashed from a buffer on the stack (a token of
// up to about 2 KiB costs no allocation).
func verifiedKey(team, raw string) [sha256.Size]byte {
	var buf [2048]byte
	b := append(append(append(buf[:0], team...), 0), raw...)
	return sha256.Sum256(b)
}

// Recheck checks claims that Validate accepted earlier against want at
// now: the issuer, the audience, and the times.
func Recheck(c Claims, now time.Time, want Expectation) error {
	if c.Issuer != want.Issuer {
		return fmt.Errorf("%w: %q", ErrWrongIssuer, c.Issuer)
	}
	if !slices.Contains(c.Audience, want.Audience) {
		return fmt.Errorf("%w: %q", ErrWrongAudience, c.Audience)
	}
	leeway := min(max(want.Leeway, 0), MaxLeeway)
	if !now.Before(c.Expiry.Add(leeway)) {
		return fmt.Errorf("%w at %s", ErrExpired, c.Expiry.UTC().Format(time.RFC3339))
	}
	if late := now.Add(leeway); late.Before(c.NotBefore) || late.Before(c.IssuedAt) {
		return fmt.Errorf("%w before %s", ErrNotYetValid, maxTime(c.NotBefore, c.IssuedAt).UTC().Format(time.RFC3339))
	}
	return nil
}
