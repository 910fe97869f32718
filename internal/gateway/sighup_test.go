//go:build unix

package gateway_test

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/gateway"
	"github.com/gatehouse/gatehouse/internal/poll"
)

// TestWatchSIGHUP sends the process a real SIGHUP.
func TestWatchSIGHUP(t *testing.T) {
	// Catch SIGHUP in the test too, so that a signal sent before the
	// watcher listens does not kill the test binary.
	guard := make(chan os.Signal, 16)
	signal.Notify(guard, syscall.SIGHUP)
	defer signal.Stop(guard)

	up := newRecorder(t, "up")
	dir := t.TempDir()
	path := writeRoutes(t, dir, oneRoute("/integration/a", up.URL))
	g, err := gateway.New(gateway.Options{Path: path, Scopes: catalog(t), Auth: allowAll()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go g.WatchSIGHUP(ctx, path)

	writeRoutes(t, dir, oneRoute("/integration/b", up.URL))
	// Signal until the watcher, once it listens, has reloaded.
	_, ok := poll.Until(5*time.Second, func() bool {
		if g.Table().Routes()[0].Match == "GET /integration/b" {
			return true
		}
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		return false
	})
	if !ok {
		t.Fatal("SIGHUP did not reload the routes")
	}
}
