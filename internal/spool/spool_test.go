package spool_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/poll"
	"github.com/gatehouse/gatehouse/internal/spool"
)

func open(t *testing.T, dir string, tweak ...func(*spool.Options)) *spool.Spool {
	t.Helper()
	// A long wait: a slow fsync on a busy machine fails no test but the
	// one about the wait.
	o := spool.Options{Dir: dir, MaxBytes: 1 << 30, Wait: 10 * time.Second, Log: slog.New(slog.NewTextHandler(t.Output(), nil))}
	for _, f := range tweak {
		f(&o)
	}
	s, err := spool.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func rec(i int) []byte { return fmt.Appendf(nil, "record %04d %s", i, bytes.Repeat([]byte{'x'}, i%50)) }

// readAll reads every durable record from the checkpoint on, without
// committing; it returns copies of the records and their keys.
func readAll(t *testing.T, s *spool.Spool) (recs []string, keys []string, end spool.Position) {
	t.Helper()
	pos := s.Checkpoint()
	for {
		rs, next, err := s.ReadNow(pos, 7)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) == 0 && next == pos {
			return recs, keys, pos
		}
		for _, r := range rs {
			recs = append(recs, string(r.Data))
			keys = append(keys, r.Key)
		}
		pos = next
	}
}

func TestAppendReadReplayInOrder(t *testing.T) {
	dir := t.TempDir()
	// Small segments, so that reading crosses segment files.
	small := func(o *spool.Options) { o.SegmentBytes = 1 << 10 }
	s := open(t, dir, small)
	var want []string
	for i := range 200 {
		if err := s.Append(rec(i)); err != nil {
			t.Fatal(err)
		}
		want = append(want, string(rec(i)))
	}
	if n := len(s.Segments()); n < 5 {
		t.Fatalf("%d segments of 1 KiB for 200 records", n)
	}
	got, keys, _ := readAll(t, s)
	if !slicesEqual(got, want) {
		t.Fatalf("read %d records, not the 200 appended in order", len(got))
	}
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k] {
			t.Fatalf("key %s twice", k)
		}
		seen[k] = true
	}

	// Replayed after a restart without a commit: the same records, the
	// same keys.
	s.Close()
	s = open(t, dir, small)
	got2, keys2, _ := readAll(t, s)
	if !slicesEqual(got2, want) || !slicesEqual(keys2, keys) {
		t.Fatal("a restart did not replay the same records under the same keys")
	}

	// Committed half way: a restart replays the rest only, and the
	// segments before the checkpoint are gone.
	pos := s.Checkpoint()
	n := 0
	for n < 100 {
		rs, next, err := s.ReadNow(pos, 100-n)
		if err != nil {
			t.Fatal(err)
		}
		n += len(rs)
		pos = next
	}
	before := len(s.Segments())
	if err := s.Commit(pos); err != nil {
		t.Fatal(err)
	}
	if after := len(s.Segments()); after >= before {
		t.Errorf("commit half way kept every segment (%d, was %d)", after, before)
	}
	s.Close()
	s = open(t, dir, small)
	got3, keys3, _ := readAll(t, s)
	if !slicesEqual(got3, want[100:]) || !slicesEqual(keys3, keys[100:]) {
		t.Fatalf("after a commit of 100, a restart replays %d records", len(got3))
	}
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Appends that arrive while a batch is being written go together in the
// next write: one fsync for all of them.
func TestGroupCommit(t *testing.T) {
	s := open(t, t.TempDir(), func(o *spool.Options) { o.Wait = 10 * time.Second })
	release := make(chan struct{})
	var held atomic.Bool
	s.SetBeforeWrite(func() {
		if held.CompareAndSwap(false, true) {
			<-release
		}
	})
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	wg.Go(func() { errs <- s.Append(rec(0)) })
	// The first batch is being written (held); 99 more join the next.
	poll.Must(t, 5*time.Second, "the first write", func() bool { return held.Load() })
	for i := 1; i < 100; i++ {
		wg.Go(func() { errs <- s.Append(rec(i)) })
	}
	poll.Must(t, 5*time.Second, "99 appends waiting", func() bool { return s.Pending() == 99 })
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if w := s.Writes(); w != 2 {
		t.Errorf("100 appends took %d writes, want 2 (1, then 99 together)", w)
	}
	if got, _, _ := readAll(t, s); len(got) != 100 {
		t.Errorf("%d records durable, want 100", len(got))
	}
}

