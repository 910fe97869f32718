package cli_test

import (
	"context"
	"slices"
	"testing"
)

// client create takes a client's OpenID Connect registration: its ID token
// algorithm and its post-logout redirect URIs, validated as the admin API
// validates them.
func TestClientCreateOpenIDConnect(t *testing.T) {
	c := newClientCLI(t)
	create := func(extra ...string) []string {
		return append([]string{"admin", "client", "create", "--team", "acme", "--name", "rp", "--grant-type", "authorization_code",
			"--auth-method", "client_secret_basic", "--scope", "openid email", "--redirect-uri", "https://rp.example.com/cb"}, extra...)
	}
	id, _ := secretKeys(t, c.ok(create("--id-token-alg", "ES256", "--post-logout-redirect-uri", "https://rp.example.com/bye",
		"--post-logout-redirect-uri", "http://127.0.0.1:8765/bye", "--json")...))
	svc, _ := c.service()
	got, err := svc.Get(context.Background(), "acme", id)
	if err != nil {
		t.Fatal(err)
	}
	if got.IDTokenAlg != "ES256" || !slices.Equal(got.PostLogoutRedirectURIs, []string{"https://rp.example.com/bye", "http://127.0.0.1:8765/bye"}) {
		t.Errorf("stored client: alg %q, post-logout URIs %q", got.IDTokenAlg, got.PostLogoutRedirectURIs)
	}
	for _, tc := range []struct {
		code int
		want string
		args []string
	}{
		{1, "ID token algorithm", create("--id-token-alg", "HS256")},
		{1, "loopback", create("--post-logout-redirect-uri", "http://rp.example.com/bye")},
		{1, "only the authorization_code grant", []string{"admin", "client", "create", "--team", "acme", "--name", "cc",
			"--grant-type", "client_credentials", "--auth-method", "client_secret_basic", "--scope", "audit.log:read", "--id-token-alg", "ES256"}},
	} {
		c.fails(tc.code, tc.want, tc.args...)
	}
}
