package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// oauthEnv is a test server (internal/servertest) with teams acme and
// beta on domain gatehouse.test, and an HTTP client that reaches any of its
// hosts; clients is the client service of another process (the CLI).
type oauthEnv struct {
	h       *servertest.Server
	srv     *server.Server
	st      store.Store
	addr    string
	http    *http.Client
	clients *client.Service
	cfg     config.Config
}

// newOAuthEnv serves the server's handler on the wall clock, without its
// background components.
func newOAuthEnv(t testing.TB, tweak ...func(*config.Config)) *oauthEnv {
	t.Helper()
	opts := []servertest.Option{servertest.HandlerOnly(), servertest.WithWallClock()}
	for _, f := range tweak {
		opts = append(opts, servertest.WithConfig(f))
	}
	return envOf(servertest.Start(t, opts...))
}

func envOf(h *servertest.Server) *oauthEnv {
	return &oauthEnv{h: h, srv: h.Server, st: h.DB, addr: h.Addr, http: h.HTTP, clients: h.Clients, cfg: h.Config}
}

// clientSeq numbers the test clients: names are unique in a team.
var clientSeq atomic.Int64

func testClientName() string { return fmt.Sprintf("test %d", clientSeq.Add(1)) }

func (e *oauthEnv) newClient(t testing.TB, team, method string, scopes ...string) (store.Client, string) {
	t.Helper()
	c, sec, err := e.clients.Create(context.Background(), kernel.CLI, team, client.NewClient{
		Name: testClientName(), GrantTypes: []string{client.GrantClientCredentials}, AuthMethod: method, Scopes: scopes})
	if err != nil {
		t.Fatal(err)
	}
	return c, sec.Reveal()
}

func tokenURL(team string) string { return "http://" + team + ".gatehouse.test/oauth2/token" }

// jwks fetches the team's key set.
func (e *oauthEnv) jwks(t *testing.T, team string) jose.JSONWebKeySet {
	t.Helper()
	resp, err := e.http.Get("http://" + team + ".gatehouse.test/oauth2/jwks")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("jwks: %d", resp.StatusCode)
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age") {
		t.Errorf("jwks Cache-Control %q", cc)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	return set
}

