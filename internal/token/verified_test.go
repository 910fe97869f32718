package token_test

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/token"
)

func TestVerified(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0).UTC()
	acme := token.Expectation{Issuer: "https://acme.example.com", Audience: "acme.example.com"}
	lenient := acme
	lenient.Leeway = time.Minute
	payload := func(iat, exp time.Time) []byte {
		return fmt.Appendf(nil, `{"iss":%q,"sub":"c","aud":%q,"client_id":"c","iat":%d,"exp":%d,"jti":"j"}`,
			acme.Issuer, acme.Audience, iat.Unix(), exp.Unix())
	}
	badSig := errors.New("bad signature")
	type check struct {
		team, raw  string
		at         time.Duration // after t0
		want       token.Expectation
		verifyErr  error // what verify answers, if called
		wantVerify bool
		wantErr    error
	}
	for _, tc := range []struct {
		name   string
		checks []check
	}{
		{"a token is verified once", []check{
			{"acme", "tok", 0, acme, nil, true, nil},
			{"acme", "tok", time.Minute, acme, nil, false, nil},
			{"acme", "tok", 2 * time.Minute, lenient, nil, false, nil},
		}},
		{"another team verifies again", []check{
			{"acme", "tok", 0, acme, nil, true, nil},
			{"beta", "tok", 0, token.Expectation{Issuer: "https://beta.example.com", Audience: "beta.example.com"}, nil, true, token.ErrWrongIssuer},
		}},
		{"a remembered token expires", []check{
			{"acme", "tok", 0, acme, nil, true, nil},
			{"acme", "tok", time.Hour, acme, nil, false, token.ErrExpired},
			{"acme", "tok", time.Hour, lenient, nil, false, nil},
			{"acme", "tok", time.Hour + time.Minute, lenient, nil, false, token.ErrExpired},
		}},
		{"each caller's leeway applies to remembered tokens", []check{
			{"acme", "tok", -30 * time.Second, lenient, nil, true, nil}, // iat in 30 s: within the leeway
			{"acme", "tok", -30 * time.Second, acme, nil, false, token.ErrNotYetValid},
			{"acme", "tok", 0, acme, nil, false, nil},
		}},
		{"another issuer expected", []check{
			{"acme", "tok", 0, acme, nil, true, nil},
			{"acme", "tok", 0, token.Expectation{Issuer: "https://other", Audience: acme.Audience}, nil, false, token.ErrWrongIssuer},
			{"acme", "tok", 0, token.Expectation{Issuer: acme.Issuer, Audience: "other"}, nil, false, token.ErrWrongAudience},
		}},
		{"failures are not remembered", []check{
			{"acme", "tok", 0, acme, badSig, true, badSig},
			{"acme", "tok", 0, acme, badSig, true, badSig},
			{"acme", "tok", 0, acme, nil, true, nil},
			{"acme", "tok", 0, acme, nil, false, nil},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v token.Verified
			for i, c := range tc.checks {
				verified := false
				got, err := v.Check(c.team, c.raw, t0.Add(c.at), c.want, func() ([]byte, error) {
					verified = true
					return payload(t0, t0.Add(time.Hour)), c.verifyErr
				})
				if verified != c.wantVerify {
					t.Errorf("check %d: verified %v, want %v", i, verified, c.wantVerify)
				}
				if !errors.Is(err, c.wantErr) || (c.wantErr == nil) != (err == nil) {
					t.Errorf("check %d: err %v, want %v", i, err, c.wantErr)
				}
				if err == nil && got.JTI != "j" {
					t.Errorf("check %d: claims %+v", i, got)
				}
			}
		})
	}
}

func BenchmarkVerifiedHit(b *testing.B) {
	var v token.Verified
	raw := "eyJhbGciOiJFUzM4NCJ9." + strings.Repeat("x", 600) + ".sig"
	now := time.Now()
	want := token.Expectation{Issuer: "https://acme.example", Audience: "acme.example"}
	verify := func() ([]byte, error) {
		return []byte(`{"iss":"https://acme.example","aud":["acme.example"],"sub":"c","client_id":"c","jti":"j","iat":` +
			strconv.FormatInt(now.Unix(), 10) + `,"nbf":` + strconv.FormatInt(now.Unix(), 10) + `,"exp":` + strconv.FormatInt(now.Unix()+900, 10) + `}`), nil
	}
	if _, err := v.Check("acme", raw, now, want, verify); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Check("acme", raw, now, want, verify); err != nil {
			b.Fatal(err)
		}
	}
}
