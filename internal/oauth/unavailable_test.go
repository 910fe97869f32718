package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/audittest"
	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/edge"
	"github.com/gatehouse/gatehouse/internal/oidc"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/token"
)

// errDown is what the services return while the database cannot answer.
var errDown = fmt.Errorf("read: %w", store.ErrUnavailable)

// downDeps are the endpoints' dependencies, each answering well except the
// one named by fail, which fails with fails (errDown unless set).
type downDeps struct {
	fail  string
	fails error
	now   time.Time
	// openid: the codes, refresh tokens and access tokens carry openid,
	// and the access tokens are a user's.
	openid bool
}

// scopes are the scopes of the grants and tokens d hands out.
func (d *downDeps) scopes() []string {
	if d.openid {
		return []string{"openid", "audit.log:read"}
	}
	return []string{"audit.log:read"}
}

// downIDTokens and downUsers are d's ID token issuer and user store.
type (
	downIDTokens struct{ d *downDeps }
	downUsers    struct{ d *downDeps }
)

func (i downIDTokens) Issue(context.Context, oidc.Request) (string, error) {
	return "id.token.x", i.d.err("IssueIDToken")
}

func (u downUsers) User(_ context.Context, team, id string) (store.User, error) {
	return store.User{Team: team, ID: id, Email: "ann@example.com"}, u.d.err("User")
}

func (d *downDeps) err(method string) error {
	if d.fail != method {
		return nil
	}
	if d.fails != nil {
		return d.fails
	}
	return errDown
}

const downClient = "33333333-3333-4333-8333-333333333333"

func (d *downDeps) Authenticate(_ context.Context, team, id, _ string) (store.Client, error) {
	return store.Client{Team: team, ID: id, AuthMethod: client.AuthSecretBasic, Scopes: d.scopes(),
		GrantTypes: []string{client.GrantClientCredentials, client.GrantAuthorizationCode}}, d.err("Authenticate")
}

func (d *downDeps) Issue(context.Context, token.Request) (token.Token, error) {
	return token.Token{Raw: "jwt", JTI: "j"}, d.err("Issue")
}

func (d *downDeps) JWKS(context.Context, string) ([]byte, error) {
	return []byte(`{"keys":[]}`), d.err("JWKS")
}

func (d *downDeps) Verify(_ context.Context, _, raw string) ([]byte, signing.Header, error) {
	if err := d.err("Verify"); err != nil {
		return nil, signing.Header{}, err
	}
	if !strings.HasPrefix(raw, "eyJ") {
		return nil, signing.Header{}, signing.ErrMalformed // a refresh token
	}
	sub := downClient
	if d.openid {
		sub = "u1"
	}
	p, _ := json.Marshal(map[string]any{"iss": "https://acme.gatehouse.test", "aud": "acme.gatehouse.test", "scope": d.scopes(),
		"sub": sub, "client_id": downClient, "jti": "j", "iat": d.now.Unix(), "exp": d.now.Add(time.Hour).Unix()})
	return p, signing.Header{}, nil
}

func (d *downDeps) Refused(context.Context, string, token.Claims) (bool, error) {
	return false, d.err("Refused")
}

func (d *downDeps) Revoke(context.Context, string, string, time.Time) error { return d.err("Revoke") }

func (d *downDeps) Redeem(_ context.Context, team string, c store.Client, _, _, _ string) (store.AuthCode, error) {
	return store.AuthCode{Team: team, ClientID: c.ID, UserID: "u1", Scopes: d.scopes()}, d.err("Redeem")
}

func (d *downDeps) StartFamily(context.Context, string, store.AuthCode) (secret.Secret, error) {
	return "refresh", d.err("StartFamily")
}

func (d *downDeps) CheckRefresh(_ context.Context, team string, c store.Client, _ string) (store.RefreshToken, []string, error) {
	return store.RefreshToken{Team: team, ClientID: c.ID, UserID: "u1"}, d.scopes(), d.err("CheckRefresh")
}

func (d *downDeps) Rotate(context.Context, string, store.RefreshToken) (secret.Secret, error) {
	return "refresh2", d.err("Rotate")
}

func (d *downDeps) RevokeRefresh(context.Context, string, string, string) (store.RefreshToken, bool, error) {
	return store.RefreshToken{}, false, d.err("RevokeRefresh")
}

