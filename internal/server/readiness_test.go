package server_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// probeCounter counts the store's write probes.
type probeCounter struct {
	store.Store
	n atomic.Int32
}

func (p *probeCounter) Probe(ctx context.Context) error {
	p.n.Add(1)
	return p.Store.Probe(ctx)
}

// /readyz is 200 only while every named check holds; a 503 names each
// failing check with its reason. The database write probe runs at most
// once per ProbeInterval, however often /readyz is asked.
func TestReadinessChecks(t *testing.T) {
	var probes *probeCounter
	h := servertest.Start(t, servertest.HandlerOnly(), servertest.WithTeams("acme"),
		servertest.WithStore(func(db store.Store) store.Store { probes = &probeCounter{Store: db}; return probes }))
	var spoolErr atomic.Pointer[error]
	h.AddReadinessCheck(server.ReadinessCheck{Name: "audit spool", Check: func(context.Context) error {
		if p := spoolErr.Load(); p != nil {
			return *p
		}
		return nil
	}})
	readyz := func() (int, map[string]any, http.Header) {
		rec, body := do(h.Handler(), "GET", "127.0.0.1", "/readyz", nil)
		return rec.Code, body, rec.Header()
	}

	for range 10 {
		if code, body, _ := readyz(); code != http.StatusOK {
			t.Fatalf("readyz = %d %v, want 200", code, body)
		}
	}
	if n := probes.n.Load(); n != 1 {
		t.Errorf("%d write probes for 10 readiness requests within %v, want 1", n, server.ProbeInterval)
	}
	h.Clock.Advance(server.ProbeInterval)
	readyz()
	if n := probes.n.Load(); n != 2 {
		t.Errorf("%d write probes after %v, want 2", n, server.ProbeInterval)
	}

	full := errors.New("the audit spool is past its cap (1 GiB)")
	spoolErr.Store(&full)
	code, body, hdr := readyz()
	want := map[string]any{
		"status": "not_ready", "error": "temporarily_unavailable",
		"error_description": "audit spool: the audit spool is past its cap (1 GiB)",
		"failing_checks":    map[string]any{"audit spool": "the audit spool is past its cap (1 GiB)"},
	}
	if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" {
		t.Errorf("readyz with a failing check = %d, Retry-After %q; want 503 with Retry-After", code, hdr.Get("Retry-After"))
	}
	if diff := cmp.Diff(want, body); diff != "" {
		t.Errorf("readyz with a failing check (-want +got):\n%s", diff)
	}

	spoolErr.Store(nil)
	if code, body, _ := readyz(); code != http.StatusOK {
		t.Errorf("readyz once the check holds again = %d %v, want 200", code, body)
	}
}

// A check that does not answer holds no request longer than
// ReadinessTimeout: /readyz answers 503 saying so, and requests meanwhile
// share the one run under way.
func TestReadinessCheckThatHangs(t *testing.T) {
	h := servertest.Start(t, servertest.HandlerOnly(), servertest.WithTeams("acme"))
	release := make(chan struct{})
	defer close(release)
	var runs atomic.Int32
	h.AddReadinessCheck(server.ReadinessCheck{Name: "stuck", Check: func(context.Context) error {
		runs.Add(1)
		<-release // ignores its context
		return nil
	}})
	for range 2 {
		began := time.Now()
		rec, body := do(h.Handler(), "GET", "127.0.0.1", "/readyz", nil)
		if took := time.Since(began); took > server.ReadinessTimeout+time.Second {
			t.Errorf("readyz took %v with a check that hangs, want about %v", took, server.ReadinessTimeout)
		}
		checks, _ := body["failing_checks"].(map[string]any)
		if rec.Code != http.StatusServiceUnavailable || checks["stuck"] != "no answer within 2s" {
			t.Errorf("readyz with a check that hangs = %d %v", rec.Code, body)
		}
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("the check ran %d times while its first run hung, want 1", n)
	}
}
