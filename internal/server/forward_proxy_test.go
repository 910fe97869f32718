package server_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/poll"
	"github.com/gatehouse/gatehouse/internal/required"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/statickey"
	"github.com/gatehouse/gatehouse/internal/store"
)

// The real NGINX and Caddy in front of an API, with Gatehouse as their
// authorization service (README "Forward authentication"): each is
// started by the test on loopback ports with the configuration the README
// gives (proxyConfigs), from Debian's packages (scripts/proxies.sh). A
// missing binary skips the test, or fails it under CI=true.

// proxyBinary finds name's binary.
func proxyBinary(tb testing.TB, name string) string {
	tb.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if p := "/usr/sbin/" + name; fileExists(p) {
		return p
	}
	required.Missing(tb, "%s is not installed: scripts/proxies.sh installs it", name)
	return ""
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// freeAddr is a loopback address with a port nothing listens on now.
func freeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// proxySite is what a proxy's configuration is made from.
type proxySite struct {
	listen    string // the proxy's address
	gatehouse string // Gatehouse's address
	api       string // the upstream API's address
	teamHost  string // the team's host, which Gatehouse serves forward authentication on
	direct    bool   // no forward authentication: the proxy alone (the benchmark's baseline)
}

// nginxConfig is NGINX with auth_request to Gatehouse: the README's
// configuration, with the paths of a test (dir) and one process.
func nginxConfig(dir string, s proxySite) string {
	auth := `
      auth_request /.gatehouse;
      auth_request_set $gatehouse_team $upstream_http_x_gatehouse_team;
      auth_request_set $gatehouse_principal $upstream_http_x_gatehouse_principal;
      auth_request_set $gatehouse_scopes $upstream_http_x_gatehouse_scopes;
      auth_request_set $gatehouse_www_authenticate $upstream_http_www_authenticate;
      auth_request_set $gatehouse_deprecation $upstream_http_deprecation;
      auth_request_set $gatehouse_sunset $upstream_http_sunset;
      auth_request_set $gatehouse_link $upstream_http_link;
      add_header WWW-Authenticate $gatehouse_challenge always;
      add_header Deprecation $gatehouse_deprecation always;
      add_header Sunset $gatehouse_sunset always;
      add_header Link $gatehouse_link always;
      proxy_set_header X-Gatehouse-Team $gatehouse_team;
      proxy_set_header X-Gatehouse-Principal $gatehouse_principal;
      proxy_set_header X-Gatehouse-Scopes $gatehouse_scopes;
      proxy_set_header Authorization "";`
	challenge := `
  # NGINX passes WWW-Authenticate on with a 401 itself; this passes it
  # with a 403 too (error="insufficient_scope").
  map $status $gatehouse_challenge {
    403     $gatehouse_www_authenticate;
    default "";
  }`
	if s.direct {
		auth, challenge = "", ""
	}
	return fmt.Sprintf(`daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;

%[7]s
  upstream gatehouse {
    server %[3]s;
    keepalive 32;
  }
  upstream api {
    server %[4]s;
    keepalive 32;
  }
  server {
    listen %[2]s;
    location / {%[6]s
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass http://api;
    }
    location = /.gatehouse {
      internal;
      proxy_pass http://gatehouse/api/authz/forward;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header Host %[5]s;
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Forwarded-Method $request_method;
      proxy_set_header X-Forwarded-Uri $request_uri;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`, dir, s.listen, s.gatehouse, s.api, s.teamHost, auth, challenge)
}

// caddyConfig is Caddy with forward_auth to Gatehouse: the README's
// Caddyfile, with the paths of a test (dir).
func caddyConfig(dir string, s proxySite) string {
	host, port, _ := net.SplitHostPort(s.listen)
	return fmt.Sprintf(`{
	admin off
	auto_https off
	storage file_system %[1]s/data
}
http://:%[6]s {
	bind %[7]s
	route {
		forward_auth %[3]s {
			uri /api/authz/forward
			header_up Host %[5]s
			header_up -X-Original-Method
			header_up -X-Original-URI
			copy_headers X-Gatehouse-Team X-Gatehouse-Principal X-Gatehouse-Scopes
		}
		request_header -Authorization
		reverse_proxy %[4]s
	}
}
`, dir, s.listen, s.gatehouse, s.api, s.teamHost, port, host)
}

// proxyProc is a proxy the test runs.
type proxyProc struct {
	addr string
	pid  int
}

// startProxy runs name (nginx or caddy) with the configuration conf
// makes, until tb ends, and returns its address once it answers.
func startProxy(tb testing.TB, name string, s proxySite) string { return runProxy(tb, name, s).addr }

// runProxy is startProxy, returning the process too.
func runProxy(tb testing.TB, name string, s proxySite) proxyProc {
	tb.Helper()
	bin := proxyBinary(tb, name)
	dir := tb.TempDir()
	if s.listen == "" {
		s.listen = freeAddr(tb)
	}
	var cmd *exec.Cmd
	switch name {
	case "nginx":
		conf := filepath.Join(dir, "nginx.conf")
		writeConf(tb, conf, nginxConfig(dir, s))
		cmd = exec.Command(bin, "-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log"))
	case "caddy":
		conf := filepath.Join(dir, "Caddyfile")
		writeConf(tb, conf, caddyConfig(dir, s))
		cmd = exec.Command(bin, "run", "--config", conf, "--adapter", "caddyfile")
		cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	default:
		tb.Fatalf("no proxy %q", name)
	}
	var out lockedBuffer
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, &out, &out
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", name, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	tb.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	answered := func() bool {
		select {
		case <-exited:
			return true
		default:
		}
		c, err := net.DialTimeout("tcp", s.listen, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	}
	if _, ok := poll.Until(20*time.Second, answered); !ok {
		tb.Fatalf("%s did not listen on %s:\n%s", name, s.listen, out.String())
	}
	select {
	case <-exited:
		logs, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		tb.Fatalf("%s exited: %s\n%s", name, out.String(), logs)
	default:
	}
	return proxyProc{addr: s.listen, pid: cmd.Process.Pid}
}