// verify checks raw against the team's JWKS with go-jose and returns its
// header and claims.
func verify(t *testing.T, set jose.JSONWebKeySet, raw string) (jose.Header, map[string]any) {
	t.Helper()
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES384})
	if err != nil {
		t.Fatalf("parse token: %v", err)
	}
	h := jws.Signatures[0].Header
	keys := set.Key(h.KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q not in the JWKS", h.KeyID)
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		t.Fatalf("token does not verify against the JWKS: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return h, claims
}

// The real golang.org/x/oauth2 client gets tokens with both auth styles,
// and they verify against the team's JWKS with go-jose.
func TestClientCredentialsWithOAuth2Client(t *testing.T) {
	e := newOAuthEnv(t)
	for _, tc := range []struct {
		method string
		style  oauth2.AuthStyle
	}{
		{client.AuthSecretBasic, oauth2.AuthStyleInHeader},
		{client.AuthSecretPost, oauth2.AuthStyleInParams},
	} {
		t.Run(tc.method, func(t *testing.T) {
			c, sec := e.newClient(t, "acme", tc.method, "audit.log:read", "team.login-history:read")
			cc := clientcredentials.Config{ClientID: c.ID, ClientSecret: sec, TokenURL: tokenURL("acme"),
				Scopes: []string{"audit.log:read"}, AuthStyle: tc.style}
			ctx := context.WithValue(context.Background(), oauth2.HTTPClient, e.http)
			before := time.Now().Add(-time.Second).Unix()
			tok, err := cc.Token(ctx)
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			if tok.TokenType != "Bearer" || tok.RefreshToken != "" {
				t.Errorf("token_type %q, refresh %q", tok.TokenType, tok.RefreshToken)
			}
			if got := tok.Extra("scope"); got != "audit.log:read" {
				t.Errorf("scope %v", got)
			}
			if d := time.Until(tok.Expiry); d < 890*time.Second || d > 900*time.Second {
				t.Errorf("expires in %v, want 900 s", d)
			}
			h, claims := verify(t, e.jwks(t, "acme"), tok.AccessToken)
			if h.Algorithm != "ES384" || h.ExtraHeaders["typ"] != "at+jwt" || h.KeyID == "" {
				t.Errorf("header %+v", h)
			}
			iat := int64(claims["iat"].(float64))
			if iat < before || int64(claims["exp"].(float64)) != iat+900 || int64(claims["nbf"].(float64)) != iat {
				t.Errorf("times %v", claims)
			}
			for _, k := range []string{"iat", "exp", "nbf", "jti"} {
				delete(claims, k)
			}
			want := map[string]any{
				"iss":       "http://acme.gatehouse.test",
				"aud":       []any{c.ID, "acme.gatehouse.test"},
				"azp":       c.ID,
				"client_id": c.ID,
				"sub":       c.ID,
				"scope":     []any{"audit.log:read"},
			}
			if diff := cmp.Diff(want, claims); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
		})
	}
}

// The Celonis guide's client-credentials curl, verbatim but for the host: a
// multipart/form-data body.
func TestSeedCurlRequest(t *testing.T) {
	e := newOAuthEnv(t)
	c, sec := e.newClient(t, "acme", client.AuthSecretPost, "audit.log:read", "team.user-group-info:read", "user-provisioning.scim")
	scopes := "audit.log:read team.user-group-info:read"

	check := func(t *testing.T, body []byte) {
		var resp map[string]any
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Fatalf("response %s: %v", body, err)
		}
		if resp["token_type"] != "Bearer" || resp["scope"] != scopes || resp["expires_in"] != float64(900) {
			t.Fatalf("response %v", resp)
		}
		_, claims := verify(t, e.jwks(t, "acme"), resp["access_token"].(string))
		if diff := cmp.Diff([]any{"audit.log:read", "team.user-group-info:read"}, claims["scope"]); diff != "" {
			t.Errorf("scope claim: %s", diff)
		}
	}

	t.Run("multipart request", func(t *testing.T) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for _, kv := range [][2]string{{"client_id", c.ID}, {"client_secret", sec}, {"grant_type", "client_credentials"}, {"scope", scopes}} {
			mw.WriteField(kv[0], kv[1])
		}
		mw.Close()
		req, _ := http.NewRequest("POST", tokenURL("acme"), &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		resp, err := e.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Pragma") != "no-cache" {
			t.Errorf("caching headers %v", resp.Header)
		}
		check(t, body)
	})

	// With curl itself, where the machine has it.
	if curl, err := exec.LookPath("curl"); err == nil {
		t.Run("curl", func(t *testing.T) {
			host, port, _ := net.SplitHostPort(e.addr)
			out, err := exec.Command(curl, "--silent", "--show-error",
				"--connect-to", "acme.gatehouse.test:80:"+host+":"+port,
				"--request", "POST",
				"--url", "http://acme.gatehouse.test/oauth2/token",
				"--header", "content-type: multipart/form-data",
				"--form", "client_id="+c.ID,
				"--form", "client_secret="+sec,
				"--form", "grant_type=client_credentials",
				"--form", "scope="+scopes).Output()
			if err != nil {
				t.Fatalf("curl: %v", err)
			}
			check(t, out)
		})
	}
}

// post sends a token request and returns status, headers and JSON body.
func (e *oauthEnv) post(t testing.TB, team, path string, form url.Values, hdr map[string]string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+team+".gatehouse.test"+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := e.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var body map[string]any
	json.Unmarshal(b, &body)
	return resp.StatusCode, resp.Header, body
}

func basic(id, sec string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(sec)))
}

