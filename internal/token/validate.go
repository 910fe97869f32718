package token

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MaxLeeway bounds Expectation.Leeway: clocks that disagree by more are a
// fault to fix, not to tolerate.
const MaxLeeway = 60 * time.Second

// ErrInvalid is wrapped by every error Validate returns.
var ErrInvalid = errors.New("invalid access token")

// Reasons a token's claims are rejected; each wraps ErrInvalid.
var (
	ErrMalformed     = fmt.Errorf("%w: malformed claims", ErrInvalid)
	ErrExpired       = fmt.Errorf("%w: expired", ErrInvalid)
	ErrNotYetValid   = fmt.Errorf("%w: not yet valid", ErrInvalid)
	ErrWrongIssuer   = fmt.Errorf("%w: wrong issuer", ErrInvalid)
	ErrWrongAudience = fmt.Errorf("%w: wrong audience", ErrInvalid)
)

// Expectation is what a resource server requires of a token.
type Expectation struct {
	Issuer   string // iss must equal it exactly: the team URL
	Audience string // aud must contain it: the team host
	// Leeway tolerates clock skew in exp, nbf and iat; it is clamped to
	// [0, MaxLeeway].
	Leeway time.Duration
}

// Validate checks the claims of an access token whose signature and typ
// were verified (signing.Manager.Verify) and returns them (RFC 9068
// section 4): the required claims iss, sub, aud, client_id, iat, exp and
// jti are present; iss is want.Issuer; aud (a string or an array) contains
// want.Audience; now is before exp and not before nbf or iat, give or take
// the leeway. scope may be a JSON array or a space-separated string.
func Validate(payload []byte, now time.Time, want Expectation) (Claims, error) {
	var raw struct {
		Iss      *string         `json:"iss"`
		Sub      *string         `json:"sub"`
		Aud      json.RawMessage `json:"aud"`
		ClientID *string         `json:"client_id"`
		Azp      string          `json:"azp"`
		Scope    json.RawMessage `json:"scope"`
		Iat      *json.Number    `json:"iat"`
		Nbf      *json.Number    `json:"nbf"`
		Exp      *json.Number    `json:"exp"`
		Jti      *string         `json:"jti"`
	}
	if err := json.Unmarshal(payload, &raw); err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	var missing []string
	for _, c := range [...]struct {
		name    string
		present bool
	}{
		{"iss", raw.Iss != nil}, {"sub", raw.Sub != nil}, {"aud", raw.Aud != nil}, {"client_id", raw.ClientID != nil},
		{"iat", raw.Iat != nil}, {"exp", raw.Exp != nil}, {"jti", raw.Jti != nil},
	} {
		if !c.present {
			missing = append(missing, c.name)
		}
	}
	if len(missing) > 0 {
		return Claims{}, fmt.Errorf("%w: missing %s", ErrMalformed, strings.Join(missing, ", "))
	}
	c := Claims{Issuer: *raw.Iss, Subject: *raw.Sub, ClientID: *raw.ClientID, AuthorizedParty: raw.Azp, JTI: *raw.Jti}
	var err error
	if c.Audience, err = stringOrList(raw.Aud, false); err != nil || len(c.Audience) == 0 {
		return Claims{}, fmt.Errorf("%w: aud is not a string or an array of strings", ErrMalformed)
	}
	if raw.Scope != nil {
		if c.Scopes, err = stringOrList(raw.Scope, true); err != nil {
			return Claims{}, fmt.Errorf("%w: scope is not a string or an array of strings", ErrMalformed)
		}
	}
	for _, t := range []struct {
		name string
		n    *json.Number
		dst  *time.Time
	}{{"iat", raw.Iat, &c.IssuedAt}, {"nbf", raw.Nbf, &c.NotBefore}, {"exp", raw.Exp, &c.Expiry}} {
		if t.n == nil {
			continue
		}
		if *t.dst, err = numericDate(*t.n); err != nil {
			return Claims{}, fmt.Errorf("%w: %s: %v", ErrMalformed, t.name, err)
		}
	}

	if c.Issuer != want.Issuer {
		return Claims{}, fmt.Errorf("%w: %q", ErrWrongIssuer, c.Issuer)
	}
	if !slices.Contains(c.Audience, want.Audience) {
		return Claims{}, fmt.Errorf("%w: %q", ErrWrongAudience, c.Audience)
	}
	leeway := min(max(want.Leeway, 0), MaxLeeway)
	if !now.Before(c.Expiry.Add(leeway)) {
		return Claims{}, fmt.Errorf("%w at %s", ErrExpired, c.Expiry.UTC().Format(time.RFC3339))
	}
	if late := now.Add(leeway); late.Before(c.NotBefore) || late.Before(c.IssuedAt) {
		return Claims{}, fmt.Errorf("%w before %s", ErrNotYetValid, maxTime(c.NotBefore, c.IssuedAt).UTC().Format(time.RFC3339))
	}
	return c, nil
}

// stringOrList decodes a JSON string or array of strings. A string is one
// item (aud, RFC 7519 section 4.1.3) or, with split, space-separated items
// (scope, RFC 8693 section 4.2).
func stringOrList(m json.RawMessage, split bool) ([]string, error) {
	if string(m) == "null" {
		return nil, errors.New("null")
	}
	var s string
	if err := json.Unmarshal(m, &s); err == nil {
		if split {
			return strings.Fields(s), nil
		}
		return []string{s}, nil
	}
	var list []string
	if err := json.Unmarshal(m, &list); err != nil {
		return nil, err
	}
	return list, nil
}

// maxNumericDate bounds a NumericDate's magnitude: 2^53 seconds (285
// million years) either side of the epoch, where a float64 still holds
// every second and time.Time's own range is far off. Past about 2^63 - 2^36
// seconds time.Unix wraps around, and an nbf that far in the future would
// read as the distant past.
const maxNumericDate = 1 << 53

// numericDate decodes a NumericDate (RFC 7519 section 2): seconds since the
// epoch, possibly fractional, within maxNumericDate of it.
func numericDate(n json.Number) (time.Time, error) {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		if i > maxNumericDate || i < -maxNumericDate {
			return time.Time{}, fmt.Errorf("NumericDate out of range: %s", n)
		}
		return time.Unix(i, 0).UTC(), nil
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > maxNumericDate {
		return time.Time{}, fmt.Errorf("not a NumericDate: %s", n)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