func writeConf(tb testing.TB, path, content string) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
}

// lockedBuffer collects a process's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// apiRecorder is the upstream API: it records each request's path and
// headers.
type apiRecorder struct {
	mu    sync.Mutex
	calls []recordedCall
}

type recordedCall struct {
	method, path string
	header       http.Header
}

func (a *apiRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	a.mu.Lock()
	a.calls = append(a.calls, recordedCall{r.Method, r.URL.RequestURI(), r.Header.Clone()})
	a.mu.Unlock()
	io.WriteString(w, "pushed")
}

func (a *apiRecorder) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.calls)
}

func (a *apiRecorder) last() recordedCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls[len(a.calls)-1]
}

// forwardRouteFile has decision-only routes: the proxies call the API.
const forwardRouteFile = `routes:
  - match: "POST /integration/api/pools/{pool}/push"
    scope: integration.data-pools:data_push
    permission: "push data-pools/{pool}"
  - match: "GET /integration/api/pools/{pool}"
    scope: integration.data-pools
    permission: "read data-pools/{pool}"
`

// forwardEnv is a Gatehouse that trusts 127.0.0.1 (where the proxies
// connect from), an API, and the credentials of the cases.
type forwardEnv struct {
	h   *servertest.Server
	api *apiRecorder
	// apiAddr is the API's address.
	apiAddr string

	pusher      string // a client's token with the push scope and the permission on pool 42
	pusherID    string
	reader      string // a token without the push scope, whose client holds the permission
	stranger    string // a token with the scope, whose client holds no permission
	appKey      string // an AppKey of app:feeder, which holds the permission
	deprecation time.Time
}

