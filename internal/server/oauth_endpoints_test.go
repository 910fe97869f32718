package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/poll"
	"github.com/gatehouse/gatehouse/internal/required"
	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// liveEnv is an oauthEnv whose server runs with Run on a real listener, so
// that its change hub, audit batcher and other background work run too, on
// a clock the test controls.
type liveEnv struct {
	*oauthEnv
	clock *servertest.Clock
}

func startOAuthEnv(t *testing.T, tweak ...func(*config.Config)) *liveEnv {
	t.Helper()
	var opts []servertest.Option
	for _, f := range tweak {
		opts = append(opts, servertest.WithConfig(f))
	}
	return liveOf(servertest.Start(t, opts...))
}

func liveOf(h *servertest.Server) *liveEnv { return &liveEnv{oauthEnv: envOf(h), clock: h.Clock} }

// loopbackAlias returns 127.0.0.last (Linux routes all of 127/8 to lo); a
// machine that cannot use it skips the test, except under CI=true.
func loopbackAlias(t *testing.T, last byte) net.IP {
	t.Helper()
	ip := net.IPv4(127, 0, 0, last)
	ln, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		required.Missing(t, "loopback alias %s unusable: %v", ip, err)
	}
	ln.Close()
	return ip
}

func teamURL(team, path string) string { return servertest.URL(team, path) }

// creds is a registered client with its secret.
type creds struct {
	store.Client
	secret string
}

func (c creds) withSecret(s string) creds { c.secret = s; return c }

