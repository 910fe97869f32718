package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/gateway"
	"github.com/gatehouse/gatehouse/internal/poll"
)

// oneRoute is a route file with one GET route at path to upstream.
func oneRoute(path, upstream string) string {
	return fmt.Sprintf(`
routes:
  - match: "GET %s"
    scope: integration.data-pools
    permission: "read data-pools"
    upstream: %s
`, path, upstream)
}

// get returns the status and body of GET url.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestReload(t *testing.T) {
	a, b := newRecorder(t, "a"), newRecorder(t, "b")
	dir := t.TempDir()
	path := writeRoutes(t, dir, oneRoute("/integration/a", a.URL))
	g, err := gateway.New(gateway.Options{Path: path, Scopes: catalog(t), Auth: allowAll()})
	if err != nil {
		t.Fatal(err)
	}
	gw := httptest.NewServer(g)
	t.Cleanup(gw.Close)

	if code, body := get(t, gw.URL+"/integration/a"); code != http.StatusOK || body != "upstream a" {
		t.Fatalf("before reload: %d %q", code, body)
	}

	// A new file swaps the routes.
	writeRoutes(t, dir, oneRoute("/integration/b", b.URL))
	if err := g.Reload(path); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if code, _ := get(t, gw.URL+"/integration/a"); code != http.StatusNotFound {
		t.Errorf("old route after reload: %d, want 404", code)
	}
	if code, body := get(t, gw.URL+"/integration/b"); code != http.StatusOK || body != "upstream b" {
		t.Errorf("new route after reload: %d %q", code, body)
	}

	// A bad file keeps them, and says why.
	writeRoutes(t, dir, oneRoute("/integration/c", "ftp://nowhere"))
	err = g.Reload(path)
	if err == nil || !strings.Contains(err.Error(), `upstream "ftp://nowhere"`) {
		t.Errorf("Reload of a bad file = %v, want the problem", err)
	}
	if code, body := get(t, gw.URL+"/integration/b"); code != http.StatusOK || body != "upstream b" {
		t.Errorf("after a failed reload: %d %q, want the routes kept", code, body)
	}
	if r := g.Table().Routes(); len(r) != 1 || r[0].Match != "GET /integration/b" {
		t.Errorf("Table after a failed reload: %+v", r)
	}
	if err := g.Reload(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("Reload of a missing file succeeded")
	}
}

// TestReloadInFlight checks that a request in flight during a reload
// finishes on the routes it started with, even though they are gone.
func TestReloadInFlight(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "begin ")
		http.NewResponseController(w).Flush()
		close(started)
		<-release
		io.WriteString(w, "end")
	}))
	t.Cleanup(slow.Close)
	other := newRecorder(t, "other")

	dir := t.TempDir()
	path := writeRoutes(t, dir, oneRoute("/integration/slow", slow.URL))
	g, err := gateway.New(gateway.Options{Path: path, Scopes: catalog(t), Auth: allowAll()})
	if err != nil {
		t.Fatal(err)
	}
	gw := httptest.NewServer(g)
	t.Cleanup(gw.Close)

	type answer struct {
		code int
		body string
	}
	done := make(chan answer, 1)
	go func() {
		resp, err := http.Get(gw.URL + "/integration/slow")
		if err != nil {
			done <- answer{body: err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		done <- answer{resp.StatusCode, string(b)}
	}()
	<-started

	writeRoutes(t, dir, oneRoute("/integration/other", other.URL))
	if err := g.Reload(path); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if code, _ := get(t, gw.URL+"/integration/slow"); code != http.StatusNotFound {
		t.Errorf("a new request to the removed route: %d, want 404", code)
	}
	close(release)
	if a := <-done; a.code != http.StatusOK || a.body != "begin end" {
		t.Errorf("the request in flight got %d %q, want 200 \"begin end\"", a.code, a.body)
	}
}

// syncBuffer is a log sink that the test reads while the watcher writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// eventually waits up to 5 s for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	poll.Must(t, 5*time.Second, what, cond)
}

func TestWatchLogs(t *testing.T) {
	up := newRecorder(t, "up")
	dir := t.TempDir()
	path := writeRoutes(t, dir, oneRoute("/integration/a", up.URL))
	var logs syncBuffer
	g, err := gateway.New(gateway.Options{Path: path, Scopes: catalog(t), Auth: allowAll(), Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	sig := make(chan os.Signal)
	stopped := make(chan struct{})
	go func() {
		g.Watch(ctx, path, sig)
		close(stopped)
	}()

	writeRoutes(t, dir, oneRoute("/integration/b", up.URL))
	sig <- syscall.SIGHUP
	eventually(t, "the reload", func() bool { return strings.Contains(logs.String(), "gateway routes reloaded") })
	if m := g.Table().Routes()[0].Match; m != "GET /integration/b" {
		t.Errorf("route %q after SIGHUP, want the new file's", m)
	}

	writeRoutes(t, dir, "routes: [\n")
	sig <- syscall.SIGHUP
	eventually(t, "the failure", func() bool { return strings.Contains(logs.String(), "gateway routes not reloaded") })
	if m := g.Table().Routes()[0].Match; m != "GET /integration/b" {
		t.Errorf("route %q after a bad file, want the old routes kept", m)
	}
	if !strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("the failure is not logged as an error:\n%s", logs.String())
	}

	cancel()
	<-stopped
}