func newForwardEnv(t *testing.T) *forwardEnv {
	t.Helper()
	routes := filepath.Join(t.TempDir(), "routes.yaml")
	writeConf(t, routes, forwardRouteFile)
	h := servertest.Start(t, servertest.WithConfig(func(c *config.Config) {
		c.Routes = routes
		c.TrustedProxies = "127.0.0.1"
	}))
	e := &forwardEnv{h: h, api: &apiRecorder{}}
	api := httptest.NewServer(e.api)
	t.Cleanup(api.Close)
	e.apiAddr = api.Listener.Addr().String()

	const push, read = "integration.data-pools:data_push", "integration.data-pools"
	token := func(scopes []string, ask ...string) (string, string) {
		c, sec := h.Client(t, "acme", client.NewClient{Name: testClientName(), GrantTypes: []string{client.GrantClientCredentials},
			AuthMethod: client.AuthSecretBasic, Scopes: scopes})
		return h.Token(t, "acme", c.ID, sec, ask...), c.ID
	}
	e.pusher, e.pusherID = token([]string{push, read}, push)
	h.Grant(t, "acme", "client:"+e.pusherID, "push", "data-pools/42")
	var readerID string
	e.reader, readerID = token([]string{read}, read)
	h.Grant(t, "acme", "client:"+readerID, "push", "data-pools/42")
	e.stranger, _ = token([]string{push}, push)

	h.App(t, "acme", "feeder")
	h.Grant(t, "acme", "app:feeder", "push", "data-pools/42")
	_, e.appKey = h.StaticKey(t, "acme", statickey.KindApp, "feeder")
	// Static keys are deprecated, and refused from 2030.
	e.deprecation = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	sunset := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	e.setPolicy(t, statickey.PolicyChange{SetDeprecatedSince: true, DeprecatedSince: &e.deprecation, SetSunsetAt: true, SunsetAt: &sunset,
		Link: ptr("https://docs.example.com/oauth")})
	return e
}

// setPolicy changes acme's static key policy, as the CLI would, and
// waits until the server knows it.
func (e *forwardEnv) setPolicy(t *testing.T, c statickey.PolicyChange) {
	t.Helper()
	if _, _, err := e.h.StaticKeys.SetPolicy(context.Background(), kernel.CLI, "acme", c); err != nil {
		t.Fatal(err)
	}
	e.h.SyncChanges(t)
}

// proxied is what a client got.
type proxied struct {
	status int
	header http.Header
	body   string
}

