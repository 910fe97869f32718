package e2e

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/poll"
)

// On SIGTERM the binary turns /readyz to 503 at once, keeps serving for
// --lame-duck, then drains and exits 0 within --shutdown-timeout.
func TestSIGTERMLameDuck(t *testing.T) {
	dataDir := t.TempDir()
	n := start(t, cleanEnv(), "--dev", "--data-dir", dataDir, "--lame-duck", "1s", "--shutdown-timeout", "5s")
	host := fmt.Sprintf("acme.localhost:%d", n.port)
	poll.Must(t, 10*time.Second, "the server to be ready", func() bool {
		code, _, err := n.get(host, "/readyz")
		return err == nil && code == 200
	})

	n.cmd.Process.Signal(syscall.SIGTERM)
	began := time.Now()
	poll.Must(t, 5*time.Second, "/readyz to answer 503 shutting_down", func() bool {
		code, body, err := n.get(host, "/readyz")
		return err == nil && code == 503 && body["status"] == "shutting_down"
	})
	if code, _, err := n.get(host, "/healthz"); err != nil || code != 200 {
		t.Errorf("healthz during the lame-duck period: %d %v", code, err)
	}
	select {
	case err := <-n.done:
		n.done <- err
		if err != nil {
			t.Fatalf("serve exited with %v after SIGTERM", err)
		}
		if took := time.Since(began); took < time.Second {
			t.Errorf("serve exited %v after SIGTERM, before its lame-duck period of 1s", took)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not exit within 10 s of SIGTERM (--shutdown-timeout 5s)")
	}
}
