package consent_test

import (
	"context"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/internal/consent"
	"github.com/gatehouse/gatehouse/internal/denylist"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// RFC 7636 Appendix B.
const (
	rfcVerifier  = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	rfcChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
)

func TestVerifyS256(t *testing.T) {
	if !consent.VerifyS256(rfcVerifier, rfcChallenge) {
		t.Error("RFC 7636 Appendix B's verifier does not match its challenge")
	}
	for _, v := range []string{"", rfcVerifier + "x", rfcChallenge, strings.ToUpper(rfcVerifier)} {
		if consent.VerifyS256(v, rfcChallenge) {
			t.Errorf("VerifyS256(%q) = true", v)
		}
	}
}

func TestValidVerifier(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want bool
	}{
		{rfcVerifier, true},
		{strings.Repeat("a", 43), true},
		{strings.Repeat("a", 42), false},
		{strings.Repeat("~._-", 32), true},
		{strings.Repeat("a", 129), false},
		{strings.Repeat("a", 42) + "+", false},
		{strings.Repeat("a", 42) + "=", false},
		{"", false},
	} {
		if got := consent.ValidVerifier(tc.v); got != tc.want {
			t.Errorf("ValidVerifier(%q) = %v, want %v", tc.v, got, tc.want)
		}
	}
}

