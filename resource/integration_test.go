package resource_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/resource"
)

// A real Gatehouse server with teams acme and beta: Validate accepts a
// token from acme's token endpoint against acme's JWKS, and refuses beta's.
func TestAgainstGatehouse(t *testing.T) {
	ctx := context.Background()
	gh := servertest.Start(t, servertest.HandlerOnly(), servertest.WithWallClock())
	hc := gh.HTTP // every <team>.gatehouse.test reaches the test server
	seq := 0
	token := func(team string) (string, string) {
		t.Helper()
		seq++ // client names are unique in a team
		c, sec := gh.Client(t, team, client.NewClient{Name: fmt.Sprintf("rs-test %d", seq),
			Scopes: []string{"audit.log:read", "team.login-history:read"}})
		cc := clientcredentials.Config{ClientID: c.ID, ClientSecret: sec,
			TokenURL: servertest.URL(team, "/oauth2/token"), Scopes: []string{"audit.log:read", "team.login-history:read"}}
		tok, err := cc.Token(context.WithValue(ctx, oauth2.HTTPClient, hc))
		if err != nil {
			t.Fatalf("token of %s: %v", team, err)
		}
		return c.ID, tok.AccessToken
	}
	acmeClient, acmeToken := token("acme")
	_, betaToken := token("beta")

	v, err := resource.New(resource.Config{Issuer: "http://acme.gatehouse.test", HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	if v.Audience() != "acme.gatehouse.test" {
		t.Errorf("audience %q", v.Audience())
	}
	p, err := v.Validate(ctx, acmeToken)
	if err != nil {
		t.Fatalf("Validate acme's token: %v", err)
	}
	if p.Subject != acmeClient || p.ClientID != acmeClient || !p.IsClient() || p.TokenID == "" || p.Token != acmeToken ||
		!p.HasScope("audit.log:read") || !p.HasScope("team.login-history:read") || len(p.Scopes) != 2 {
		t.Errorf("principal %+v", p)
	}
	if _, err := v.Validate(ctx, betaToken); !errors.Is(err, resource.ErrInvalidToken) {
		t.Errorf("Validate beta's token with acme's validator = %v, want ErrInvalidToken", err)
	}

	// beta's token against beta's JWKS, but acme's issuer: refused too.
	vb, err := resource.New(resource.Config{Issuer: "http://acme.gatehouse.test", HTTPClient: hc,
		JWKSURL: "http://beta.gatehouse.test/oauth2/jwks"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vb.Validate(ctx, betaToken); !errors.Is(err, resource.ErrWrongIssuer) {
		t.Errorf("Validate beta's token as acme's = %v, want ErrWrongIssuer", err)
	}

	// Through the middleware, as a resource server would.
	h := v.Middleware(v.RequireScope("audit.log:read")(whoami))
	for _, tc := range []struct {
		token string
		want  int
	}{{acmeToken, 200}, {betaToken, 401}} {
		req := httptest.NewRequest("GET", "/api", nil)
		req.Header.Set("Authorization", "Bearer "+tc.token)
		if got := serve(h, req); got.code != tc.want {
			t.Errorf("middleware: %d, want %d (%v)", got.code, tc.want, got.body)
		}
	}

	// Permissions through the real POST /api/authz/check, with the
	// resource server's own client-credentials token as its credential.
	rsID, rsSec := gh.Client(t, "acme", client.NewClient{Name: "resource-server", Scopes: []string{"audit.log:read"}})
	gh.Grant(t, "acme", "client:"+rsID.ID, "check", "authz")
	gh.Grant(t, "acme", "client:"+acmeClient, "read", "reports/*")
	rsCreds := clientcredentials.Config{ClientID: rsID.ID, ClientSecret: rsSec, TokenURL: "http://acme.gatehouse.test/oauth2/token"}
	vc, err := resource.New(resource.Config{Issuer: "http://acme.gatehouse.test", HTTPClient: hc,
		CheckCredential: rsCreds.TokenSource(context.WithValue(ctx, oauth2.HTTPClient, hc))})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := vc.Validate(ctx, acmeToken)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		scope, action, resource string
		want                    bool
	}{
		{"audit.log:read", "read", "reports/7", true},
		{"audit.log:read", "write", "reports/7", false},
		{"user-provisioning.scim", "read", "reports/7", false},
	} {
		got, err := vc.Check(ctx, pc, tc.scope, tc.action, tc.resource)
		if err != nil || got != tc.want {
			t.Errorf("Check(%s %s %s) = %v, %v; want %v", tc.scope, tc.action, tc.resource, got, err, tc.want)
		}
	}
}