// register creates a client_credentials client; ttl 0 is the team's.
func (e *oauthEnv) register(t *testing.T, team, method string, ttl time.Duration, scopes ...string) creds {
	t.Helper()
	c, sec, err := e.clients.Create(context.Background(), kernel.CLI, team, client.NewClient{
		Name: testClientName(), GrantTypes: []string{client.GrantClientCredentials}, AuthMethod: method,
		Scopes: scopes, AccessTokenTTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	return creds{c, sec.Reveal()}
}

// authenticated adds cr's credentials to a copy of form, by the client's
// registered method, and returns the headers to send.
func authenticated(cr creds, form url.Values) (url.Values, map[string]string) {
	out := url.Values{}
	for k, v := range form {
		out[k] = slices.Clone(v)
	}
	if cr.AuthMethod == client.AuthSecretBasic {
		return out, map[string]string{"Authorization": basic(cr.ID, cr.secret)}
	}
	out.Set("client_id", cr.ID)
	out.Set("client_secret", cr.secret)
	return out, nil
}

// reply is an HTTP answer with its body parsed where it is a JSON object.
type reply struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// send makes a request; a non-nil form is sent form-urlencoded, and an
// empty header value deletes that header.
func send(t *testing.T, hc *http.Client, method, rawURL string, form url.Values, hdr map[string]string) reply {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, rawURL, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := reply{status: resp.StatusCode, header: resp.Header, raw: raw}
	json.Unmarshal(raw, &r.body)
	return r
}

func requestToken(t *testing.T, hc *http.Client, team string, cr creds, scopes string) reply {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	if scopes != "" {
		form.Set("scope", scopes)
	}
	f, h := authenticated(cr, form)
	return send(t, hc, "POST", teamURL(team, "/oauth2/token"), f, h)
}

// mustToken gets an access token for cr at team, or fails the test.
func mustToken(t *testing.T, hc *http.Client, team string, cr creds, scopes string) (string, reply) {
	t.Helper()
	r := requestToken(t, hc, team, cr, scopes)
	tok, _ := r.body["access_token"].(string)
	if r.status != http.StatusOK || tok == "" {
		t.Fatalf("token at %s: %d %s", team, r.status, r.raw)
	}
	return tok, r
}

func introspect(t *testing.T, hc *http.Client, team string, cr creds, tok string) reply {
	t.Helper()
	f, h := authenticated(cr, url.Values{"token": {tok}})
	return send(t, hc, "POST", teamURL(team, "/oauth2/introspect"), f, h)
}

func revoke(t *testing.T, hc *http.Client, team string, cr creds, tok string) reply {
	t.Helper()
	f, h := authenticated(cr, url.Values{"token": {tok}})
	return send(t, hc, "POST", teamURL(team, "/oauth2/revoke"), f, h)
}

// activeAt tells whether introspection at team says tok is active, failing
// the test on anything but a well-formed answer.
func activeAt(t *testing.T, hc *http.Client, team string, cr creds, tok string) bool {
	t.Helper()
	r := introspect(t, hc, team, cr, tok)
	active, ok := r.body["active"].(bool)
	if r.status != http.StatusOK || !ok {
		t.Fatalf("introspect at %s: %d %s", team, r.status, r.raw)
	}
	return active
}

// tokenAlgs are the algorithms a team's tokens may be signed with.
var tokenAlgs = []jose.SignatureAlgorithm{jose.ES256, jose.ES384, jose.EdDSA}

// verifyWith checks raw against a key set with go-jose and returns its
// header and claims.
func verifyWith(set jose.JSONWebKeySet, raw string) (jose.Header, map[string]any, error) {
	jws, err := jose.ParseSigned(raw, tokenAlgs)
	if err != nil {
		return jose.Header{}, nil, err
	}
	h := jws.Signatures[0].Header
	keys := set.Key(h.KeyID)
	if len(keys) != 1 {
		return h, nil, errUnknownKid
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		return h, nil, err
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return h, nil, err
	}
	return h, claims, nil
}

var errUnknownKid = errors.New("kid not in the key set")

// keySet fetches a team's JWKS at path: the parsed set, and each key as a
// JSON object.
func keySet(t *testing.T, hc *http.Client, team, path string) (reply, jose.JSONWebKeySet, []map[string]any) {
	t.Helper()
	r := send(t, hc, "GET", teamURL(team, path), nil, nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET %s at %s: %d %s", path, team, r.status, r.raw)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(r.raw, &set); err != nil {
		t.Fatalf("JWKS %s: %v", r.raw, err)
	}
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(r.raw, &doc); err != nil {
		t.Fatal(err)
	}
	return r, set, doc.Keys
}

// seconds reads a JSON number of whole seconds.
func seconds(t *testing.T, v any) int64 {
	t.Helper()
	f, ok := v.(float64)
	if !ok || f != float64(int64(f)) {
		t.Fatalf("%v (%T) is not a whole number", v, v)
	}
	return int64(f)
}

// flipSignatureBit returns raw with one bit of its signature flipped.
func flipSignatureBit(t *testing.T, raw string) string {
	t.Helper()
	parts := strings.Split(raw, ".")
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(parts) != 3 {
		t.Fatalf("not a JWS: %q", raw)
	}
	sig[len(sig)/2] ^= 0x01
	parts[2] = base64.RawURLEncoding.EncodeToString(sig)
	return strings.Join(parts, ".")
}

// widenScope returns raw with a scope added to its payload and the
// signature kept.
func widenScope(t *testing.T, raw string) string {
	t.Helper()
	parts := strings.Split(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(b, &claims); err != nil {
		t.Fatal(err)
	}
	claims["scope"] = []string{"audit.log:read", "user-provisioning.scim"}
	b, _ = json.Marshal(claims)
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

func checkNoStore(t *testing.T, h http.Header) {
	t.Helper()
	if h.Get("Cache-Control") != "no-store" || h.Get("Pragma") != "no-cache" {
		t.Errorf("caching headers Cache-Control %q Pragma %q, want no-store, no-cache", h.Get("Cache-Control"), h.Get("Pragma"))
	}
}

var inactive = map[string]any{"active": false}

// Introspection (RFC 7662): the claims of a token valid here and now, and
// {"active": false}, nothing more, for anything else.
func TestIntrospection(t *testing.T) {
	e := startOAuthEnv(t)
	scopes := []string{"audit.log:read", "team.login-history:read"}
	owner := e.register(t, "acme", client.AuthSecretBasic, 0, scopes...)
	sibling := e.register(t, "acme", client.AuthSecretPost, 0, "audit.log:read")
	short := e.register(t, "acme", client.AuthSecretBasic, time.Minute, "audit.log:read")
	betaC := e.register(t, "beta", client.AuthSecretBasic, 0, "audit.log:read")

	// active is what introspection must say of tok, a token of owner.
	active := func(t *testing.T, tok string) map[string]any {
		_, claims, err := verifyWith(e.jwks(t, "acme"), tok)
		if err != nil {
			t.Fatalf("token does not verify: %v", err)
		}
		iat := seconds(t, claims["iat"])
		if now := e.clock.Now().Unix(); iat < now-5 || iat > now {
			t.Fatalf("iat %d, now %d", iat, now)
		}
		if jti, _ := claims["jti"].(string); len(jti) != 36 {
			t.Fatalf("jti %v", claims["jti"])
		}
		return map[string]any{
			"active":     true,
			"scope":      "audit.log:read team.login-history:read",
			"client_id":  owner.ID,
			"sub":        owner.ID,
			"token_type": "Bearer",
			"iat":        float64(iat),
			"nbf":        float64(iat),
			"exp":        float64(iat + 900),
			"iss":        "http://acme.gatehouse.test",
			"aud":        []any{owner.ID, "acme.gatehouse.test"},
			"jti":        claims["jti"],
		}
	}
	ownerToken := func(t *testing.T) string {
		tok, _ := mustToken(t, e.http, "acme", owner, strings.Join(scopes, " "))
		return tok
	}

	for _, tc := range []struct {
		name  string
		team  string // where the token is introspected
		asker creds
		// token makes the token to introspect and says what the answer
		// must be.
		token func(t *testing.T) (string, map[string]any)
	}{
		{"fresh token, asked by its client (Basic)", "acme", owner, func(t *testing.T) (string, map[string]any) {
			tok := ownerToken(t)
			return tok, active(t, tok)
		}},
		{"fresh token, asked by another client of the team (post)", "acme", sibling, func(t *testing.T) (string, map[string]any) {
			tok := ownerToken(t)
			return tok, active(t, tok)
		}},
		{"garbage", "acme", owner, func(*testing.T) (string, map[string]any) { return "not-a-token", inactive }},
		{"three empty segments", "acme", owner, func(*testing.T) (string, map[string]any) { return "..", inactive }},
		{"truncated", "acme", owner, func(t *testing.T) (string, map[string]any) {
			tok := ownerToken(t)
			return tok[:len(tok)-10], inactive
		}},
		{"signature bit flipped", "acme", owner, func(t *testing.T) (string, map[string]any) {
			return flipSignatureBit(t, ownerToken(t)), inactive
		}},
		{"payload changed under the signature", "acme", owner, func(t *testing.T) (string, map[string]any) {
			return widenScope(t, ownerToken(t)), inactive
		}},
		{"token of team beta, at acme", "acme", owner, func(t *testing.T) (string, map[string]any) {
			tok, _ := mustToken(t, e.http, "beta", betaC, "")
			if !activeAt(t, e.http, "beta", betaC, tok) {
				t.Fatal("the token is not even active at beta")
			}
			return tok, inactive
		}},
		{"token of team acme, at beta", "beta", betaC, func(t *testing.T) (string, map[string]any) {
			return ownerToken(t), inactive
		}},
		{"revoked", "acme", owner, func(t *testing.T) (string, map[string]any) {
			tok := ownerToken(t)
			if r := revoke(t, e.http, "acme", owner, tok); r.status != http.StatusOK {
				t.Fatalf("revoke: %d %s", r.status, r.raw)
			}
			return tok, inactive
		}},
		// Moves the clock of the whole env past the token's lifetime:
		// the cases above make their tokens afresh, so order them first.
		{"expired", "acme", owner, func(t *testing.T) (string, map[string]any) {
			tok, r := mustToken(t, e.http, "acme", short, "")
			if r.body["expires_in"] != float64(60) {
				t.Fatalf("expires_in %v, want 60", r.body["expires_in"])
			}
			if !activeAt(t, e.http, "acme", owner, tok) {
				t.Fatal("the token is not active before it expires")
			}
			// Past its expiry and the leeway (--token-leeway).
			e.clock.Advance(60*time.Second + e.cfg.TokenLeeway)
			return tok, inactive
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, want := tc.token(t)
			r := introspect(t, e.http, tc.team, tc.asker, tok)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.raw)
			}
			if diff := cmp.Diff(want, r.body); diff != "" {
				t.Errorf("introspection (-want +got):\n%s", diff)
			}
			checkNoStore(t, r.header)
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

// The errors that the introspection and revocation endpoints share: they
// authenticate the client like the token endpoint, then require a token.
func TestIntrospectAndRevokeErrors(t *testing.T) {
	e := startOAuthEnv(t)
	basicC := e.register(t, "acme", client.AuthSecretBasic, 0, "audit.log:read")
	postC := e.register(t, "acme", client.AuthSecretPost, 0, "audit.log:read")
	betaC := e.register(t, "beta", client.AuthSecretBasic, 0, "audit.log:read")
	tok, _ := mustToken(t, e.http, "acme", basicC, "")
	withToken := url.Values{"token": {tok}}

	for _, path := range []string{"/oauth2/introspect", "/oauth2/revoke"} {
		for _, tc := range []struct {
			name      string
			as        *creds // nil: no client authentication
			form      url.Values
			hdr       map[string]string
			status    int
			code      string
			challenge bool
		}{
			{"no token parameter (Basic)", &basicC, url.Values{}, nil, 400, "invalid_request", false},
			{"no token parameter (post)", &postC, url.Values{}, nil, 400, "invalid_request", false},
			{"empty token", &basicC, url.Values{"token": {""}}, nil, 400, "invalid_request", false},
			{"token sent twice", &basicC, url.Values{"token": {tok, tok}}, nil, 400, "invalid_request", false},
			{"JSON body", &basicC, withToken, map[string]string{"Content-Type": "application/json"}, 400, "invalid_request", false},
			{"no client authentication", nil, withToken, nil, 401, "invalid_client", false},
			{"client_id without a secret", nil, url.Values{"token": {tok}, "client_id": {postC.ID}}, nil, 401, "invalid_client", false},
			{"wrong secret (Basic)", ptr(basicC.withSecret("wrong")), withToken, nil, 401, "invalid_client", true},
			{"wrong secret (post)", ptr(postC.withSecret("wrong")), withToken, nil, 401, "invalid_client", false},
			{"client of team beta", &betaC, withToken, nil, 401, "invalid_client", true},
			{"Basic client using post", nil, url.Values{"token": {tok}, "client_id": {basicC.ID}, "client_secret": {basicC.secret}}, nil, 401, "invalid_client", false},
		} {
			t.Run(path+" "+tc.name, func(t *testing.T) {
				form, hdr := tc.form, map[string]string{}
				if tc.as != nil {
					var auth map[string]string
					form, auth = authenticated(*tc.as, tc.form)
					for k, v := range auth {
						hdr[k] = v
					}
				}
				for k, v := range tc.hdr {
					hdr[k] = v
				}
				r := send(t, e.http, "POST", teamURL("acme", path), form, hdr)
				if r.status != tc.status || r.body["error"] != tc.code {
					t.Fatalf("got %d %s, want %d %s", r.status, r.raw, tc.status, tc.code)
				}
				if _, ok := r.body["error_description"].(string); !ok {
					t.Errorf("no error_description: %s", r.raw)
				}
				if got := r.header.Get("WWW-Authenticate"); (got != "") != tc.challenge {
					t.Errorf("WWW-Authenticate %q, want one: %v", got, tc.challenge)
				}
				checkNoStore(t, r.header)
			})
		}
		for _, method := range []string{"GET", "PUT", "DELETE"} {
			t.Run(path+" "+method, func(t *testing.T) {
				r := send(t, e.http, method, teamURL("acme", path), nil, nil)
				if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "POST" || r.body["error"] != "invalid_request" {
					t.Fatalf("%s: %d Allow %q %s", method, r.status, r.header.Get("Allow"), r.raw)
				}
			})
		}
	}
	// None of the failures above revoked the token.
	if !activeAt(t, e.http, "acme", basicC, tok) {
		t.Error("the token is no longer active")
	}
}

func ptr[T any](v T) *T { return &v }

// Revocation (RFC 7009): the owning client revokes its token; anything
// else is 200 and changes nothing, but for a token of another client of
// the team.
func TestRevocation(t *testing.T) {
	e := startOAuthEnv(t)
	owner := e.register(t, "acme", client.AuthSecretBasic, 0, "audit.log:read")
	sibling := e.register(t, "acme", client.AuthSecretPost, 0, "audit.log:read")
	betaC := e.register(t, "beta", client.AuthSecretBasic, 0, "audit.log:read")
	// asker introspects at each team afterwards.
	asker := map[string]creds{"acme": sibling, "beta": betaC}

	for _, tc := range []struct {
		name    string
		revoker creds // at acme
		// token makes the token to revoke; home is the team where its
		// state is checked afterwards ("": none).
		token  func(t *testing.T) (tok, home string)
		status int
		code   string
		// activeAfter is the token's state at home after the request.
		activeAfter bool
		// revokedBefore: token revokes the token already.
		revokedBefore bool
	}{
		{"by its client (Basic)", owner, func(t *testing.T) (string, string) {
			tok, _ := mustToken(t, e.http, "acme", owner, "")
			return tok, "acme"
		}, 200, "", false, false},
		{"by its client (post)", sibling, func(t *testing.T) (string, string) {
			tok, _ := mustToken(t, e.http, "acme", sibling, "")
			return tok, "acme"
		}, 200, "", false, false},
		{"again", owner, func(t *testing.T) (string, string) {
			tok, _ := mustToken(t, e.http, "acme", owner, "")
			if r := revoke(t, e.http, "acme", owner, tok); r.status != 200 {
				t.Fatalf("first revocation: %d %s", r.status, r.raw)
			}
			return tok, "acme"
		}, 200, "", false, true},
		{"garbage", owner, func(*testing.T) (string, string) { return "garbage", "" }, 200, "", false, false},
		{"unknown token (bad signature)", owner, func(t *testing.T) (string, string) {
			tok, _ := mustToken(t, e.http, "acme", owner, "")
			return flipSignatureBit(t, tok), ""
		}, 200, "", false, false},
		{"token of another client of the team", sibling, func(t *testing.T) (string, string) {
			tok, _ := mustToken(t, e.http, "acme", owner, "")
			return tok, "acme"
		}, 400, "unauthorized_client", true, false},
		{"token of team beta", owner, func(t *testing.T) (string, string) {
			tok, _ := mustToken(t, e.http, "beta", betaC, "")
			return tok, "beta"
		}, 200, "", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, home := tc.token(t)
			if home != "" && activeAt(t, e.http, home, asker[home], tok) == tc.revokedBefore {
				t.Fatalf("before the request the token is active: %v, want %v", !tc.revokedBefore, !tc.revokedBefore)
			}
			r := revoke(t, e.http, "acme", tc.revoker, tok)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.raw)
			}
			if tc.code != "" && r.body["error"] != tc.code {
				t.Errorf("error %s, want %s", r.raw, tc.code)
			}
			if tc.code == "" && len(r.raw) != 0 {
				t.Errorf("body %q, want none", r.raw)
			}
			checkNoStore(t, r.header)
			if home != "" {
				if got := activeAt(t, e.http, home, asker[home], tok); got != tc.activeAfter {
					t.Errorf("active at %s after the request: %v, want %v", home, got, tc.activeAfter)
				}
			}
		})
	}
}

// A revocation through one node reaches another node that shares the
// store within a second, though that node had the token's team denylist
// cached.
func TestRevocationReachesAnotherNode(t *testing.T) {
	node1 := servertest.Start(t, servertest.WithTeams("acme"), servertest.WithWallClock())
	node2 := servertest.Start(t, servertest.WithSQLiteFile(node1.DBPath), servertest.WithTeams(), servertest.WithWallClock())
	hc1, hc2 := node1.HTTP, node2.HTTP
	e := envOf(node1)

	// Wait until node 2 hears changes made through the other handle, so
	// that the revocation cannot fall before its watcher starts.
	heard := make(chan struct{}, 1)
	defer node2.Hub().Subscribe(func(c store.Change) {
		if c.Kind == store.KindClient {
			select {
			case heard <- struct{}{}:
			default:
			}
		}
	})()
	cr := e.register(t, "acme", client.AuthSecretBasic, 0, "audit.log:read")
	for wait := time.After(5 * time.Second); ; {
		select {
		case <-heard:
		case <-time.After(200 * time.Millisecond):
			e.register(t, "acme", client.AuthSecretBasic, 0, "audit.log:read")
			continue
		case <-wait:
			t.Fatal("node 2 hears no changes")
		}
		break
	}

	tok, _ := mustToken(t, hc1, "acme", cr, "")
	// The token is acme's first: node 1 made acme's signing key for it,
	// which node 2 may learn of only with the change (its unknown-kid
	// reload is throttled for a second after it loaded acme's keys at
	// startup), so allow it the contract's second.
	tries := 0
	took, ok := poll.Until(time.Second, func() bool {
		if tries++; tries == 2 {
			t.Log("node 2 refuses the token of node 1 at first")
		}
		return activeAt(t, hc2, "acme", cr, tok)
	})
	if !ok {
		t.Fatalf("node 2 refuses a token of node 1 after %v", took)
	}
	t.Logf("node 2 accepted the token of node 1 after %v", took)
	// Node 2 now holds acme's denylist in its cache.
	if r := revoke(t, hc1, "acme", cr, tok); r.status != http.StatusOK {
		t.Fatalf("revoke at node 1: %d %s", r.status, r.raw)
	}
	start := time.Now()
	if activeAt(t, hc1, "acme", cr, tok) {
		t.Error("node 1 still holds the token active")
	}
	if _, ok := poll.Until(time.Second-time.Since(start), func() bool { return !activeAt(t, hc2, "acme", cr, tok) }); !ok {
		t.Fatalf("node 2 still holds the token active %v after its revocation at node 1", time.Since(start))
	}
	t.Logf("node 2 saw the revocation after %v", time.Since(start))
}

// authEvent is what the brute-force tests check of an audit event.
type authEvent struct {
	Action, Actor, IP string
	Detail            map[string]string
}

// authAudit waits until the team's audit log holds a token.issue event of
// the client sentinel, issued after every failure of interest (the batcher
// writes events in the order handed over), and returns the team's
// client.auth.* events.
func authAudit(t *testing.T, st store.Store, team, sentinel string) []authEvent {
	t.Helper()
	var out []authEvent
	written := func() bool {
		var all []store.AuditEvent
		p := store.Page{Limit: 500}
		for {
			evs, next, err := st.ListAudit(context.Background(), team, store.AuditFilter{}, p)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, evs...)
			if next == "" {
				break
			}
			p.Cursor = next
		}
		if slices.ContainsFunc(all, func(ev store.AuditEvent) bool {
			return ev.Action == "token.issue" && ev.Actor == "client:"+sentinel
		}) {
			for _, ev := range all {
				if strings.HasPrefix(ev.Action, "client.auth.") {
					out = append(out, authEvent{ev.Action, ev.Actor, ev.IP, ev.Detail})
				}
			}
			return true
		}
		return false
	}
	if _, ok := poll.Until(2*time.Second, written); !ok {
		t.Fatalf("no token.issue event of client %s in the audit log after 2 s", sentinel)
	}
	return out
}

// checkThrottled checks a 429 with a Retry-After of whole seconds.
func checkThrottled(t *testing.T, r reply, maxRetry int) {
	t.Helper()
	if r.status != http.StatusTooManyRequests || r.body["error"] != "temporarily_unavailable" {
		t.Fatalf("got %d %s, want 429 temporarily_unavailable", r.status, r.raw)
	}
	ra := r.header.Get("Retry-After")
	if n, err := strconv.Atoi(ra); err != nil || n <= 0 || n > maxRetry {
		t.Errorf("Retry-After %q, want whole seconds in [1, %d]", ra, maxRetry)
	}
	checkNoStore(t, r.header)
}

// Failed client authentications are limited per client and per IP, and
// audited: one event per failure and one per limit that runs out.
func TestClientAuthBruteForce(t *testing.T) {
	limits := func(c *config.Config) {
		c.ClientAuthFailures = 3
		c.ClientAuthWindow = time.Minute
	}
	failure := func(cr creds, ip string) authEvent {
		return authEvent{"client.auth.failure", "client:" + cr.ID, ip, map[string]string{"reason": "unknown client or wrong secret"}}
	}
	blocked := func(cr creds, ip, by string) authEvent {
		return authEvent{"client.auth.blocked", "client:" + cr.ID, ip, map[string]string{"by": by, "window": "1m0s"}}
	}
	sortEvents := cmpopts.SortSlices(func(a, b authEvent) bool {
		return a.Action+a.Actor+a.IP+a.Detail["by"] < b.Action+b.Actor+b.IP+b.Detail["by"]
	})

	// The Celonis guide's scenario: one client guesses from one address. Both of
	// its limits run out at the third failure.
	t.Run("one client from one IP", func(t *testing.T) {
		e := startOAuthEnv(t, limits)
		a := e.register(t, "acme", client.AuthSecretBasic, 0, "audit.log:read")
		b := e.register(t, "acme", client.AuthSecretPost, 0, "audit.log:read")
		for i := 1; i <= 3; i++ {
			r := requestToken(t, e.http, "acme", a.withSecret("wrong"), "")
			if r.status != http.StatusUnauthorized || r.body["error"] != "invalid_client" {
				t.Fatalf("failure %d: %d %s", i, r.status, r.raw)
			}
		}
		for _, tc := range []struct {
			name string
			do   func() reply
		}{
			{"the client, with the right secret", func() reply { return requestToken(t, e.http, "acme", a, "") }},
			{"the client, at the introspection endpoint", func() reply { return introspect(t, e.http, "acme", a, "x") }},
			{"the client, at the revocation endpoint", func() reply { return revoke(t, e.http, "acme", a, "x") }},
			{"another client from the same IP", func() reply { return requestToken(t, e.http, "acme", b, "") }},
		} {
			t.Run(tc.name, func(t *testing.T) { checkThrottled(t, tc.do(), 60) })
		}

		e.clock.Advance(61 * time.Second)
		for _, cr := range []creds{a, b} {
			if r := requestToken(t, e.http, "acme", cr, ""); r.status != http.StatusOK {
				t.Fatalf("after the window: %d %s", r.status, r.raw)
			}
		}
		got := authAudit(t, e.st, "acme", b.ID)
		want := []authEvent{
			failure(a, "127.0.0.1"), failure(a, "127.0.0.1"), failure(a, "127.0.0.1"),
			blocked(a, "127.0.0.1", "client"), blocked(a, "127.0.0.1", "ip"),
		}
		if diff := cmp.Diff(want, got, sortEvents); diff != "" {
			t.Errorf("audit events (-want +got):\n%s", diff)
		}
	})

	// Three clients fail once each from one address: no client's limit
	// runs out, the address's does.
	t.Run("IP limit across clients", func(t *testing.T) {
		attacker, other := loopbackAlias(t, 2), loopbackAlias(t, 3)
		e := startOAuthEnv(t, limits)
		from := servertest.Dialer(t, e.addr, attacker)
		var guessed []creds
		for i := range 3 {
			cr := e.register(t, "acme", client.AuthSecretBasic, 0, "audit.log:read")
			guessed = append(guessed, cr)
			if r := requestToken(t, from, "acme", cr.withSecret("wrong"), ""); r.status != http.StatusUnauthorized {
				t.Fatalf("failure %d: %d %s", i+1, r.status, r.raw)
			}
		}
		d := e.register(t, "acme", client.AuthSecretPost, 0, "audit.log:read")
		checkThrottled(t, requestToken(t, from, "acme", d, ""), 60)
		if r := requestToken(t, servertest.Dialer(t, e.addr, other), "acme", d, ""); r.status != http.StatusOK {
			t.Fatalf("from another address: %d %s", r.status, r.raw)
		}
		got := authAudit(t, e.st, "acme", d.ID)
		want := []authEvent{
			failure(guessed[0], "127.0.0.2"), failure(guessed[1], "127.0.0.2"), failure(guessed[2], "127.0.0.2"),
			blocked(guessed[2], "127.0.0.2", "ip"),
		}
		if diff := cmp.Diff(want, got, sortEvents); diff != "" {
			t.Errorf("audit events (-want +got):\n%s", diff)
		}
	})

	// One client fails from three addresses: no address's limit runs out,
	// the client's does.
	t.Run("client limit across IPs", func(t *testing.T) {
		e := startOAuthEnv(t, limits)
		a := e.register(t, "acme", client.AuthSecretBasic, 0, "audit.log:read")
		for i := range 3 {
			hc := servertest.Dialer(t, e.addr, loopbackAlias(t, byte(2+i)))
			if r := requestToken(t, hc, "acme", a.withSecret("wrong"), ""); r.status != http.StatusUnauthorized {
				t.Fatalf("failure %d: %d %s", i+1, r.status, r.raw)
			}
		}
		fresh := servertest.Dialer(t, e.addr, loopbackAlias(t, 5))
		checkThrottled(t, requestToken(t, fresh, "acme", a, ""), 60)
		b := e.register(t, "acme", client.AuthSecretPost, 0, "audit.log:read")
		if r := requestToken(t, fresh, "acme", b, ""); r.status != http.StatusOK {
			t.Fatalf("another client: %d %s", r.status, r.raw)
		}
		got := authAudit(t, e.st, "acme", b.ID)
		want := []authEvent{
			failure(a, "127.0.0.2"), failure(a, "127.0.0.3"), failure(a, "127.0.0.4"),
			blocked(a, "127.0.0.4", "client"),
		}
		if diff := cmp.Diff(want, got, sortEvents); diff != "" {
			t.Errorf("audit events (-want +got):\n%s", diff)
		}
	})
}

// A team's settings shape its tokens: the scope claim's format, the
// signing algorithm and the lifetime, which a client's own lifetime
// overrides. Each team is configured before its first request, and the
// last case changes a team the server has cached.
func TestTeamSettingsShapeTokens(t *testing.T) {
	e := startOAuthEnv(t)
	adm := &admin.Service{Store: e.st}
	scopes := []string{"audit.log:read", "team.login-history:read"}
	asArray := []any{"audit.log:read", "team.login-history:read"}
	asString := "audit.log:read team.login-history:read"

	for _, tc := range []struct {
		name       string
		team       string
		settings   *admin.TeamSettingsChange // nil: none
		clientTTL  time.Duration
		alg        string
		kty, crv   string
		ttl        int64
		scopeClaim any
	}{
		{"server defaults", "acme", nil, 0, "ES384", "EC", "P-384", 900, asArray},
		{"scope as a string", "scope-string", &admin.TeamSettingsChange{ScopeFormat: ptr("string")}, 0, "ES384", "EC", "P-384", 900, asString},
		{"scope as an array", "scope-array", &admin.TeamSettingsChange{ScopeFormat: ptr("array")}, 0, "ES384", "EC", "P-384", 900, asArray},
		{"ES256", "alg-es256", &admin.TeamSettingsChange{SigningAlg: ptr("ES256")}, 0, "ES256", "EC", "P-256", 900, asArray},
		{"EdDSA", "alg-eddsa", &admin.TeamSettingsChange{SigningAlg: ptr("EdDSA")}, 0, "EdDSA", "OKP", "Ed25519", 900, asArray},
		{"team lifetime", "ttl-team", &admin.TeamSettingsChange{AccessTokenTTL: ptr(5 * time.Minute)}, 0, "ES384", "EC", "P-384", 300, asArray},
		{"client lifetime over the team's", "ttl-client", &admin.TeamSettingsChange{AccessTokenTTL: ptr(5 * time.Minute)}, 2 * time.Minute, "ES384", "EC", "P-384", 120, asArray},
		{"client lifetime over the server's", "beta", nil, 2 * time.Minute, "ES384", "EC", "P-384", 120, asArray},
		{"all at once", "all-settings", &admin.TeamSettingsChange{ScopeFormat: ptr("string"), SigningAlg: ptr("EdDSA"), AccessTokenTTL: ptr(10 * time.Minute)}, 0, "EdDSA", "OKP", "Ed25519", 600, asString},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.team != "acme" && tc.team != "beta" {
				e.h.Team(t, tc.team)
			}
			if tc.settings != nil {
				if _, err := adm.SetTeamSettings(ctx, kernel.CLI, tc.team, *tc.settings); err != nil {
					t.Fatal(err)
				}
			}
			cr := e.register(t, tc.team, client.AuthSecretBasic, tc.clientTTL, scopes...)
			tok, r := mustToken(t, e.http, tc.team, cr, strings.Join(scopes, " "))
			if r.body["expires_in"] != float64(tc.ttl) || r.body["scope"] != asString {
				t.Errorf("response expires_in %v scope %v, want %d %q", r.body["expires_in"], r.body["scope"], tc.ttl, asString)
			}

			_, set, keys := keySet(t, e.http, tc.team, "/oauth2/jwks")
			h, claims, err := verifyWith(set, tok)
			if err != nil {
				t.Fatalf("token does not verify against the team's JWKS: %v", err)
			}
			if h.Algorithm != tc.alg || h.ExtraHeaders["typ"] != "at+jwt" {
				t.Errorf("header alg %q typ %v, want %s at+jwt", h.Algorithm, h.ExtraHeaders["typ"], tc.alg)
			}
			i := slices.IndexFunc(keys, func(k map[string]any) bool { return k["kid"] == h.KeyID })
			if i < 0 {
				t.Fatalf("kid %s not in the JWKS", h.KeyID)
			}
			if k := keys[i]; k["alg"] != tc.alg || k["kty"] != tc.kty || k["crv"] != tc.crv || k["use"] != "sig" {
				t.Errorf("signing key %v, want alg %s kty %s crv %s use sig", k, tc.alg, tc.kty, tc.crv)
			}
			if got := seconds(t, claims["exp"]) - seconds(t, claims["iat"]); got != tc.ttl {
				t.Errorf("exp - iat = %d, want %d", got, tc.ttl)
			}
			if diff := cmp.Diff(tc.scopeClaim, claims["scope"]); diff != "" {
				t.Errorf("scope claim (-want +got):\n%s", diff)
			}

			// Introspection reads either shape of token.
			in := introspect(t, e.http, tc.team, cr, tok)
			if in.body["active"] != true || in.body["scope"] != asString {
				t.Fatalf("introspection %d %s", in.status, in.raw)
			}
			if got := seconds(t, in.body["exp"]) - seconds(t, in.body["iat"]); got != tc.ttl {
				t.Errorf("introspected exp - iat = %d, want %d", got, tc.ttl)
			}
		})
	}

	t.Run("a change reaches the running server within a second", func(t *testing.T) {
		e.h.Team(t, "changed")
		cr := e.register(t, "changed", client.AuthSecretBasic, 0, scopes...)
		if _, r := mustToken(t, e.http, "changed", cr, ""); r.body["expires_in"] != float64(900) {
			t.Fatalf("before the change: expires_in %v", r.body["expires_in"])
		}
		if _, err := adm.SetTeamSettings(context.Background(), kernel.CLI, "changed", admin.TeamSettingsChange{
			AccessTokenTTL: ptr(5 * time.Minute), ScopeFormat: ptr("string")}); err != nil {
			t.Fatal(err)
		}
		var tok string
		took, ok := poll.Until(time.Second, func() bool {
			var r reply
			tok, r = mustToken(t, e.http, "changed", cr, "")
			return r.body["expires_in"] == float64(300)
		})
		if !ok {
			t.Fatalf("the new lifetime is not in force %v after the change", took)
		}
		_, claims, err := verifyWith(e.jwks(t, "changed"), tok)
		if err != nil {
			t.Fatal(err)
		}
		if claims["scope"] != asString {
			t.Errorf("scope claim %v, want %q", claims["scope"], asString)
		}
		t.Logf("the change took effect after %v", took)
	})
}

