package logbuf_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gatehouse/gatehouse/internal/logbuf"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
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

func TestWriter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out lockedBuffer
		w := logbuf.New(&out)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); w.Run(ctx) }()

		w.Write([]byte("line 1\n"))
		if out.String() != "" {
			t.Fatal("a line was written through at once")
		}
		<-time.After(logbuf.Interval + time.Millisecond) // fake time in the bubble
		synctest.Wait()
		if out.String() != "line 1\n" {
			t.Fatalf("after one interval: %q", out.String())
		}

		// A full buffer goes out at once; lines written concurrently stay whole.
		var wg sync.WaitGroup
		line := strings.Repeat("x", 99) + "\n"
		for range 8 {
			wg.Go(func() {
				for range logbuf.Size / 100 / 4 {
					w.Write([]byte(line))
				}
			})
		}
		wg.Wait()
		if len(out.String()) <= len("line 1\n") {
			t.Error("a full buffer was not written")
		}
		w.Write([]byte("last\n"))
		cancel()
		<-done
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		got := out.String()
		for _, l := range strings.Split(strings.TrimSuffix(got, "\n"), "\n")[1:] {
			if l != strings.TrimSuffix(line, "\n") && l != "last" {
				t.Fatalf("a torn line: %q", l)
			}
		}
		if !strings.HasSuffix(got, "last\n") {
			t.Error("Flush did not write the rest")
		}
	})
}