func TestParseRequest(t *testing.T) {
	web := &store.Client{ID: "c1", Name: "web", GrantTypes: []string{"authorization_code"},
		Scopes: []string{"a", "b"}, RedirectURIs: []string{"https://app.example/cb"}}
	two := &store.Client{ID: "c2", Name: "two", GrantTypes: []string{"authorization_code"},
		Scopes: []string{"a"}, RedirectURIs: []string{"https://app.example/cb", "https://app.example/cb2"}}
	machine := &store.Client{ID: "c3", Name: "machine", GrantTypes: []string{"client_credentials"}, Scopes: []string{"a"}}
	good := url.Values{"response_type": {"code"}, "client_id": {"c1"}, "redirect_uri": {"https://app.example/cb"},
		"scope": {"a"}, "state": {"xyz"}, "code_challenge": {rfcChallenge}, "code_challenge_method": {"S256"}}
	with := func(kv ...string) url.Values {
		v := url.Values{}
		for k, vs := range good {
			v[k] = append([]string(nil), vs...)
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "-" {
				v.Del(kv[i])
			} else {
				v.Set(kv[i], kv[i+1])
			}
		}
		return v
	}
	repeated := with()
	repeated.Add("state", "again")
	twoRedirects := with()
	twoRedirects.Add("redirect_uri", "https://app.example/cb")

	for _, tc := range []struct {
		name   string
		client *store.Client
		p      url.Values
		page   bool   // a *PageError
		code   string // a *RedirectError's code
		want   consent.Request
	}{
		{"good", web, good, false, "", consent.Request{Client: *web, RedirectURI: "https://app.example/cb", State: "xyz",
			Scopes: []string{"a"}, CodeChallenge: rfcChallenge}},
		{"scope omitted: all of the client's", web, with("scope", "-"), false, "", consent.Request{Client: *web,
			RedirectURI: "https://app.example/cb", State: "xyz", Scopes: []string{"a", "b"}, CodeChallenge: rfcChallenge}},
		{"redirect omitted, one registered", web, with("redirect_uri", "-", "state", "-"), false, "", consent.Request{Client: *web,
			RedirectURI: "https://app.example/cb", Scopes: []string{"a"}, CodeChallenge: rfcChallenge}},
		{"repeated scopes once", web, with("scope", "b  a b"), false, "", consent.Request{Client: *web,
			RedirectURI: "https://app.example/cb", State: "xyz", Scopes: []string{"b", "a"}, CodeChallenge: rfcChallenge}},

		{"no client_id", nil, with("client_id", "-"), true, "", consent.Request{}},
		{"unknown client", nil, good, true, "", consent.Request{}},
		{"client without the grant", machine, with("client_id", "c3"), true, "", consent.Request{}},
		{"unregistered redirect", web, with("redirect_uri", "https://app.example/cb/"), true, "", consent.Request{}},
		{"redirect differs in case", web, with("redirect_uri", "https://APP.example/cb"), true, "", consent.Request{}},
		{"redirect omitted, two registered", two, with("client_id", "c2", "redirect_uri", "-"), true, "", consent.Request{}},
		{"redirect repeated", web, twoRedirects, true, "", consent.Request{}},

		{"other parameter repeated", web, repeated, false, "invalid_request", consent.Request{}},
		{"no response_type", web, with("response_type", "-"), false, "invalid_request", consent.Request{}},
		{"implicit", web, with("response_type", "token"), false, "unsupported_response_type", consent.Request{}},
		{"no PKCE", web, with("code_challenge", "-", "code_challenge_method", "-"), false, "invalid_request", consent.Request{}},
		{"plain PKCE", web, with("code_challenge_method", "plain"), false, "invalid_request", consent.Request{}},
		{"PKCE method omitted (plain)", web, with("code_challenge_method", "-"), false, "invalid_request", consent.Request{}},
		{"bad challenge", web, with("code_challenge", rfcChallenge+"A"), false, "invalid_request", consent.Request{}},
		{"scope not the client's", web, with("scope", "a c"), false, "invalid_scope", consent.Request{}},
		{"empty scope", web, with("scope", " "), false, "invalid_scope", consent.Request{}},
		{"request object", web, with("request", "eyJ"), false, "request_not_supported", consent.Request{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := consent.ParseRequest(tc.client, tc.p)
			var pe *consent.PageError
			var re *consent.RedirectError
			switch {
			case tc.page:
				if !errors.As(err, &pe) {
					t.Fatalf("error %v, want a page error", err)
				}
			case tc.code != "":
				if !errors.As(err, &re) || re.Code != tc.code || re.Description == "" {
					t.Fatalf("error %v, want a redirect with %s", err, tc.code)
				}
				// Once redirecting, the answer knows where to go.
				if got.RedirectURI != "https://app.example/cb" || got.State != tc.p.Get("state") {
					t.Errorf("redirect URI %q state %q", got.RedirectURI, got.State)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("request (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// env is a consent service over a fresh SQLite store with a team, a
// user, a client and a clock.
type env struct {
	svc    *consent.Service
	st     store.Store
	now    time.Time
	user   store.User
	client store.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "gatehouse.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{st: st, now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	clock := func() time.Time { return e.now }
	if err := st.CreateTeam(ctx, store.Team{Name: "acme", CreatedAt: e.now}); err != nil {
		t.Fatal(err)
	}
	e.user = store.User{Team: "acme", ID: "11111111-1111-4111-8111-111111111111", Email: "ann@example.com", CreatedAt: e.now}
	e.client = store.Client{Team: "acme", ID: "22222222-2222-4222-8222-222222222222", Name: "web",
		GrantTypes: []string{"authorization_code"}, AuthMethod: "client_secret_basic", Scopes: []string{"a", "b"},
		RedirectURIs: []string{"https://app.example/cb"}, CreatedAt: e.now}
	if err := st.CreateUser(ctx, e.user); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateClient(ctx, e.client); err != nil {
		t.Fatal(err)
	}
	h, err := secret.NewHasher([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	e.svc = &consent.Service{Store: st, Hasher: h, Now: clock, Denylist: denylist.New(st, clock, nil),
		CodeTTL: time.Minute, RefreshIdleTTL: time.Hour, RefreshAbsoluteTTL: 24 * time.Hour}
	return e
}

var ann = kernel.Actor{ID: "user:ann@example.com"}

// authTime is when the tests' user signed in.
var authTime = time.Date(2030, 1, 1, 23, 0, 0, 0, time.UTC)

func (e *env) request(scopes ...string) consent.Request {
	return consent.Request{Client: e.client, RedirectURI: "https://app.example/cb", Scopes: scopes, CodeChallenge: rfcChallenge}
}

// code issues and redeems a code, returning it and its first refresh token.
func (e *env) redeem(t *testing.T, scopes ...string) (store.AuthCode, string, string) {
	t.Helper()
	ctx := context.Background()
	code, err := e.svc.IssueCode(ctx, "acme", e.user.ID, authTime, e.request(scopes...))
	if err != nil {
		t.Fatal(err)
	}
	ac, err := e.svc.Redeem(ctx, "acme", e.client, code.Reveal(), "https://app.example/cb", rfcVerifier)
	if err != nil {
		t.Fatalf("Redeem: %v", err)
	}
	rt, err := e.svc.StartFamily(ctx, "acme", ac)
	if err != nil {
		t.Fatal(err)
	}
	return ac, code.Reveal(), rt.Reveal()
}

func TestApproveIsAUnion(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, scopes := range [][]string{{"b"}, {"a"}, {"a"}} {
		if err := e.svc.Approve(ctx, ann, "acme", e.user.ID, e.client.ID, scopes); err != nil {
			t.Fatal(err)
		}
	}
	c, err := e.st.Consent(ctx, "acme", e.user.ID, e.client.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a", "b"}, c.Scopes); diff != "" {
		t.Errorf("scopes (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		scopes []string
		want   bool
	}{{[]string{"a"}, true}, {[]string{"a", "b"}, true}, {nil, true}, {[]string{"a", "c"}, false}} {
		if got, err := e.svc.Remembered(ctx, "acme", e.user.ID, e.client.ID, tc.scopes); err != nil || got != tc.want {
			t.Errorf("Remembered(%v) = %v, %v; want %v", tc.scopes, got, err, tc.want)
		}
	}
	evs, _, err := e.st.ListAudit(ctx, "acme", store.AuditFilter{Action: "consent.grant"}, store.Page{})
	if err != nil || len(evs) != 3 || evs[0].Actor != ann.ID {
		t.Errorf("consent.grant events %+v, %v", evs, err)
	}
}

// A replayed code revokes its family and cuts off the grant's access
// tokens; a spent refresh token presented again revokes its family.
func TestReplays(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.svc.Approve(ctx, ann, "acme", e.user.ID, e.client.ID, []string{"a"}); err != nil {
		t.Fatal(err)
	}

	t.Run("code", func(t *testing.T) {
		ac, code, rt := e.redeem(t, "a")
		e.now = e.now.Add(time.Second)
		_, err := e.svc.Redeem(ctx, "acme", e.client, code, "https://app.example/cb", rfcVerifier)
		if !errors.Is(err, consent.ErrReplay) || !errors.Is(err, consent.ErrInvalidGrant) {
			t.Fatalf("replay: %v", err)
		}
		tok, err := e.st.RefreshToken(ctx, "acme", e.svc.Hasher.Hash(rt))
		if err != nil || tok.RevokedAt == nil || tok.FamilyID != consent.FamilyOf(ac.Hash) {
			t.Errorf("the code's family after the replay: %+v, %v", tok, err)
		}
		cut, ok, err := e.svc.Denylist.Cutoff(ctx, "acme", e.user.ID, e.client.ID)
		if err != nil || !ok || !cut.Equal(e.now) {
			t.Errorf("cut-off %v %v %v, want %v", cut, ok, err, e.now)
		}
	})

	t.Run("refresh", func(t *testing.T) {
		_, _, rt := e.redeem(t, "a")
		tok, allowed, err := e.svc.CheckRefresh(ctx, "acme", e.client, rt)
		if err != nil || len(allowed) != 1 {
			t.Fatalf("CheckRefresh: %v %v", allowed, err)
		}
		next, err := e.svc.Rotate(ctx, "acme", tok)
		if err != nil {
			t.Fatal(err)
		}
		// Rotating the spent token again, as a concurrent use would.
		if _, err := e.svc.Rotate(ctx, "acme", tok); !errors.Is(err, consent.ErrReplay) {
			t.Fatalf("second rotation: %v", err)
		}
		if _, _, err := e.svc.CheckRefresh(ctx, "acme", e.client, next.Reveal()); err == nil {
			t.Error("the successor of a replayed token still works")
		}
	})

	t.Run("revoke consent", func(t *testing.T) {
		e.now = e.now.Add(time.Hour)
		_, _, rt := e.redeem(t, "a")
		if err := e.svc.Revoke(ctx, ann, "acme", e.user.ID, e.client.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.svc.CheckRefresh(ctx, "acme", e.client, rt); !errors.Is(err, consent.ErrInvalidGrant) {
			t.Errorf("refresh after revocation: %v", err)
		}
		if err := e.svc.Revoke(ctx, ann, "acme", e.user.ID, e.client.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("revoking again: %v", err)
		}
		// A code issued before the revocation is refused too.
		code, err := e.svc.IssueCode(ctx, "acme", e.user.ID, authTime, e.request("a"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Redeem(ctx, "acme", e.client, code.Reveal(), "", rfcVerifier); !errors.Is(err, consent.ErrInvalidGrant) {
			t.Errorf("code without consent: %v", err)
		}
	})
}