// An Append whose record is not durable within the wait returns
// ErrTimeout on time; a record not yet being written is withdrawn.
func TestAppendWaitsAtMostWait(t *testing.T) {
	const wait = 50 * time.Millisecond
	s := open(t, t.TempDir(), func(o *spool.Options) { o.Wait = wait })
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	s.SetBeforeWrite(func() { once.Do(func() { close(entered); <-release }) })

	var wg sync.WaitGroup
	var errA, errB error
	var tookA, tookB time.Duration
	wg.Go(func() { t0 := time.Now(); errA = s.Append([]byte("A")); tookA = time.Since(t0) })
	<-entered // A is being written
	wg.Go(func() { t0 := time.Now(); errB = s.Append([]byte("B")); tookB = time.Since(t0) })
	wg.Wait()
	for name, c := range map[string]struct {
		err  error
		took time.Duration
	}{"A": {errA, tookA}, "B": {errB, tookB}} {
		if !errors.Is(c.err, spool.ErrTimeout) {
			t.Errorf("Append(%s) = %v, want ErrTimeout", name, c.err)
		}
		if c.took > wait+40*time.Millisecond {
			t.Errorf("Append(%s) took %v, the wait is %v", name, c.took, wait)
		}
	}
	close(release)
	// A was being written: it became durable. B was withdrawn.
	if err := s.Append([]byte("C")); err != nil {
		t.Fatal(err)
	}
	got, _, _ := readAll(t, s)
	if !slicesEqual(got, []string{"A", "C"}) {
		t.Errorf("durable records %q, want [A C]", got)
	}
}

// A frame torn or damaged by a crash is found by its checksum and cut on
// open; the records before it are kept and appending goes on after them.
func TestOpenCutsTornTail(t *testing.T) {
	frame := func(payload []byte) []byte {
		f := make([]byte, 8+len(payload))
		binary.LittleEndian.PutUint32(f, uint32(len(payload)))
		copy(f[8:], payload)
		return f // CRC left zero: wrong
	}
	for _, tc := range []struct {
		name string
		tail func(file []byte) []byte // the file after a crash
	}{
		{"partial length", func(f []byte) []byte { return append(f, 0x10, 0) }},
		{"partial payload", func(f []byte) []byte { return append(f, frame([]byte("never acknowledged"))[:14]...) }},
		{"bad checksum", func(f []byte) []byte { return append(f, frame([]byte("bad crc"))...) }},
		{"zeros", func(f []byte) []byte { return append(f, make([]byte, 4096)...) }},
		{"huge length", func(f []byte) []byte { return append(f, 0xff, 0xff, 0xff, 0x7f, 1, 2, 3, 4, 5) }},
		{"last frame damaged", func(f []byte) []byte { f[len(f)-1] ^= 1; return f }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, dir)
			for i := range 3 {
				if err := s.Append(rec(i)); err != nil {
					t.Fatal(err)
				}
			}
			seq := s.Segments()[0]
			s.Close()
			path := spool.SegPath(dir, seq)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, tc.tail(b), 0o600); err != nil {
				t.Fatal(err)
			}
			s = open(t, dir)
			want := []string{string(rec(0)), string(rec(1)), string(rec(2))}
			if tc.name == "last frame damaged" {
				want = want[:2]
			}
			if err := s.Append([]byte("after")); err != nil {
				t.Fatal(err)
			}
			got, _, _ := readAll(t, s)
			if !slicesEqual(got, append(want, "after")) {
				t.Fatalf("records after repair: %q", got)
			}
			s.Close()
			// The repair is on disk: a third open finds the same.
			s = open(t, dir)
			if got, _, _ := readAll(t, s); !slicesEqual(got, append(want, "after")) {
				t.Fatalf("records after reopening: %q", got)
			}
		})
	}
}

