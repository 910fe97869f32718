package server_test

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/compose"
	"github.com/gatehouse/gatehouse/internal/poll"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// passwordGate holds every password check until released.
type passwordGate struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once
	calls   atomic.Int32
}

func newPasswordGate(t *testing.T) *passwordGate {
	g := &passwordGate{entered: make(chan struct{}, 100), release: make(chan struct{})}
	t.Cleanup(g.open)
	return g
}

func (g *passwordGate) open() { g.once.Do(func() { close(g.release) }) }

func (g *passwordGate) verify(pw, encoded string) (bool, error) {
	g.calls.Add(1)
	g.entered <- struct{}{}
	<-g.release
	return secret.VerifyPassword(pw, encoded)
}

// waitEntered waits until n checks are held.
func (g *passwordGate) waitEntered(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for range n {
		select {
		case <-g.entered:
		case <-deadline:
			t.Fatalf("fewer than %d password checks started", n)
		}
	}
}

// Finding 1: while the allowance is held by attempts under way (their
// passwords being checked), the right password is refused at once: units
// are reserved before the check, not counted after it. Once those attempts
// have failed, it is refused until the window ends.
func TestLoginAllowanceHeldByAttemptsUnderWay(t *testing.T) {
	g := newPasswordGate(t)
	e := flowEnvOn(t, servertest.Start(t, servertest.WithConfig(patientDatabase), servertest.WithServices(func(svc *compose.Services) {
		svc.Passwords = secret.NewPasswordQueue(secret.PasswordQueueOptions{Running: 10, Verify: g.verify})
	})))
	max := e.h.Config.LoginFailures
	var attempts []loginAttempt
	for range max {
		attempts = append(attempts, newLoginAttempt(t, e.browser(t), "acme", e.user.Email, "wrong password"))
	}
	right := newLoginAttempt(t, e.browser(t), "acme", e.user.Email, e.password)
	done := make(chan []page)
	go func() { done <- sendAll(t, attempts) }()
	g.waitEntered(t, max)

	if p := right.send(t, nil); p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") == "" {
		t.Fatalf("the right password while %d attempts hold the allowance: %d %s, want 429 with Retry-After", max, p.status, p.url)
	}
	g.open()
	for i, p := range <-done {
		if p.status != http.StatusBadRequest {
			t.Errorf("held attempt %d: %d, want 400", i, p.status)
		}
	}
	again := newLoginAttempt(t, e.browser(t), "acme", e.user.Email, e.password)
	if p := again.send(t, nil); p.status != http.StatusTooManyRequests {
		t.Fatalf("the right password after %d failures: %d %s, want 429", max, p.status, p.url)
	}
	if n := g.calls.Load(); int(n) != max {
		t.Errorf("%d passwords checked, want %d", n, max)
	}
	if h := logins(t, e.st, "acme", store.LoginFilter{Result: "success"}); len(h) != 0 {
		t.Errorf("signed in %d times", len(h))
	}
}

// Finding 1: the line of password checks is bounded. With one check
// running and one waiting, the next sign-in is answered 503 with
// Retry-After at once, without any work and without spending its
// allowance; it signs in once the line is free.
func TestLoginPasswordQueueFullAnswersAtOnce(t *testing.T) {
	g := newPasswordGate(t)
	var q *secret.PasswordQueue
	e := flowEnvOn(t, servertest.Start(t, servertest.WithConfig(patientDatabase), servertest.WithServices(func(svc *compose.Services) {
		q = secret.NewPasswordQueue(secret.PasswordQueueOptions{Running: 1, Waiting: 1, Verify: g.verify})
		svc.Passwords = q
	})))
	first := newLoginAttempt(t, e.browser(t), "acme", e.user.Email, "wrong password")
	second := newLoginAttempt(t, e.browser(t), "acme", "nobody@example.com", "guess")
	late := newLoginAttempt(t, e.browser(t), "acme", e.user.Email, e.password)

	answers := make(chan page, 2)
	go func() { answers <- first.send(t, nil) }()
	g.waitEntered(t, 1)
	go func() { answers <- second.send(t, nil) }()
	poll.Must(t, 10*time.Second, "the second check to wait in line", func() bool { return q.Held() == 2 })

	start := time.Now()
	p := late.send(t, nil)
	if p.status != http.StatusServiceUnavailable || p.header.Get("Retry-After") == "" {
		t.Fatalf("sign-in with the line full: %d %s, want 503 with Retry-After", p.status, p.url)
	}
	t.Logf("answered in %v with the line full", time.Since(start))
	if n := g.calls.Load(); n != 1 {
		t.Errorf("%d checks started, want 1 (the one running)", n)
	}
	g.open()
	for range 2 {
		if p := <-answers; p.status != http.StatusBadRequest {
			t.Errorf("a checked attempt: %d, want 400", p.status)
		}
	}
	retry := newLoginAttempt(t, e.browser(t), "acme", e.user.Email, e.password)
	if p := retry.send(t, nil); !p.signedIn() {
		t.Fatalf("the right password once the line is free: %d %s", p.status, p.url)
	}
	if h := logins(t, e.st, "acme", store.LoginFilter{}); len(h) != 3 {
		t.Errorf("login history holds %d attempts, want 3 (the refused one is not among them)", len(h))
	}
}
