//go:build linux

package auditlog_test

import (
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/faulttest"
	"github.com/gatehouse/gatehouse/internal/poll"
	"github.com/gatehouse/gatehouse/internal/store"
)

// A full disk makes Add fail as unavailable and Health say so; when space
// returns, both heal without a restart and nothing acknowledged is lost.
// The disk is a small tmpfs (the test runs as root in CI).
func TestFullDisk(t *testing.T) {
	mnt := faulttest.Tmpfs(t, 512<<10)
	st := &memStore{}
	b := open(t, filepath.Join(mnt, "spool"), st)
	run(t, b)
	acked := 0
	for i := range 20 {
		if err := b.Add(event(i)); err != nil {
			t.Fatal(err)
		}
		acked++
	}
	free := faulttest.Fill(t, mnt)

	var err error
	for i := acked; err == nil && i < acked+100_000; i++ {
		if err = b.Add(event(i)); err == nil {
			acked++ // the last free bytes
		}
	}
	if !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Add on a full disk = %v, want ErrUnavailable naming ENOSPC", err)
	}
	if h := b.Health(); h == nil || !strings.Contains(h.Error(), "no space") {
		t.Fatalf("Health on a full disk = %v", h)
	}
	free()
	poll.Must(t, 5*time.Second, "Health to heal", func() bool { return b.Health() == nil })
	if err := b.Add(event(acked)); err != nil {
		t.Fatalf("Add once space returned: %v", err)
	}
	acked++
	poll.Must(t, 10*time.Second, "every acknowledged event stored", func() bool { return len(st.stored()) == acked })
	if st.dups != 0 {
		t.Errorf("%d duplicates", st.dups)
	}
}