// sendVia sends method path to addr (a proxy, or Gatehouse), with the
// Authorization header auth (none if "") and the extra headers, from
// 127.0.0.1.
func sendVia(t *testing.T, c *http.Client, addr, host, method, path, auth string, extra map[string]string) proxied {
	t.Helper()
	var body io.Reader
	if method == "POST" {
		body = strings.NewReader(`{"rows":[1,2,3]}`)
	}
	req, err := http.NewRequest(method, "http://"+addr+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for k, v := range extra {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return proxied{resp.StatusCode, resp.Header, string(b)}
}

// spoofed are X-Forwarded-* and X-Original-* headers a client sends to
// be judged by another route: pool 7, which the caller may not push to,
// or pool 42, which it may.
func spoofed(pool string) map[string]string {
	uri := "/integration/api/pools/" + pool + "/push"
	return map[string]string{
		"X-Forwarded-Method": "POST", "X-Forwarded-Uri": uri, "X-Forwarded-Host": "acme.gatehouse.test", "X-Forwarded-Proto": "https",
		"X-Forwarded-For": "10.9.9.9", "X-Original-Method": "POST", "X-Original-URI": uri, "X-Gatehouse-Principal": "app:root",
	}
}

func TestForwardAuthBehindProxies(t *testing.T) {
	for _, proxy := range []string{"nginx", "caddy"} {
		t.Run(proxy, func(t *testing.T) {
			proxyBinary(t, proxy)
			e := newForwardEnv(t)
			addr := startProxy(t, proxy, proxySite{gatehouse: e.h.Addr, api: e.apiAddr, teamHost: "acme.gatehouse.test"})
			c := &http.Client{Timeout: 20 * time.Second}
			call := func(method, path, auth string, extra map[string]string) proxied {
				t.Helper()
				return sendVia(t, c, addr, "api.example.test", method, path, auth, extra)
			}
			const push42 = "/integration/api/pools/42/push"

			// A token with the scope and the permission reaches the API, with
			// who called, never with the credential.
			n := e.api.count()
			a := call("POST", push42+"?mode=append", "Bearer "+e.pusher, nil)
			if a.status != 200 || a.body != "pushed" || e.api.count() != n+1 {
				t.Fatalf("allowed call: %d %q (API calls %d -> %d)", a.status, a.body, n, e.api.count())
			}
			got := e.api.last()
			for k, v := range map[string]string{"X-Gatehouse-Team": "acme", "X-Gatehouse-Principal": "client:" + e.pusherID,
				"X-Gatehouse-Scopes": "integration.data-pools:data_push", "Authorization": ""} {
				if got.header.Get(k) != v {
					t.Errorf("the API got %s %q, want %q", k, got.header.Get(k), v)
				}
			}
			if got.method != "POST" || got.path != push42+"?mode=append" {
				t.Errorf("the API got %s %s", got.method, got.path)
			}
			if a.header.Get("Deprecation") != "" {
				t.Errorf("Deprecation %q for a token", a.header.Get("Deprecation"))
			}

			// Refusals reach the client with their challenge; the API sees none.
			for _, tc := range []struct {
				name, auth, path string
				status           int
				challenge        string // a part of WWW-Authenticate; "" for none
			}{
				{"no credential", "", push42, 401, `Bearer realm="acme.gatehouse.test"`},
				{"a bad token", "Bearer eyJhbGciOiJFUzM4NCJ9.e30.AAAA", push42, 401, `error="invalid_token"`},
				{"a missing scope", "Bearer " + e.reader, push42, 403, `error="insufficient_scope", error_description="the access token lacks scope integration.data-pools:data_push", scope="integration.data-pools:data_push"`},
				{"a missing permission", "Bearer " + e.stranger, push42, 403, ""},
				{"another pool", "Bearer " + e.pusher, "/integration/api/pools/7/push", 403, ""},
				{"no route", "Bearer " + e.pusher, "/integration/api/other", 403, ""},
			} {
				n := e.api.count()
				a := call("POST", tc.path, tc.auth, nil)
				challenge := a.header.Get("WWW-Authenticate")
				switch {
				case a.status != tc.status:
					t.Errorf("%s: %d, want %d (%s)", tc.name, a.status, tc.status, a.body)
				case tc.challenge == "" && challenge != "":
					t.Errorf("%s: WWW-Authenticate %q, want none", tc.name, challenge)
				case !strings.Contains(challenge, tc.challenge):
					t.Errorf("%s: WWW-Authenticate %q, want %q in it", tc.name, challenge, tc.challenge)
				case len(a.header.Values("WWW-Authenticate")) > 1:
					t.Errorf("%s: WWW-Authenticate %q, twice", tc.name, a.header.Values("WWW-Authenticate"))
				case a.header.Get("Location") != "":
					t.Errorf("%s: redirected to %q", tc.name, a.header.Get("Location"))
				}
				if e.api.count() != n {
					t.Errorf("%s: the API was called", tc.name)
				}
			}

			// Spoofed X-Forwarded-* and X-Original-* from the client change no
			// decision: the refused stays refused, the allowed stays allowed
			// for its own path.
			if a := call("POST", "/integration/api/pools/7/push", "Bearer "+e.pusher, spoofed("42")); a.status != 403 {
				t.Errorf("spoofed to an allowed pool: %d %s", a.status, a.body)
			}
			if a := call("POST", "/integration/api/pools/7/push", "", spoofed("42")); a.status != 401 {
				t.Errorf("spoofed, no credential: %d %s", a.status, a.body)
			}
			n = e.api.count()
			if a := call("POST", push42, "Bearer "+e.pusher, spoofed("7")); a.status != 200 || e.api.count() != n+1 {
				t.Errorf("spoofed to a refused pool: %d %s", a.status, a.body)
			} else if got := e.api.last(); got.path != push42 || got.header.Get("X-Gatehouse-Principal") != "client:"+e.pusherID {
				t.Errorf("spoofed: the API got %s as %q", got.path, got.header.Get("X-Gatehouse-Principal"))
			}

			// A static key: the sunset headers reach the client through the
			// proxy; after the sunset it is refused with 401.
			a = call("POST", push42, "AppKey "+e.appKey, nil)
			if a.status != 200 || e.api.last().header.Get("X-Gatehouse-Principal") != "app:feeder" || e.api.last().header.Get("X-Gatehouse-Scopes") != "*" {
				t.Fatalf("AppKey before the sunset: %d %s, the API got %v", a.status, a.body, e.api.last().header)
			}
			wantNotice := map[string]string{"Deprecation": fmt.Sprintf("@%d", e.deprecation.Unix()), "Sunset": "Tue, 01 Jan 2030 00:00:00 GMT",
				"Link": `<https://docs.example.com/oauth>; rel="deprecation"`}
			for k, v := range wantNotice {
				// Caddy's forward_auth passes Gatehouse's headers to the
				// client on a refusal only (README).
				if proxy == "nginx" && a.header.Get(k) != v {
					t.Errorf("AppKey before the sunset: %s %q, want %q", k, a.header.Get(k), v)
				}
			}
			past := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
			e.setPolicy(t, statickey.PolicyChange{SetSunsetAt: true, SunsetAt: &past})
			n = e.api.count()
			a = call("POST", push42, "AppKey "+e.appKey, nil)
			if ch := a.header.Get("WWW-Authenticate"); a.status != 401 || !strings.HasPrefix(ch, "AppKey ") || !strings.Contains(ch, `error="invalid_token"`) ||
				!strings.Contains(ch, "OAuth") {
				t.Errorf("AppKey after the sunset: %d, WWW-Authenticate %q", a.status, ch)
			}
			if a.header.Get("Deprecation") != wantNotice["Deprecation"] || e.api.count() != n {
				t.Errorf("AppKey after the sunset: Deprecation %q, API calls %d -> %d", a.header.Get("Deprecation"), n, e.api.count())
			}

			// The denials are audited, with the original method and path.
			poll.Must(t, 10*time.Second, "the denial's audit event", func() bool {
				evs, _, err := e.h.DB.ListAudit(context.Background(), "acme", store.AuditFilter{Action: "access.deny", Target: "data-pools/42"}, store.Page{Limit: 100})
				if err != nil {
					t.Fatal(err)
				}
				for _, ev := range evs {
					if ev.Detail["reason"] == "missing_permission" && ev.Detail["method"] == "POST" && ev.Detail["path"] == push42 && ev.IP == "127.0.0.1" {
						return true
					}
				}
				return false
			})
		})
	}
}

// Forward authentication through the real server: a trusted peer is
// decided for with the real guard, Envoy's shape too; a client that asks
// Gatehouse itself, with whatever headers, is refused 403; a path a
// ServeMux would clean is refused, never redirected.
func TestForwardAuthTrustedPeersOnly(t *testing.T) {
	e := newForwardEnv(t)
	client := loopbackAlias(t, 3)
	trusted, untrusted := e.h.HTTP, e.h.ClientFrom(t, client)
	const push42 = "/integration/api/pools/42/push"
	for _, tc := range []struct {
		name   string
		c      *http.Client
		method string
		path   string
		auth   string
		extra  map[string]string
		status int
		want   string // in the body
	}{
		{"forward from a trusted proxy", trusted, "GET", "/api/authz/forward", "Bearer " + e.pusher, spoofed("42"), 200, ""},
		{"forward from a client", untrusted, "GET", "/api/authz/forward", "Bearer " + e.pusher, spoofed("42"), 403, "--trusted-proxies"},
		{"forward with the other pool", trusted, "GET", "/api/authz/forward", "Bearer " + e.pusher, spoofed("7"), 403, "may not push data-pools/7"},
		{"Envoy from a trusted proxy", trusted, "POST", "/api/authz/envoy" + push42, "Bearer " + e.pusher, nil, 200, ""},
		{"Envoy, a missing scope", trusted, "POST", "/api/authz/envoy" + push42, "Bearer " + e.reader, nil, 403, "insufficient_scope"},
		{"Envoy, no credential", trusted, "POST", "/api/authz/envoy" + push42, "", nil, 401, "unauthorized"},
		{"Envoy from a client", untrusted, "POST", "/api/authz/envoy" + push42, "Bearer " + e.pusher, nil, 403, "--trusted-proxies"},
		{"Envoy, a path to clean", trusted, "POST", "/api/authz/envoy/integration/api/x/../pools/42/push", "Bearer " + e.pusher, nil, 403, "not segments"},
		{"Envoy, an empty segment", trusted, "POST", "/api/authz/envoy//integration/api/pools/42/push", "Bearer " + e.pusher, nil, 403, "empty segment"},
		{"Envoy, the prefix alone", trusted, "GET", "/api/authz/envoy", "Bearer " + e.pusher, nil, 403, "no route matches GET /"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := sendVia(t, tc.c, e.h.Addr, "acme.gatehouse.test", tc.method, tc.path, tc.auth, tc.extra)
			if a.status != tc.status || !strings.Contains(a.body, tc.want) || a.header.Get("Location") != "" {
				t.Fatalf("%d %v %s, want %d with %q", a.status, a.header, a.body, tc.status, tc.want)
			}
			if tc.status == 200 && (a.body != "" || a.header.Get("X-Gatehouse-Principal") != "client:"+e.pusherID || a.header.Get("X-Gatehouse-Team") != "acme") {
				t.Errorf("allowed: %v %q", a.header, a.body)
			}
		})
	}
}