// Every error of RFC 6749 section 5.2 the token endpoint can give.
func TestTokenErrors(t *testing.T) {
	e := newOAuthEnv(t)
	basicC, basicSec := e.newClient(t, "acme", client.AuthSecretBasic, "audit.log:read")
	postC, postSec := e.newClient(t, "acme", client.AuthSecretPost, "audit.log:read")
	betaC, betaSec := e.newClient(t, "beta", client.AuthSecretBasic, "audit.log:read")
	// A client registered only for the authorization code grant.
	codeC, codeSec, err := e.clients.Create(context.Background(), kernel.CLI, "acme", client.NewClient{Name: "web",
		GrantTypes: []string{client.GrantAuthorizationCode}, AuthMethod: client.AuthSecretBasic,
		Scopes: []string{"audit.log:read"}, RedirectURIs: []string{"https://app.example/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	cc := url.Values{"grant_type": {"client_credentials"}}
	with := func(v url.Values, kv ...string) url.Values {
		out := url.Values{}
		for k, vs := range v {
			out[k] = slices.Clone(vs)
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out.Add(kv[i], kv[i+1])
		}
		return out
	}
	for _, tc := range []struct {
		name      string
		team      string
		form      url.Values
		hdr       map[string]string
		status    int
		code      string
		challenge bool
	}{
		{"no grant_type", "acme", url.Values{}, map[string]string{"Authorization": basic(basicC.ID, basicSec)}, 400, "invalid_request", false},
		{"unknown grant_type", "acme", url.Values{"grant_type": {"password"}}, map[string]string{"Authorization": basic(basicC.ID, basicSec)}, 400, "unsupported_grant_type", false},
		{"no client authentication", "acme", cc, nil, 401, "invalid_client", false},
		{"wrong secret, Basic", "acme", cc, map[string]string{"Authorization": basic(basicC.ID, "wrong")}, 401, "invalid_client", true},
		{"wrong secret, post", "acme", with(cc, "client_id", postC.ID, "client_secret", "wrong"), nil, 401, "invalid_client", false},
		{"unknown client", "acme", cc, map[string]string{"Authorization": basic("6b0e8f9e-4c1a-4c55-9a43-2f1f3b3a3c11", "x")}, 401, "invalid_client", true},
		{"client id not a UUID", "acme", cc, map[string]string{"Authorization": basic("nope", "x")}, 401, "invalid_client", true},
		{"malformed Basic", "acme", cc, map[string]string{"Authorization": "Basic !!!"}, 401, "invalid_client", true},
		{"Bearer instead of Basic", "acme", cc, map[string]string{"Authorization": "Bearer abc"}, 401, "invalid_client", true},
		{"basic client using post", "acme", with(cc, "client_id", basicC.ID, "client_secret", basicSec), nil, 401, "invalid_client", false},
		{"post client using Basic", "acme", cc, map[string]string{"Authorization": basic(postC.ID, postSec)}, 401, "invalid_client", true},
		{"two methods at once", "acme", with(cc, "client_secret", basicSec), map[string]string{"Authorization": basic(basicC.ID, basicSec)}, 400, "invalid_request", false},
		{"client of team beta at acme", "acme", cc, map[string]string{"Authorization": basic(betaC.ID, betaSec)}, 401, "invalid_client", true},
		{"client of acme at beta", "beta", cc, map[string]string{"Authorization": basic(basicC.ID, basicSec)}, 401, "invalid_client", true},
		{"scope not allowed", "acme", with(cc, "scope", "studio"), map[string]string{"Authorization": basic(basicC.ID, basicSec)}, 400, "invalid_scope", false},
		{"scope not allowed among allowed", "acme", with(cc, "scope", "audit.log:read user-provisioning.scim"), map[string]string{"Authorization": basic(basicC.ID, basicSec)}, 400, "invalid_scope", false},
		{"empty scope", "acme", with(cc, "scope", ""), map[string]string{"Authorization": basic(basicC.ID, basicSec)}, 400, "invalid_scope", false},
		{"repeated parameter", "acme", with(cc, "grant_type", "client_credentials"), map[string]string{"Authorization": basic(basicC.ID, basicSec)}, 400, "invalid_request", false},
		{"grant not registered", "acme", cc, map[string]string{"Authorization": basic(codeC.ID, codeSec.Reveal())}, 400, "unauthorized_client", false},
		{"JSON body", "acme", cc, map[string]string{"Authorization": basic(basicC.ID, basicSec), "Content-Type": "application/json"}, 400, "invalid_request", false},
		{"no content type", "acme", cc, map[string]string{"Authorization": basic(basicC.ID, basicSec), "Content-Type": ""}, 400, "invalid_request", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, hdr, body := e.post(t, tc.team, "/oauth2/token", tc.form, tc.hdr)
			if status != tc.status || body["error"] != tc.code {
				t.Fatalf("got %d %v, want %d %s", status, body, tc.status, tc.code)
			}
			if _, ok := body["error_description"].(string); !ok {
				t.Errorf("no error_description: %v", body)
			}
			if got := hdr.Get("WWW-Authenticate") != ""; got != tc.challenge {
				t.Errorf("WWW-Authenticate %q, want one: %v", hdr.Get("WWW-Authenticate"), tc.challenge)
			}
			if hdr.Get("Cache-Control") != "no-store" || hdr.Get("Pragma") != "no-cache" {
				t.Errorf("caching headers: %v", hdr)
			}
		})
	}

	t.Run("GET is 405", func(t *testing.T) {
		resp, err := e.http.Get(tokenURL("acme"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" {
			t.Fatalf("GET: %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
		}
	})

	t.Run("credentials in the query string are ignored", func(t *testing.T) {
		req, _ := http.NewRequest("POST", tokenURL("acme")+"?client_id="+postC.ID+"&client_secret="+postSec,
			strings.NewReader("grant_type=client_credentials"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := e.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Fatalf("query-string credentials accepted: %d", resp.StatusCode)
		}
	})

	t.Run("omitted scope means all of the client's", func(t *testing.T) {
		status, _, body := e.post(t, "acme", "/oauth2/token", cc, map[string]string{"Authorization": basic(basicC.ID, basicSec)})
		if status != 200 || body["scope"] != "audit.log:read" {
			t.Fatalf("%d %v", status, body)
		}
	})
}
