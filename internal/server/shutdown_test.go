package server_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/lifecycle"
	"github.com/gatehouse/gatehouse/internal/poll"
	"github.com/gatehouse/gatehouse/internal/servertest"
)

// running is a server run by the test itself (servertest.HandlerOnly
// builds it; Run is the test's), reached at addr.
type running struct {
	h      *servertest.Server
	addr   string
	http   *http.Client
	cancel context.CancelFunc
	done   chan error
}

func runServer(t *testing.T, h *servertest.Server) *running {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{h: h, addr: ln.Addr().String(), http: servertest.Dialer(t, ln.Addr().String(), nil),
		cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- h.Run(ctx, ln, nil) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(30 * time.Second):
			t.Error("Run did not return")
		}
	})
	return r
}

func (r *running) readyz(t *testing.T) (int, map[string]any) {
	t.Helper()
	resp, err := r.http.Get("http://127.0.0.1/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// accepts tells whether the listener still takes connections.
func (r *running) accepts() bool {
	c, err := net.Dial("tcp", r.addr)
	if err == nil {
		c.Close()
	}
	return err == nil
}

// On shutdown, /readyz turns 503 at once while the server keeps serving
// for the lame-duck period, answering with Connection: close; only then
// does the listener close, and Run ends cleanly.
func TestLameDuck(t *testing.T) {
	const lameDuck = 1500 * time.Millisecond
	h := servertest.Start(t, servertest.HandlerOnly(), servertest.WithTeams("acme"),
		servertest.WithConfig(func(c *config.Config) { c.LameDuck = lameDuck; c.ShutdownTimeout = 10 * time.Second }))
	r := runServer(t, h)
	if code, body := r.readyz(t); code != http.StatusOK {
		t.Fatalf("readyz before shutdown: %d %v", code, body)
	}

	r.cancel()
	began := time.Now()
	poll.Must(t, 5*time.Second, "/readyz to answer 503 shutting_down", func() bool {
		code, body := r.readyz(t)
		return code == http.StatusServiceUnavailable && body["status"] == "shutting_down"
	})
	// Still serving: a request succeeds, and its answer closes the
	// connection, so that the client comes back through its balancer.
	resp, err := r.http.Get(teamURL("acme", "/.well-known/oauth-authorization-server"))
	if err != nil {
		t.Fatalf("a request during the lame-duck period: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !resp.Close {
		t.Errorf("a request during the lame-duck period: %d, Connection: close %v; want 200 and close", resp.StatusCode, resp.Close)
	}
	if !r.accepts() {
		t.Fatal("the listener closed before the lame-duck period ended")
	}

	poll.Must(t, 10*time.Second, "the listener to close", func() bool { return !r.accepts() })
	if took := time.Since(began); took < lameDuck {
		t.Errorf("the listener closed %v after shutdown began, before the lame-duck period of %v", took, lameDuck)
	}
	if err := <-r.done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	r.done <- nil
}

// syncBuffer is a log destination for several goroutines.
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

// Run returns within the shutdown timeout, lame duck included, however a
// background component hangs: the component is abandoned and named. The
// exit is clean unless what it acknowledged may be lost.
func TestShutdownWithinTimeout(t *testing.T) {
	const timeout = 2 * time.Second
	for _, tc := range []struct {
		name       string
		bestEffort bool
	}{
		{"a component holding acknowledged work hangs", false},
		{"a best-effort component hangs", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs syncBuffer
			h := servertest.Start(t, servertest.HandlerOnly(), servertest.WithTeams("acme"),
				servertest.WithLog(slog.New(slog.NewJSONHandler(&logs, nil))),
				servertest.WithConfig(func(c *config.Config) { c.LameDuck = 500 * time.Millisecond; c.ShutdownTimeout = timeout }))
			release := make(chan struct{})
			t.Cleanup(func() { close(release) })
			hang := func(context.Context) { <-release }
			err := h.Services().Background.Add(lifecycle.Component{Name: "stuck writer", Run: hang,
				Flush: func(context.Context) error { return nil }, BestEffort: tc.bestEffort})
			if err != nil {
				t.Fatal(err)
			}
			r := runServer(t, h)
			r.readyz(t)

			r.cancel()
			began := time.Now()
			err = <-r.done
			r.done <- err
			if took := time.Since(began); took > timeout+500*time.Millisecond {
				t.Errorf("Run took %v to return, shutdown timeout %v", took, timeout)
			}
			if tc.bestEffort {
				if err != nil {
					t.Errorf("Run = %v, want nil: nothing acknowledged was lost", err)
				}
				if !strings.Contains(logs.String(), `"component":"stuck writer"`) {
					t.Errorf("the log does not name the abandoned component:\n%s", logs.String())
				}
			} else if err == nil || !strings.Contains(err.Error(), "stuck writer: did not stop") {
				t.Errorf("Run = %v, want an error naming the stuck component", err)
			}
		})
	}
}

// Run returns within the shutdown timeout, and without an error, while the
// database does not take writes: another process holds SQLite's write
// lock (for longer than the busy timeout's 10 s), with an audit event
// waiting in the spool to be shipped.
func TestShutdownWithinTimeoutWhileDatabaseLocked(t *testing.T) {
	const timeout = 2 * time.Second
	h := servertest.Start(t, servertest.HandlerOnly(), servertest.WithTeams("acme"),
		servertest.WithConfig(func(c *config.Config) { c.LameDuck = 0; c.ShutdownTimeout = timeout }))
	c, sec := h.Client(t, "acme", client.NewClient{Scopes: []string{"audit.log:read"}})
	h.Token(t, "acme", c.ID, sec) // the signing key exists
	r := runServer(t, h)

	db, err := sql.Open("sqlite", "file:"+h.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(context.Background(), `ROLLBACK`)
	h.Token(t, "acme", c.ID, sec) // its audit event waits for the lock

	r.cancel()
	began := time.Now()
	err = <-r.done
	r.done <- err
	if took := time.Since(began); took > timeout+500*time.Millisecond {
		t.Errorf("Run took %v to return with the database locked, shutdown timeout %v", took, timeout)
	}
	// The event waiting for the database is durable in the audit spool,
	// which ships it on the next start: nothing acknowledged is at risk,
	// so the shutdown is a clean one.
	if err != nil {
		t.Errorf("Run = %v, want nil: the spool holds every acknowledged event", err)
	}
}