// Past its cap the spool refuses appends, and says so in Health, until
// the reader has taken enough for the files to shrink below 90 %.
func TestCap(t *testing.T) {
	s := open(t, t.TempDir(), func(o *spool.Options) { o.MaxBytes = 64 << 10; o.SegmentBytes = 8 << 10 })
	payload := bytes.Repeat([]byte{'a'}, 1000)
	n := 0
	for ; ; n++ {
		err := s.Append(payload)
		if errors.Is(err, spool.ErrFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if n > 100 {
			t.Fatal("more than 100 KiB taken under a 64 KiB cap")
		}
	}
	if n < 50 {
		t.Fatalf("only %d KiB taken under a 64 KiB cap", n)
	}
	if err := s.Health(); !errors.Is(err, spool.ErrFull) {
		t.Fatalf("Health at the cap = %v, want ErrFull", err)
	}
	if size := s.Size(); size > 64<<10 {
		t.Fatalf("spool holds %d bytes, over its cap", size)
	}
	// Still full: taking a few records frees no segment.
	if err := s.Append([]byte("x")); !errors.Is(err, spool.ErrFull) {
		t.Fatalf("Append of a tiny record at the cap = %v, want ErrFull", err)
	}
	// The reader takes all: the segments go, and appends work again.
	_, _, end := readAll(t, s)
	if err := s.Commit(end); err != nil {
		t.Fatal(err)
	}
	if err := s.Health(); err != nil {
		t.Fatalf("Health after everything was taken = %v", err)
	}
	if err := s.Append(payload); err != nil {
		t.Fatal(err)
	}
}

// A second process cannot open a spool in use.
func TestLock(t *testing.T) {
	dir := t.TempDir()
	open(t, dir)
	if s, err := spool.Open(spool.Options{Dir: dir, MaxBytes: 1 << 20}); err == nil {
		s.Close()
		t.Fatal("a second Open of a spool in use succeeded")
	}
}

// Read waits for a record, and ends with its context or Close.
func TestReadWaits(t *testing.T) {
	s := open(t, t.TempDir())
	got := make(chan string, 1)
	go func() {
		rs, _, err := s.Read(context.Background(), s.Checkpoint(), 10)
		if err != nil || len(rs) != 1 {
			got <- fmt.Sprint(len(rs), err)
			return
		}
		got <- string(rs[0].Data)
	}()
	if err := s.Append([]byte("late")); err != nil {
		t.Fatal(err)
	}
	if g := <-got; g != "late" {
		t.Fatalf("Read got %s", g)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, _, end := readAll(t, s)
	if _, _, err := s.Read(ctx, end, 10); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Read with nothing to read = %v, want the context's end", err)
	}
	done := make(chan error, 1)
	go func() { _, _, err := s.Read(context.Background(), end, 10); done <- err }()
	s.Close()
	if err := <-done; !errors.Is(err, spool.ErrClosed) {
		t.Fatalf("Read across Close = %v, want ErrClosed", err)
	}
	if err := s.Append([]byte("x")); !errors.Is(err, spool.ErrClosed) {
		t.Fatalf("Append after Close = %v, want ErrClosed", err)
	}
}

// A segment made in a crash before its header was durable is removed (and
// the next one made in its place).
func TestOpenRemovesHalfMadeSegment(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	if err := s.Append([]byte("kept")); err != nil {
		t.Fatal(err)
	}
	seq := s.Segments()[0]
	s.Close()
	if err := os.WriteFile(spool.SegPath(dir, seq+1), []byte("GHSP"), 0o600); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	if got, _, _ := readAll(t, s); !slicesEqual(got, []string{"kept"}) {
		t.Fatalf("records %q", got)
	}
	if fi, err := os.Stat(spool.SegPath(dir, seq+1)); err != nil || fi.Size() < spool.HeaderSize {
		t.Fatalf("the half-made segment was not replaced by a new one: %v", err)
	}
	if err := s.Append([]byte("next")); err != nil {
		t.Fatal(err)
	}
}

// A spool restored from a backup gives new records keys that no record
// appended after the backup had: a consumer that stored those skips
// nothing new.
func TestRestoredSpoolMakesNewKeys(t *testing.T) {
	dir, backup := t.TempDir(), t.TempDir()
	s := open(t, dir)
	if err := s.Append([]byte("A")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	copyDir(t, dir, backup)
	s = open(t, dir)
	if err := s.Append([]byte("B")); err != nil {
		t.Fatal(err)
	}
	_, before, _ := readAll(t, s)
	s.Close()
	os.RemoveAll(dir)
	copyDir(t, backup, dir)
	s = open(t, dir)
	if err := s.Append([]byte("C")); err != nil {
		t.Fatal(err)
	}
	recs, after, _ := readAll(t, s)
	if !slicesEqual(recs, []string{"A", "C"}) {
		t.Fatalf("restored spool holds %q", recs)
	}
	if after[0] != before[0] {
		t.Errorf("A's key changed with the restore: %s, was %s", after[0], before[0])
	}
	if after[1] == before[1] {
		t.Errorf("C has B's key %s", after[1])
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(to, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// A lone caller's write goes at once; while several callers append at
// once, a write waits (within the linger) for as many records as callers
// waited, so that one write carries them.
func TestLinger(t *testing.T) {
	s := open(t, t.TempDir(), func(o *spool.Options) { o.Linger = 10 * time.Second; o.Wait = 5 * time.Second })
	for i := range 20 {
		start := time.Now()
		if err := s.Append(rec(i)); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("a lone caller's append took %v: it waited for others", took)
		}
	}
	// Four callers at once: one being written, three waiting.
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	s.SetBeforeWrite(func() { once.Do(func() { close(entered); <-release }) })
	var wg sync.WaitGroup
	wg.Go(func() { s.Append(rec(0)) })
	<-entered
	for i := range 3 {
		wg.Go(func() { s.Append(rec(i)) })
	}
	poll.Must(t, 5*time.Second, "three appends waiting", func() bool { return s.Pending() == 3 })
	writes := s.Writes()
	close(release)
	poll.Must(t, 5*time.Second, "the first write", func() bool { return s.Writes() > writes })
	// Four waited at once: the three left wait for a fourth.
	wg.Go(func() { s.Append(rec(3)) })
	wg.Wait()

	// Now three callers append: the write waits for a fourth.
	before := s.Writes()
	errs := make(chan error, 4)
	for i := range 3 {
		wg.Go(func() { errs <- s.Append(rec(i)) })
	}
	poll.Must(t, 5*time.Second, "three appends waiting", func() bool { return s.Pending() == 3 })
	if w := s.Writes(); w != before {
		t.Fatalf("%d writes before the fourth record came", w-before)
	}
	wg.Go(func() { errs <- s.Append(rec(3)) })
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if w := s.Writes() - before; w != 1 {
		t.Errorf("four appends took %d writes, want 1", w)
	}
}
