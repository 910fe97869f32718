package token_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/gatehouse/gatehouse/internal/token"
)

// fuzzWant is what the fuzz targets expect of a token.
var fuzzWant = token.Expectation{Issuer: "https://acme.gatehouse.test", Audience: "acme.gatehouse.test", Leeway: 30 * time.Second}

// fuzzNow is the instant the fuzz targets validate at.
var fuzzNow = time.Unix(1_800_000_000, 0)

// Validate takes the payload of any token whose signature verified. What it
// accepts holds every required claim, the expected issuer and audience,
// and times that hold at now within the leeway; and it survives a round
// trip through the encoder (AppendJSON) unchanged. Everything it refuses
// wraps ErrInvalid.
func FuzzValidate(f *testing.F) {
	good := token.Claims{Issuer: fuzzWant.Issuer, Subject: "c", Audience: []string{"c", fuzzWant.Audience}, ClientID: "c",
		AuthorizedParty: "c", Scopes: []string{"audit.log:read"}, IssuedAt: fuzzNow, NotBefore: fuzzNow,
		Expiry: fuzzNow.Add(time.Minute), JTI: "j"}
	f.Add(string(good.AppendJSON(nil, false)))
	f.Add(string(good.AppendJSON(nil, true)))
	for _, s := range []string{
		`{}`, `null`, `[]`, `{"iss":null}`,
		`{"iss":"https://acme.gatehouse.test","sub":"c","aud":"acme.gatehouse.test","client_id":"c","iat":1800000000,"exp":1800000060.5,"jti":"j"}`,
		`{"iss":"https://acme.gatehouse.test","sub":"c","aud":["acme.gatehouse.test",null],"client_id":"c","iat":1e9,"exp":1e400,"jti":"j"}`,
		`{"iss":"https://acme.gatehouse.test","sub":"c","aud":"acme.gatehouse.test","client_id":"c","iat":1800000000,"nbf":9223372036854775807,"exp":1800000060,"jti":"j"}`,
		`{"iss":"https://acme.gatehouse.test","sub":"c","aud":"acme.gatehouse.test","client_id":"c","iat":-9223372036854775808,"exp":1800000060,"jti":"j","scope":" a  b "}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		c, err := token.Validate([]byte(payload), fuzzNow, fuzzWant)
		if err != nil {
			if !errors.Is(err, token.ErrInvalid) {
				t.Fatalf("Validate(%s): error %v does not wrap ErrInvalid", payload, err)
			}
			return
		}
		if c.Issuer != fuzzWant.Issuer || !containsString(c.Audience, fuzzWant.Audience) {
			t.Errorf("Validate(%s) accepted iss %q aud %q", payload, c.Issuer, c.Audience)
		}
		if !fuzzNow.Before(c.Expiry.Add(fuzzWant.Leeway)) || fuzzNow.Add(fuzzWant.Leeway).Before(c.NotBefore) ||
			fuzzNow.Add(fuzzWant.Leeway).Before(c.IssuedAt) {
			t.Errorf("Validate(%s) accepted times iat %v nbf %v exp %v at %v", payload, c.IssuedAt, c.NotBefore, c.Expiry, fuzzNow)
		}
		// The same, read from the payload's numbers rather than from the
		// times Validate made of them.
		var raw struct{ Iat, Nbf, Exp *json.Number }
		if err := json.Unmarshal([]byte(payload), &raw); err != nil {
			t.Fatalf("Validate accepted %s, which does not decode: %v", payload, err)
		}
		now, leeway := float64(fuzzNow.Unix()), fuzzWant.Leeway.Seconds()
		for _, n := range []struct {
			name   string
			v      *json.Number
			future bool // the claim may lie in the future (within the leeway) or not
		}{{"iat", raw.Iat, false}, {"nbf", raw.Nbf, false}, {"exp", raw.Exp, true}} {
			if n.v == nil {
				continue
			}
			v, err := n.v.Float64()
			if err != nil {
				t.Fatalf("Validate accepted %s whose %s is %s", payload, n.name, *n.v)
			}
			if n.future && v+leeway <= now-1 || !n.future && v-leeway > now+1 {
				t.Errorf("Validate accepted %s at %d: %s is %s", payload, fuzzNow.Unix(), n.name, *n.v)
			}
		}
		// Whole seconds survive the encoder, which writes seconds.
		c.IssuedAt, c.NotBefore, c.Expiry = c.IssuedAt.Truncate(time.Second), c.NotBefore.Truncate(time.Second), c.Expiry.Truncate(time.Second)
		again, err := token.Validate(c.AppendJSON(nil, false), fuzzNow, fuzzWant)
		if err != nil && !errors.Is(err, token.ErrExpired) && !errors.Is(err, token.ErrNotYetValid) {
			t.Fatalf("the claims of %s, encoded again, are refused: %v", payload, err)
		}
		if err == nil {
			// The decoder spelt any invalid UTF-8 as U+FFFD already.
			if d := cmp.Diff(c, again, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("round trip of %s (-first +again):\n%s", payload, d)
			}
		}
	})
}

// FuzzClaimsRoundTrip: claims the issuer makes come back from Validate
// exactly, with either form of the scope claim.
func FuzzClaimsRoundTrip(f *testing.F) {
	f.Add("c", "u", "j", "audit.log:read", "team.user-group-info:read", int64(1_800_000_000), int64(60), false)
	f.Add("\u2028", "\"\\", "\x00", "é", "a b", int64(-1), int64(0), true)
	f.Fuzz(func(t *testing.T, clientID, subject, jti, scope1, scope2 string, iat, ttl int64, scopeAsString bool) {
		if ttl < 0 || ttl > 86400 || iat < -1<<40 || iat > 1<<40 {
			return
		}
		scopes := []string{scope1, scope2}
		if scopeAsString {
			// The string form carries scope tokens: no spaces, none empty.
			for _, s := range scopes {
				if s == "" || strings.ContainsFunc(s, unicode.IsSpace) {
					return
				}
			}
		}
		at := time.Unix(iat, 0).UTC()
		c := token.Claims{Issuer: fuzzWant.Issuer, Subject: subject, Audience: []string{clientID, fuzzWant.Audience},
			ClientID: clientID, AuthorizedParty: clientID, Scopes: scopes, IssuedAt: at, NotBefore: at,
			Expiry: at.Add(time.Duration(ttl) * time.Second), JTI: jti}
		if !validUTF8Claims(c) {
			return
		}
		exact := fuzzWant
		exact.Leeway = 0
		got, err := token.Validate(c.AppendJSON(nil, scopeAsString), at, exact)
		if ttl == 0 {
			if !errors.Is(err, token.ErrExpired) {
				t.Fatalf("a token of no lifetime: %v, want ErrExpired", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Validate(AppendJSON(%+v)): %v", c, err)
		}
		if d := cmp.Diff(c, got); d != "" {
			t.Errorf("round trip (-issued +validated):\n%s", d)
		}
	})
}

// A NumericDate (RFC 7519 section 2) is seconds since the epoch, perhaps
// fractional. Every integer numericDate accepts reads back as itself; what
// it refuses is out of range or not a number, never wrapped around.
func FuzzNumericDate(f *testing.F) {
	for _, s := range []string{"0", "1800000000", "-1", "1.5", "-1.5", "1e9", "1e400", "9007199254740993",
		"9223372036854775807", "-9223372036854775808", "-62135596801", "NaN", "0x10", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := token.NumericDate(json.Number(s))
		if err != nil {
			return
		}
		if n, perr := strconv.ParseInt(s, 10, 64); perr == nil {
			if got.Unix() != n {
				t.Errorf("numericDate(%s) = %v, which is %d seconds", s, got, got.Unix())
			}
			// Ordered as the numbers are: no wrap-around.
			if got.Before(fuzzNow) != (n < fuzzNow.Unix()) || got.After(fuzzNow) != (n > fuzzNow.Unix()) {
				t.Errorf("numericDate(%s) = %v, on the wrong side of %v", s, got, fuzzNow)
			}
		}
		if f, perr := strconv.ParseFloat(s, 64); perr == nil && math.Abs(float64(got.Unix())-f) > 1 {
			t.Errorf("numericDate(%s) = %v (%d seconds), far from %g", s, got, got.Unix(), f)
		}
	})
}

// aud and scope are a string or an array of strings. The split form
// (scope) gives no empty and no blank-holding item.
func FuzzStringOrList(f *testing.F) {
	for _, s := range []string{`"a"`, `"a  b "`, `["a","b"]`, `[]`, `null`, `[null]`, `[1]`, `{}`, `"\u2028 x"`, `""`} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, raw string, split bool) {
		if !json.Valid([]byte(raw)) {
			return // Validate's json.Unmarshal refuses the whole payload first
		}
		got, err := token.StringOrList(json.RawMessage(raw), split)
		if err != nil {
			return
		}
		var s string
		if json.Unmarshal([]byte(raw), &s) == nil {
			want := []string{s}
			if split {
				want = strings.Fields(s)
				for _, item := range got {
					if item == "" || strings.ContainsFunc(item, unicode.IsSpace) {
						t.Errorf("stringOrList(%s, split) gave the item %q", raw, item)
					}
				}
			}
			if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("stringOrList(%s, %v) (-want +got):\n%s", raw, split, d)
			}
			return
		}
		var list []string
		if err := json.Unmarshal([]byte(raw), &list); err != nil {
			t.Fatalf("stringOrList(%s) accepted what is neither a string nor a list of strings", raw)
		}
		if d := cmp.Diff(list, got, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("stringOrList(%s, %v) (-want +got):\n%s", raw, split, d)
		}
	})
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// validUTF8Claims: encoding/json spells invalid UTF-8 as U+FFFD, so only
// valid strings round-trip byte for byte.
func validUTF8Claims(c token.Claims) bool {
	all := append([]string{c.Issuer, c.Subject, c.ClientID, c.AuthorizedParty, c.JTI}, c.Audience...)
	for _, s := range append(all, c.Scopes...) {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}

var compactRE = regexp.MustCompile(`^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$`)

// IsCompact is exactly three base64url segments joined by dots, each the
// canonical spelling of what it decodes to.
func FuzzIsCompact(f *testing.F) {
	for _, s := range []string{"a.b.c", "a.b.", ".b.c", "a..c", "a.b.c.d", "eyJ.e30.sig", "a.b\tc.d", "a.b.c\n", "a.b.c=",
		"eyJhIjoxfQ.e30.AA", "eyJhIjoxfR.e30.AA", "e30.e30.AB", "e30.e30.AAA", "e30.e30.AAB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := compactRE.MatchString(s)
		if want {
			for _, seg := range strings.Split(s, ".") {
				b, err := base64.RawURLEncoding.Strict().DecodeString(seg)
				want = want && err == nil && base64.RawURLEncoding.EncodeToString(b) == seg
			}
		}
		if got := token.IsCompact(s); got != want {
			t.Errorf("IsCompact(%q) = %v, want %v", s, got, want)
		}
	})
}
