package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// What the scenarios use, on the server under test.
const (
	// tokenScopes are the scopes token-cc asks for, as in the Celonis guide's curl.
	tokenScopes = "audit.log:read team.user-group-info:read"
	// gatewayScope is the scope of the gateway route.
	gatewayScope = "integration.data-pools"
	// clientScopes are the client_credentials clients' scopes.
	clientScopes = tokenScopes + " " + gatewayScope
	benchApp     = "bench-app"
	benchUser    = "bench-user@bench.test"
	// gatewayMatch and gatewayPath: a route of one path value, whose
	// permission names it, so that the gateway does the whole rule.
	gatewayMatch = "GET /bench/items/{item}"
	gatewayPerm  = "read items/{item}"
	gatewayGrant = "items/*"
	gatewayPath  = "/bench/items/42"
	// codeRedirect is the authorization code client's redirect URI: the
	// tool never serves it, it reads the code from the redirect.
	codeRedirect = "http://127.0.0.1/bench/callback"
	codeScope    = "audit.log:read"
)

// creds is what the scenarios present.
type creds struct {
	team                  string
	basicID, basicSecret  string // client_credentials, client_secret_basic
	postID, postSecret    string // client_credentials, client_secret_post
	appKey, userKey       string
	code                  codeClient // refresh
	codeErr               string     // why there is no authorization code client
	gatewayPath, upstream string     // "" without gateway
}

// codeClient is an authorization code client and a user who can log in.
type codeClient struct {
	id, secret, redirect, scope string
	email, password             string
}

type clientJSON struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

type keyJSON struct {
	ID  string `json:"id"`
	Key string `json:"key"`
}

// provision makes, through the gatehouse CLI, a team and everything the
// scenarios need in it.
func provision(ctx context.Context, g *gatehouse, team string) (creds, error) {
	c := creds{team: team}
	if _, err := g.cli(ctx, "", "admin", "team", "create", team); err != nil {
		return c, err
	}
	var basic, post clientJSON
	if err := g.cliJSON(ctx, &basic, "", "admin", "client", "create", "--team", team, "--name", "bench-basic",
		"--grant-type", "client_credentials", "--auth-method", "client_secret_basic", "--scope", clientScopes); err != nil {
		return c, err
	}
	if err := g.cliJSON(ctx, &post, "", "admin", "client", "create", "--team", team, "--name", "bench-post",
		"--grant-type", "client_credentials", "--auth-method", "client_secret_post", "--scope", clientScopes); err != nil {
		return c, err
	}
	c.basicID, c.basicSecret, c.postID, c.postSecret = basic.ClientID, basic.ClientSecret, post.ClientID, post.ClientSecret

	if _, err := g.cli(ctx, "", "admin", "app", "create", "--team", team, benchApp); err != nil {
		return c, err
	}
	password := randomText(18)
	if _, err := g.cli(ctx, password+"\n", "admin", "user", "create", "--team", team, "--email", benchUser,
		"--name", "Bench User", "--password-stdin"); err != nil {
		return c, err
	}
	for _, p := range []string{"client:" + c.basicID, "client:" + c.postID, "app:" + benchApp, "user:" + benchUser} {
		for _, res := range []string{"audit-log", gatewayGrant} {
			if _, err := g.cli(ctx, "", "admin", "permission", "grant", "--team", team, "--principal", p,
				"--action", "read", "--resource", res); err != nil {
				return c, err
			}
		}
	}

	// Static keys: the key command may not exist in an older binary.
	var app, user keyJSON
	if err := g.cliJSON(ctx, &app, "", "admin", "key", "create", "--team", team, "--app", benchApp); err != nil {
		return c, fmt.Errorf("static keys: %w", err)
	}
	if err := g.cliJSON(ctx, &user, "", "admin", "key", "create", "--team", team, "--user", benchUser); err != nil {
		return c, fmt.Errorf("static keys: %w", err)
	}
	c.appKey, c.userKey = app.Key, user.Key

	// The authorization code client of the refresh scenario: if the CLI
	// cannot make one yet, the scenario says why it is unavailable.
	var code clientJSON
	if err := g.cliJSON(ctx, &code, "", "admin", "client", "create", "--team", team, "--name", "bench-code",
		"--grant-type", "authorization_code", "--auth-method", "client_secret_basic", "--scope", codeScope,
		"--redirect-uri", codeRedirect); err != nil {
		c.codeErr = err.Error()
	} else {
		c.code = codeClient{id: code.ClientID, secret: code.ClientSecret, redirect: codeRedirect, scope: codeScope,
			email: benchUser, password: password}
	}
	return c, nil
}

// writeRoutes writes the gateway route file to the upstream at
// upstreamAddr and returns its path.
func writeRoutes(dir, upstreamAddr string) (string, error) {
	path := filepath.Join(dir, "routes.yaml")
	body := fmt.Sprintf(`routes:
  - match: %q
    scope: %s
    permission: %q
    upstream: http://%s
`, gatewayMatch, gatewayScope, gatewayPerm, upstreamAddr)
	return path, os.WriteFile(path, []byte(body), 0o600)
}

// randomText is n random bytes, hex-encoded.
func randomText(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// newMasterKey makes a GATEHOUSE_MASTER_KEY.
func newMasterKey() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// basicAuth is the Authorization header of client_secret_basic: id and
// secret form-urlencoded (RFC 6749 section 2.3.1), then HTTP Basic.
func basicAuth(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// rawRequest is an HTTP/1.1 request as a client writes it.
func rawRequest(method, host, path string, header []string, body []byte) []byte {
	var b strings.Builder
	b.WriteString(method + " " + path + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: gatehouse-bench/1\r\n")
	for _, h := range header {
		b.WriteString(h + "\r\n")
	}
	if body != nil || method == "POST" {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.Write(body)
	return []byte(b.String())
}
