package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/poll"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

func newServer(t *testing.T) (*server.Server, store.Store) {
	t.Helper()
	h := servertest.Start(t, servertest.WithTeams("acme"), servertest.HandlerOnly(), servertest.WithWallClock(),
		servertest.WithConfig(func(c *config.Config) { c.Scheme = config.Default().Scheme; c.MaxBodyBytes = 1024 }))
	return h.Server, h.DB
}

func do(h http.Handler, method, host, path string, body io.Reader, hdr ...string) (*httptest.ResponseRecorder, map[string]any) {
	req := httptest.NewRequest(method, "http://"+host+path, body)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var m map[string]any
	json.Unmarshal(rec.Body.Bytes(), &m)
	return rec, m
}

func TestRouting(t *testing.T) {
	srv, _ := newServer(t)
	for _, tc := range []struct {
		name, method, host, path string
		code                     int
		body                     map[string]any
	}{
		{"healthz on a team", "GET", "acme.gatehouse.test", "/healthz", 200, map[string]any{"status": "ok"}},
		{"healthz on a bare IP", "GET", "10.0.0.1:8080", "/healthz", 200, map[string]any{"status": "ok"}},
		{"readyz", "GET", "127.0.0.1", "/readyz", 200, map[string]any{"status": "ready", "database": "sqlite"}},
		{"unknown team", "GET", "other.gatehouse.test", "/", 404,
			map[string]any{"error": "unknown_team", "error_description": "no team is served at this host"}},
		{"not a team host", "GET", "gatehouse.test", "/x", 404,
			map[string]any{"error": "unknown_team", "error_description": "no team is served at this host"}},
		{"foreign domain", "GET", "acme.evil.test", "/x", 404,
			map[string]any{"error": "unknown_team", "error_description": "no team is served at this host"}},
		{"nested subdomain", "GET", "x.acme.gatehouse.test", "/x", 404,
			map[string]any{"error": "unknown_team", "error_description": "no team is served at this host"}},
		{"unknown path of a team", "GET", "acme.gatehouse.test", "/nope", 404,
			map[string]any{"error": "not_found", "error_description": "no such endpoint: GET /nope"}},
		{"upper-case host", "GET", "ACME.Gatehouse.Test", "/nope", 404,
			map[string]any{"error": "not_found", "error_description": "no such endpoint: GET /nope"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, body := do(srv.Handler(), tc.method, tc.host, tc.path, nil)
			if rec.Code != tc.code {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if diff := cmp.Diff(tc.body, body); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			if rec.Header().Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id")
			}
		})
	}
}

func TestRequestID(t *testing.T) {
	srv, _ := newServer(t)
	rec, _ := do(srv.Handler(), "GET", "x", "/healthz", nil, "X-Request-Id", "abc-123")
	if got := rec.Header().Get("X-Request-Id"); got != "abc-123" {
		t.Errorf("plain caller ID not kept: %q", got)
	}
	rec, _ = do(srv.Handler(), "GET", "x", "/healthz", nil, "X-Request-Id", "evil\"id with spaces")
	if got := rec.Header().Get("X-Request-Id"); got == "" || strings.ContainsAny(got, "\" ") {
		t.Errorf("unsafe caller ID kept: %q", got)
	}
}

func TestReadyzWithoutDatabase(t *testing.T) {
	srv, st := newServer(t)
	st.Close()
	rec, body := do(srv.Handler(), "GET", "x", "/readyz", nil)
	if rec.Code != http.StatusServiceUnavailable || body["error"] != "temporarily_unavailable" || body["status"] != "not_ready" {
		t.Fatalf("readyz with a closed database = %d %v", rec.Code, body)
	}
	if rec.Header().Get("Retry-After") == "" {
		t.Error("readyz 503 without Retry-After")
	}
	if checks, _ := body["failing_checks"].(map[string]any); checks["database"] == nil {
		t.Errorf("readyz 503 does not name the database check: %v", body)
	}
}

