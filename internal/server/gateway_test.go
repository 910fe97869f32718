package server_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"net/http/httptest"

	"github.com/gatehouse/gatehouse/internal/config"
)

// upstream records what the gateway forwards.
type upstream struct {
	mu      sync.Mutex
	headers http.Header
	path    string
	bytes   int64
	sum     string
	calls   int
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := sha256.New()
	n, _ := io.Copy(h, r.Body)
	u.mu.Lock()
	u.headers, u.path, u.bytes, u.sum = r.Header.Clone(), r.URL.RequestURI(), n, hex.EncodeToString(h.Sum(nil))
	u.calls++
	u.mu.Unlock()
	io.WriteString(w, `{"ok":true}`)
}

func gatewayEnv(t *testing.T) (*oauthEnv, *upstream) {
	t.Helper()
	up := &upstream{}
	ts := httptest.NewServer(up)
	t.Cleanup(ts.Close)
	routes := filepath.Join(t.TempDir(), "routes.yaml")
	os.WriteFile(routes, []byte(`routes:
  - match: "POST /integration/api/pools/{pool}/push"
    scope: integration.data-pools:data_push
    permission: "push data-pools/{pool}"
    upstream: `+ts.URL+`
`), 0o600)
	e := newOAuthEnv(t, func(c *config.Config) { c.Routes = routes; c.MaxBodyBytes = 1 << 20 })
	return e, up
}

// The gateway through the real guard: the upstream gets the principal,
// team and scopes and never the credential; bodies far over the server's
// body limit stream through; a missing permission never reaches it.
func TestGatewayThroughTheGuard(t *testing.T) {
	e, up := gatewayEnv(t)
	tok, c := e.accessToken(t, "acme", "integration.data-pools:data_push", "audit.log:read")
	e.grant(t, "acme", "client:"+c.ID, "push", "data-pools/42")

	body := strings.Repeat("x", 8<<20) // 8 MiB: eight times --max-body-bytes
	want := sha256.Sum256([]byte(body))
	req, _ := http.NewRequest("POST", "http://acme.gatehouse.test/integration/api/pools/42/push?mode=append", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("X-Gatehouse-Principal", "user:spoof@example.com")
	req.Header.Set("Cookie", "session=secret")
	resp, err := e.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	up.mu.Lock()
	defer up.mu.Unlock()
	if up.path != "/integration/api/pools/42/push?mode=append" || up.bytes != int64(len(body)) || up.sum != hex.EncodeToString(want[:]) {
		t.Errorf("upstream got %s, %d bytes, sum %s", up.path, up.bytes, up.sum)
	}
	for h, v := range map[string]string{
		"X-Gatehouse-Team":      "acme",
		"X-Gatehouse-Principal": "client:" + c.ID,
		"X-Gatehouse-Scopes":    "integration.data-pools:data_push audit.log:read",
		"Authorization":         "",
		"Cookie":                "",
	} {
		if got := up.headers.Get(h); got != v {
			t.Errorf("upstream header %s = %q, want %q", h, got, v)
		}
	}

	// Pool 43 is not granted: 403 and the upstream is not called.
	calls := up.calls
	up.mu.Unlock()
	status, _, m := e.call(t, "acme", "POST", "/integration/api/pools/43/push", "{}", "Bearer "+tok)
	up.mu.Lock()
	if status != 403 || m["action"] != "push" || m["resource"] != "data-pools/43" || up.calls != calls {
		t.Errorf("ungranted pool: %d %v, upstream calls %d -> %d", status, m, calls, up.calls)
	}
}

// Every protected route refuses a token of another team.
func TestEveryRouteRefusesAnotherTeamsToken(t *testing.T) {
	e, up := gatewayEnv(t)
	all := []string{"audit.log:read", "team.user-group-info:read", "team.login-history:read", "integration.data-pools:data_push"}
	betaTok, betaClient := e.accessToken(t, "beta", all...)
	for _, p := range [][2]string{{"read", "audit-log"}, {"read", "users"}, {"read", "login-history"}, {"check", "authz"}, {"push", "data-pools/*"}} {
		e.grant(t, "beta", "client:"+betaClient.ID, p[0], p[1])
	}
	routes := []struct{ method, path, body string }{
		{"GET", "/api/team/audit-log", ""},
		{"GET", "/api/team/users", ""},
		{"GET", "/api/team/groups", ""},
		{"GET", "/api/team/login-history", ""},
		{"POST", "/api/authz/check", `{"principal":"app:x","action":"read","resource":"r","scope":""}`},
		{"POST", "/integration/api/pools/1/push", "{}"},
	}
	for _, r := range routes {
		// At beta the token passes: the refusals below are the team's doing.
		if status, _, m := e.call(t, "beta", r.method, r.path, r.body, "Bearer "+betaTok); status != 200 {
			t.Fatalf("%s %s at beta: %d %v", r.method, r.path, status, m)
		}
		status, challenge, m := e.call(t, "acme", r.method, r.path, r.body, "Bearer "+betaTok)
		if status != 401 || m["error"] != "invalid_token" || !strings.Contains(challenge, `error="invalid_token"`) {
			t.Errorf("%s %s at acme with beta's token: %d %q %v", r.method, r.path, status, challenge, m)
		}
	}
	if up.calls != 1 {
		t.Errorf("upstream called %d times, want once (beta's own call)", up.calls)
	}
}