var metadataPaths = []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"}

// RFC 8414 metadata: one document per team, at both well-known paths,
// equal to the golden file but for the team's host.
func TestMetadata(t *testing.T) {
	e := newOAuthEnv(t)
	golden := filepath.Join("testdata", "metadata.golden.json")
	if *update {
		r := send(t, e.http, "GET", teamURL("acme", metadataPaths[0]), nil, nil)
		var doc any
		if err := json.Unmarshal(r.raw, &doc); err != nil {
			t.Fatalf("metadata %s: %v", r.raw, err)
		}
		b, _ := json.MarshalIndent(doc, "", "  ")
		if err := os.WriteFile(golden, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}

	docs := map[string]map[string]any{}
	for _, team := range []string{"acme", "beta"} {
		var wantDoc map[string]any
		if err := json.Unmarshal([]byte(strings.ReplaceAll(string(want), "acme.gatehouse.test", team+".gatehouse.test")), &wantDoc); err != nil {
			t.Fatalf("golden file: %v", err)
		}
		for _, path := range metadataPaths {
			t.Run(team+path, func(t *testing.T) {
				r := send(t, e.http, "GET", teamURL(team, path), nil, nil)
				if r.status != http.StatusOK {
					t.Fatalf("status %d: %s", r.status, r.raw)
				}
				if ct := r.header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q", ct)
				}
				if diff := cmp.Diff(wantDoc, r.body); diff != "" {
					t.Errorf("metadata (-want +got):\n%s", diff)
				}
				docs[team+path] = r.body
			})
		}
	}

	// What the golden file must say, lest it be updated to something wrong.
	acme := docs["acme"+metadataPaths[0]]
	if acme == nil {
		t.Fatal("no metadata of acme")
	}
	cat, err := scope.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	var wantScopes []any
	for _, n := range cat.Names() {
		wantScopes = append(wantScopes, n)
	}
	for _, tc := range []struct {
		field string
		want  any
	}{
		{"issuer", "http://acme.gatehouse.test"},
		{"token_endpoint", "http://acme.gatehouse.test/oauth2/token"},
		{"jwks_uri", "http://acme.gatehouse.test/oauth2/jwks"},
		{"introspection_endpoint", "http://acme.gatehouse.test/oauth2/introspect"},
		{"revocation_endpoint", "http://acme.gatehouse.test/oauth2/revoke"},
		{"scopes_supported", wantScopes},
		{"code_challenge_methods_supported", []any{"S256"}},
		{"grant_types_supported", []any{"authorization_code", "client_credentials", "refresh_token"}},
		{"authorization_endpoint", "http://acme.gatehouse.test/oauth2/authorize"},
		{"response_types_supported", []any{"code"}},
		{"authorization_response_iss_parameter_supported", true},
		{"token_endpoint_auth_methods_supported", []any{"client_secret_basic", "client_secret_post"}},
	} {
		if diff := cmp.Diff(tc.want, acme[tc.field]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.field, diff)
		}
	}
	if len(wantScopes) != 19 {
		t.Errorf("the catalog has %d scopes, want the Celonis guide's 15, team.admin, openid, profile and email", len(wantScopes))
	}
	if beta := docs["beta"+metadataPaths[0]]; beta == nil || beta["issuer"] != "http://beta.gatehouse.test" {
		t.Errorf("beta's issuer: %v", beta["issuer"])
	}
}