// While the database cannot answer, every OAuth endpoint answers RFC 6749's
// temporarily_unavailable with 503 and Retry-After, whichever call failed;
// never a 500. Any other failure is still a 500 server_error.
func TestUnavailable(t *testing.T) {
	const verifier = "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
	cc := url.Values{"grant_type": {"client_credentials"}}
	code := url.Values{"grant_type": {"authorization_code"}, "code": {"c"}, "redirect_uri": {"https://app.example/cb"}, "code_verifier": {verifier}}
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"r"}}
	tok := url.Values{"token": {"eyJ.x.y"}}
	for _, tc := range []struct {
		name   string
		path   string
		form   url.Values // nil: GET
		fail   string
		fails  error
		want   int
		openid bool
	}{
		// OpenID Connect: the ID token's user and signature, and the
		// userinfo endpoint.
		{"token: user of the ID token", "/oauth2/token", code, "User", nil, 503, true},
		{"token: ID token signed", "/oauth2/token", code, "IssueIDToken", nil, 503, true},
		{"token: refreshed ID token signed", "/oauth2/token", refresh, "IssueIDToken", nil, 503, true},
		{"token: ID token, another failure", "/oauth2/token", code, "IssueIDToken", errors.New("disk on fire"), 500, true},
		{"userinfo: signing keys", "/oauth2/userinfo", nil, "Verify", nil, 503, true},
		{"userinfo: denylist", "/oauth2/userinfo", nil, "Refused", nil, 503, true},
		{"userinfo: user", "/oauth2/userinfo", nil, "User", nil, 503, true},
		{"userinfo: all well", "/oauth2/userinfo", nil, "", nil, 200, true},
		{"token with an ID token: all well", "/oauth2/token", code, "", nil, 200, true},

		{"token: client lookup", "/oauth2/token", cc, "Authenticate", nil, 503, false},
		{"token: signing key", "/oauth2/token", cc, "Issue", nil, 503, false},
		{"token: code redeemed", "/oauth2/token", code, "Redeem", nil, 503, false},
		{"token: refresh family started", "/oauth2/token", code, "StartFamily", nil, 503, false},
		{"token: refresh token read", "/oauth2/token", refresh, "CheckRefresh", nil, 503, false},
		{"token: refresh token rotated", "/oauth2/token", refresh, "Rotate", nil, 503, false},
		{"introspect: client lookup", "/oauth2/introspect", tok, "Authenticate", nil, 503, false},
		{"introspect: signing keys", "/oauth2/introspect", tok, "Verify", nil, 503, false},
		{"introspect: denylist", "/oauth2/introspect", tok, "Refused", nil, 503, false},
		{"revoke: denylist read", "/oauth2/revoke", tok, "Refused", nil, 503, false},
		{"revoke: denylist write", "/oauth2/revoke", tok, "Revoke", nil, 503, false},
		{"revoke: refresh token", "/oauth2/revoke", url.Values{"token": {"opaque"}}, "RevokeRefresh", nil, 503, false},
		{"jwks", "/oauth2/jwks", nil, "JWKS", nil, 503, false},
		{"token: another failure", "/oauth2/token", cc, "Issue", errors.New("disk on fire"), 500, false},
		{"revoke: another failure", "/oauth2/revoke", tok, "Revoke", errors.New("disk on fire"), 500, false},
		{"all well", "/oauth2/token", cc, "", nil, 200, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
			d := &downDeps{fail: tc.fail, fails: tc.fails, now: now, openid: tc.openid}
			e := &Endpoints{Clients: d, Tokens: d, Keys: d, Denylist: d, Consents: d, Audit: &audittest.Trail{},
				IDTokens: downIDTokens{d}, Users: downUsers{d},
				ClientLimit: ratelimit.NewBudget(ratelimit.BudgetOptions{Name: "client", Max: 3, Window: time.Minute, Now: func() time.Time { return now }}),
				IPLimit:     ratelimit.NewBudget(ratelimit.BudgetOptions{Name: "client.ip", Max: 3, Window: time.Minute, Now: func() time.Time { return now }}),
				Now:         func() time.Time { return now }, AccessTokenTTL: time.Minute}
			mux := http.NewServeMux()
			mux.HandleFunc("/oauth2/token", e.ServeToken)
			mux.HandleFunc("/oauth2/introspect", e.ServeIntrospect)
			mux.HandleFunc("/oauth2/revoke", e.ServeRevoke)
			mux.HandleFunc("/oauth2/jwks", e.ServeJWKS)
			mux.HandleFunc("/oauth2/userinfo", e.ServeUserInfo)
			r := httptest.NewRequest(http.MethodGet, tc.path, nil)
			if tc.path == "/oauth2/userinfo" {
				r.Header.Set("Authorization", "Bearer eyJ.x.y")
			}
			if tc.form != nil {
				r = httptest.NewRequest(http.MethodPost, tc.path, strings.NewReader(tc.form.Encode()))
				r.Header.Set("Content-Type", form)
				r.Header.Set("Authorization", basic(downClient, "whatever"))
			}
			info := &edge.Info{RequestID: "t", Team: store.Team{Name: "acme"}, TeamURL: "https://acme.gatehouse.test",
				TeamHost: "acme.gatehouse.test", Log: slog.New(slog.DiscardHandler)}
			r = r.WithContext(edge.WithInfo(r.Context(), info))
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, r)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
			var body struct{ Error string }
			json.Unmarshal(rec.Body.Bytes(), &body)
			switch tc.want {
			case 503:
				if body.Error != "temporarily_unavailable" || rec.Header().Get("Retry-After") == "" || rec.Header().Get("Cache-Control") != "no-store" {
					t.Fatalf("503 with error %q, Retry-After %q, Cache-Control %q", body.Error, rec.Header().Get("Retry-After"), rec.Header().Get("Cache-Control"))
				}
			case 500:
				if body.Error != "server_error" || rec.Header().Get("Retry-After") != "" {
					t.Fatalf("500 with error %q, Retry-After %q", body.Error, rec.Header().Get("Retry-After"))
				}
			}
		})
	}
}
