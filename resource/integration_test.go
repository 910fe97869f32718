package resource_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/masterkey"
	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/resource"
)

// A real Gatehouse server with teams acme and beta: Validate accepts a
// token from acme's token endpoint against acme's JWKS, and refuses beta's.
func TestAgainstGatehouse(t *testing.T) {
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "gatehouse.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	adm := &admin.Service{Store: st}
	for _, team := range []string{"acme", "beta"} {
		if _, err := adm.CreateTeam(ctx, admin.CLI, team); err != nil {
			t.Fatal(err)
		}
	}
	mk, err := masterkey.New(bytes.Repeat([]byte{7}, masterkey.Size))
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Domain, cfg.Scheme = "gatehouse.test", "http"
	srv, err := server.New(server.Options{Config: cfg, Store: st, MasterKey: mk})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	addr := ts.Listener.Addr().String()
	// Every <team>.gatehouse.test reaches the test server.
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
	hasher, err := secret.NewHasher(mk.Derive("secret-hash"))
	if err != nil {
		t.Fatal(err)
	}
	cat, err := scope.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	clients := &client.Service{Store: st, Hasher: hasher, Scopes: cat}
	seq := 0
	token := func(team string) (string, string) {
		t.Helper()
		seq++ // client names are unique in a team
		c, sec, err := clients.Create(ctx, admin.CLI, team, client.NewClient{Name: fmt.Sprintf("rs-test %d", seq),
			GrantTypes: []string{client.GrantClientCredentials}, AuthMethod: client.AuthSecretBasic,
			Scopes: []string{"audit.log:read", "team.login-history:read"}})
		if err != nil {
			t.Fatal(err)
		}
		cc := clientcredentials.Config{ClientID: c.ID, ClientSecret: sec.Reveal(),
			TokenURL: "http://" + team + ".gatehouse.test/oauth2/token", Scopes: []string{"audit.log:read", "team.login-history:read"}}
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
	rsID, rsSec, err := clients.Create(ctx, admin.CLI, "acme", client.NewClient{Name: "resource-server",
		GrantTypes: []string{client.GrantClientCredentials}, AuthMethod: client.AuthSecretBasic,
		Scopes: []string{"audit.log:read"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []store.Permission{
		{Team: "acme", Principal: "client:" + rsID.ID, Action: "check", Resource: "authz"},
		{Team: "acme", Principal: "client:" + acmeClient, Action: "read", Resource: "reports/*"},
	} {
		if _, err := adm.Grant(ctx, admin.CLI, p); err != nil {
			t.Fatal(err)
		}
	}
	rsCreds := clientcredentials.Config{ClientID: rsID.ID, ClientSecret: rsSec.Reveal(), TokenURL: "http://acme.gatehouse.test/oauth2/token"}
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