// The JWKS: public keys only, the same at both paths, and each team's own.
func TestJWKS(t *testing.T) {
	e := newOAuthEnv(t)
	// Teams get their first key with their first token.
	tokens := map[string]string{}
	for _, team := range []string{"acme", "beta"} {
		c, sec := e.newClient(t, team, client.AuthSecretBasic, "audit.log:read")
		tokens[team], _ = mustToken(t, e.http, team, creds{c, sec}, "")
	}

	sets := map[string]jose.JSONWebKeySet{}
	for _, team := range []string{"acme", "beta"} {
		var first []map[string]any
		for _, path := range []string{"/oauth2/jwks", "/.well-known/jwks.json"} {
			t.Run(team+path, func(t *testing.T) {
				r, set, keys := keySet(t, e.http, team, path)
				if ct := r.header.Get("Content-Type"); ct != "application/jwk-set+json" {
					t.Errorf("Content-Type %q", ct)
				}
				if len(keys) == 0 {
					t.Fatal("no keys")
				}
				for _, k := range keys {
					if kid, _ := k["kid"].(string); kid == "" {
						t.Errorf("key without kid: %v", k)
					}
					for field, want := range map[string]any{"alg": "ES384", "use": "sig", "kty": "EC", "crv": "P-384"} {
						if k[field] != want {
							t.Errorf("key %v: %s %v, want %v", k["kid"], field, k[field], want)
						}
					}
					for _, pub := range []string{"x", "y"} {
						if _, ok := k[pub].(string); !ok {
							t.Errorf("key %v has no %s", k["kid"], pub)
						}
					}
					for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
						if _, ok := k[private]; ok {
							t.Errorf("key %v publishes private member %q", k["kid"], private)
						}
					}
				}
				if first == nil {
					first, sets[team] = keys, set
				} else if diff := cmp.Diff(first, keys); diff != "" {
					t.Errorf("the two paths differ (-/oauth2/jwks +%s):\n%s", path, diff)
				}
			})
		}
	}

	beta := sets["beta"]
	for _, k := range sets["acme"].Keys {
		if len(beta.Key(k.KeyID)) != 0 {
			t.Errorf("acme's kid %s is in beta's JWKS", k.KeyID)
		}
	}
	for _, tc := range []struct{ token, set string }{{"acme", "beta"}, {"beta", "acme"}} {
		if _, _, err := verifyWith(sets[tc.token], tokens[tc.token]); err != nil {
			t.Errorf("%s's token does not verify with its own JWKS: %v", tc.token, err)
		}
		if _, _, err := verifyWith(sets[tc.set], tokens[tc.token]); err == nil {
			t.Errorf("%s's token verifies with %s's JWKS", tc.token, tc.set)
		}
		// Nor with any of the other team's keys, whatever the kid says.
		jws, err := jose.ParseSigned(tokens[tc.token], tokenAlgs)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range sets[tc.set].Keys {
			if _, err := jws.Verify(k); err == nil {
				t.Errorf("%s's token verifies with %s's key %s", tc.token, tc.set, k.KeyID)
			}
		}
	}
}

