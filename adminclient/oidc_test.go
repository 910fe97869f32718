package adminclient_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/adminclient"
	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/servertest"
)

// A client's OpenID Connect registration through the admin API:
// id_token_signed_response_alg (RS256 when none is registered) and
// post_logout_redirect_uris, on POST and PATCH, each bad value a 422
// naming its field.
func TestClientOpenIDConnect(t *testing.T) {
	h := servertest.Start(t, servertest.WithWallClock())
	c, sec := h.Client(t, "acme", client.NewClient{Name: "provisioner", Scopes: []string{scope.TeamAdmin}})
	h.Grant(t, "acme", "client:"+c.ID, "*", "*")
	ac, err := adminclient.New(servertest.URL("acme", ""), adminclient.WithClientCredentials(c.ID, sec), adminclient.WithHTTPClient(h.HTTP))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rp := adminclient.NewClient{Name: "rp", GrantTypes: []string{"authorization_code"}, AuthMethod: "client_secret_basic",
		Scopes: []string{"openid", "email"}, RedirectURIs: []string{"https://rp.example.com/cb"}}
	created, err := ac.CreateClient(ctx, rp)
	if err != nil {
		t.Fatal(err)
	}
	if created.IDTokenAlg != "RS256" || created.PostLogoutRedirectURIs == nil || len(created.PostLogoutRedirectURIs) != 0 {
		t.Errorf("created without OpenID Connect fields: alg %q, post-logout URIs %#v; want RS256 and []", created.IDTokenAlg, created.PostLogoutRedirectURIs)
	}
	got, tag, err := ac.GetClient(ctx, created.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	alg, uris := "EdDSA", []string{"https://rp.example.com/bye", "http://127.0.0.1:9000/bye"}
	changed, _, err := ac.UpdateClient(ctx, got.ClientID, adminclient.ClientChange{IDTokenAlg: &alg, PostLogoutRedirectURIs: &uris}, tag)
	if err != nil || changed.IDTokenAlg != "EdDSA" || !slices.Equal(changed.PostLogoutRedirectURIs, uris) {
		t.Fatalf("UpdateClient: %+v, %v", changed, err)
	}

	rp.Name, rp.IDTokenAlg, rp.PostLogoutRedirectURIs = "rp2", "ES384", []string{"https://rp2.example.com/bye"}
	second, err := ac.CreateClient(ctx, rp)
	if err != nil || second.IDTokenAlg != "ES384" || !slices.Equal(second.PostLogoutRedirectURIs, rp.PostLogoutRedirectURIs) {
		t.Fatalf("CreateClient with OpenID Connect fields: %+v, %v", second, err)
	}
	cc, err := ac.CreateClient(ctx, adminclient.NewClient{Name: "cc", GrantTypes: []string{"client_credentials"},
		AuthMethod: "client_secret_basic", Scopes: []string{"audit.log:read"}})
	if err != nil || cc.IDTokenAlg != "" {
		t.Errorf("a client credentials client: alg %q, %v; want none", cc.IDTokenAlg, err)
	}

	for _, tc := range []struct {
		name  string
		in    adminclient.NewClient
		field string
	}{
		{"HS256", adminclient.NewClient{Name: "x", GrantTypes: []string{"authorization_code"}, AuthMethod: "client_secret_basic",
			Scopes: []string{"openid"}, RedirectURIs: []string{"https://x.example.com/cb"}, IDTokenAlg: "HS256"}, "id_token_signed_response_alg"},
		{"http post-logout URI", adminclient.NewClient{Name: "x", GrantTypes: []string{"authorization_code"}, AuthMethod: "client_secret_basic",
			Scopes: []string{"openid"}, RedirectURIs: []string{"https://x.example.com/cb"},
			PostLogoutRedirectURIs: []string{"http://x.example.com/bye"}}, "post_logout_redirect_uris"},
	} {
		var apiErr *adminclient.Error
		_, err := ac.CreateClient(ctx, tc.in)
		if !errors.As(err, &apiErr) || apiErr.Status != 422 || len(apiErr.Fields) != 1 || apiErr.Fields[0].Field != tc.field {
			t.Errorf("%s: %#v, want 422 naming %s", tc.name, err, tc.field)
		}
	}
}