// A panic in a handler is a JSON 500 with the request ID, never a stack.
func TestPanicRecovery(t *testing.T) {
	srv, _ := newServer(t)
	srv.SetTeamHandler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom at secret place") }))
	rec, body := do(srv.Handler(), "GET", "acme.gatehouse.test", "/", nil)
	if rec.Code != 500 || body["error"] != "server_error" {
		t.Fatalf("got %d %v", rec.Code, body)
	}
	if strings.Contains(rec.Body.String(), "boom") || strings.Contains(rec.Body.String(), "goroutine") {
		t.Fatalf("panic detail leaked: %s", rec.Body)
	}
	if !strings.Contains(body["error_description"].(string), rec.Header().Get("X-Request-Id")) {
		t.Errorf("error does not name the request ID")
	}
}

// Bodies over --max-body-bytes fail to read.
func TestBodyLimit(t *testing.T) {
	srv, _ := newServer(t)
	srv.SetTeamHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			return
		}
		w.WriteHeader(200)
	}))
	for _, tc := range []struct {
		size int
		code int
	}{{1024, 200}, {1025, 413}} {
		rec, _ := do(srv.Handler(), "POST", "acme.gatehouse.test", "/", strings.NewReader(strings.Repeat("x", tc.size)))
		if rec.Code != tc.code {
			t.Errorf("body of %d bytes: %d, want %d", tc.size, rec.Code, tc.code)
		}
	}
}

// Run drains requests in flight on shutdown and serves metrics on the
// ops listener.
func TestRunDrainsAndServesMetrics(t *testing.T) {
	srv, _ := newServer(t)
	started, release := make(chan struct{}), make(chan struct{})
	srv.SetTeamHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release // until shutdown has begun
		io.WriteString(w, "finished")
	}))
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ops, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- srv.Run(ctx, ln, ops) }()

	// A request to be counted in the metrics.
	resp, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = http.Get("http://" + ops.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), `gatehouse_http_requests_total{code="200",method="GET",route="GET /healthz"} 1`) {
		t.Errorf("metrics lack the request:\n%s", metrics)
	}

	// A slow request in flight when shutdown begins still completes.
	got := make(chan string, 1)
	go func() {
		req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/", nil)
		req.Host = "acme.gatehouse.test"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-started
	cancel()
	// Shutdown begins by closing the listener; the request is still in
	// flight then, and finishes only now.
	poll.Must(t, 5*time.Second, "shutdown to close the listener", func() bool {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	close(release)
	if body := <-got; body != "finished" {
		t.Fatalf("request in flight at shutdown got %q", body)
	}
	if err := <-runErr; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		t.Fatal("server still accepts after shutdown")
	}
}

// GET / of a team's host sends a browser to its profile (and from there,
// without a session, to sign in); API clients and other methods get the
// JSON 404 of any unknown path.
func TestTeamRoot(t *testing.T) {
	srv, _ := newServer(t)
	const browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	rec, _ := do(srv.Handler(), "GET", "acme.gatehouse.test", "/", nil, "Accept", browser)
	if rec.Code != http.StatusFound || rec.Header().Get("Location") != "/profile" {
		t.Errorf("browser GET / = %d to %q, want 302 to /profile", rec.Code, rec.Header().Get("Location"))
	}
	for _, c := range []struct{ method, accept string }{
		{"GET", ""}, {"GET", "*/*"}, {"GET", "application/json"}, {"POST", browser}, {"HEAD", "application/json"},
	} {
		rec, body := do(srv.Handler(), c.method, "acme.gatehouse.test", "/", nil, "Accept", c.accept)
		if rec.Code != http.StatusNotFound || (c.method != "HEAD" && body["error"] != "not_found") {
			t.Errorf("%s / with Accept %q = %d %v, want 404 not_found", c.method, c.accept, rec.Code, body)
		}
	}
	if rec, body := do(srv.Handler(), "GET", "nope.gatehouse.test", "/", nil, "Accept", browser); rec.Code != 404 || body["error"] != "unknown_team" {
		t.Errorf("GET / of an unknown team = %d %v, want 404 unknown_team", rec.Code, body)
	}
}