// No OAuth endpoint answers on a host that names no team, even with a
// team's valid client credentials.
func TestUnknownTeamOAuthPaths(t *testing.T) {
	e := newOAuthEnv(t)
	c, sec := e.newClient(t, "acme", client.AuthSecretBasic, "audit.log:read")
	want := map[string]any{"error": "unknown_team", "error_description": "no team is served at this host"}
	form := url.Values{"grant_type": {"client_credentials"}, "token": {"x"}}
	for _, host := range []string{"nope", "acme.elsewhere", "x.acme"} {
		for _, ep := range []struct{ method, path string }{
			{"POST", "/oauth2/token"},
			{"POST", "/oauth2/introspect"},
			{"POST", "/oauth2/revoke"},
			{"GET", "/oauth2/token"},
			{"GET", "/oauth2/jwks"},
			{"GET", "/.well-known/jwks.json"},
			{"GET", "/.well-known/oauth-authorization-server"},
			{"GET", "/.well-known/openid-configuration"},
		} {
			t.Run(host+" "+ep.method+" "+ep.path, func(t *testing.T) {
				var f url.Values
				var hdr map[string]string
				if ep.method == "POST" {
					f, hdr = form, map[string]string{"Authorization": basic(c.ID, sec)}
				}
				r := send(t, e.http, ep.method, "http://"+host+".gatehouse.test"+ep.path, f, hdr)
				if r.status != http.StatusNotFound {
					t.Fatalf("status %d: %s", r.status, r.raw)
				}
				if diff := cmp.Diff(want, r.body); diff != "" {
					t.Errorf("body (-want +got):\n%s", diff)
				}
			})
		}
	}
	// The bare domain, with no team label at all.
	r := send(t, e.http, "GET", "http://gatehouse.test/.well-known/oauth-authorization-server", nil, nil)
	if r.status != http.StatusNotFound || r.body["error"] != "unknown_team" {
		t.Errorf("bare domain: %d %s", r.status, r.raw)
	}
}
