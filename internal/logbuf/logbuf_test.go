package logbuf_test

import (
	"bytes"
	"context"
	"fmt"
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
		synctest.Wait() // Run writes the full buffers
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

// gate is a writer whose writes wait until the test opens it.
type gate struct {
	lockedBuffer
	open    chan struct{}
	entered chan struct{}
}

func (g *gate) Write(p []byte) (int, error) {
	g.entered <- struct{}{}
	<-g.open
	return g.lockedBuffer.Write(p)
}

// TestWriteDoesNotWaitForTheDisk: while Run writes one full buffer to a
// writer that hangs, Writes go on into the other without waiting; only
// when that one is full too does a Write wait. Nothing is lost or
// reordered.
func TestWriteDoesNotWaitForTheDisk(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gate{open: make(chan struct{}), entered: make(chan struct{}, 16)}
		w := logbuf.New(g)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); w.Run(ctx) }()
		synctest.Wait()

		line := func(i int) []byte { return []byte(fmt.Sprintf("%08d%s\n", i, strings.Repeat("x", 90))) }
		perBuffer := logbuf.Size / 99
		n := 0
		for range perBuffer + 1 { // the first buffer, and one line that hands it over
			w.Write(line(n))
			n++
		}
		<-g.entered // Run is writing the first buffer, and hangs
		for range perBuffer - 1 {
			w.Write(line(n)) // fills the second buffer: must not wait
			n++
		}
		blocked := make(chan struct{})
		go func() {
			w.Write(line(n)) // both full: waits for the first write
			close(blocked)
		}()
		synctest.Wait()
		select {
		case <-blocked:
			t.Fatal("a Write with both buffers full did not wait")
		default:
		}
		close(g.open)
		<-blocked
		n++
		cancel()
		<-done
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		got := strings.Split(strings.TrimSuffix(g.String(), "\n"), "\n")
		if len(got) != n {
			t.Fatalf("%d lines written, want %d", len(got), n)
		}
		for i, l := range got {
			if want := string(line(i)); l+"\n" != want {
				t.Fatalf("line %d: %q, want %q", i, l, want)
			}
		}
	})
}
