package secret_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/secret"
)

// A full line refuses at once; the checks in it run no more than Running
// at a time; a place comes free with Leave.
func TestPasswordQueue(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan string, 10)
	var running, most atomic.Int32
	q := secret.NewPasswordQueue(secret.PasswordQueueOptions{Running: 1, Waiting: 1, Verify: func(pw, encoded string) (bool, error) {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		entered <- encoded
		<-release
		return pw == "right", nil
	}})

	results := make(chan bool, 2)
	var wg sync.WaitGroup
	for _, pw := range []string{"right", "wrong"} {
		if err := q.Enter(); err != nil {
			t.Fatalf("Enter with room: %v", err)
		}
		wg.Go(func() {
			defer q.Leave()
			ok, err := q.Verify(context.Background(), pw, "$argon2id$stored")
			if err != nil {
				t.Errorf("Verify: %v", err)
			}
			results <- ok
		})
	}
	<-entered // one runs, the other waits for its turn
	if err := q.Enter(); !errors.Is(err, secret.ErrQueueFull) {
		t.Fatalf("Enter with one running and one waiting: %v, want ErrQueueFull", err)
	}
	close(release)
	wg.Wait()
	close(results)
	n := 0
	for ok := range results {
		if ok {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d checks passed, want 1 (the right password)", n)
	}
	if m := most.Load(); m != 1 {
		t.Errorf("%d checks ran at once, want at most 1", m)
	}
	if err := q.Enter(); err != nil {
		t.Fatalf("Enter once the line emptied: %v", err)
	}
	q.Leave()
}

// An unknown user's check does the work of a real one, against a hash no
// password matches; a caller who gives up while waiting checks nothing.
func TestPasswordQueueDummyAndCancel(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 10)
	var got []string
	var mu sync.Mutex
	q := secret.NewPasswordQueue(secret.PasswordQueueOptions{Running: 1, Verify: func(pw, encoded string) (bool, error) {
		mu.Lock()
		got = append(got, encoded)
		mu.Unlock()
		entered <- struct{}{}
		<-release
		return true, nil
	}})
	done := make(chan bool)
	go func() {
		ok, _ := q.Verify(context.Background(), "pw", "")
		done <- ok
	}()
	<-entered // the only turn is taken
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := q.Verify(ctx, "pw", "$argon2id$other"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Verify while the only turn is taken: %v, want the context's error", err)
	}
	close(release)
	if <-done {
		t.Error("the dummy check passed")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0] != secret.DummyHash() {
		t.Errorf("checked against %q, want only the dummy hash", got)
	}
}
