package session_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/outage"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/testclock"
)

type env struct {
	st    *outage.Store
	db    *sqlstore.DB
	clock *testclock.Clock
	svc   *session.Service
	ann   store.User
}

func newEnv(t *testing.T, maxPerUser int) *env {
	t.Helper()
	db, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "gatehouse.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	clock := testclock.New(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	if err := db.CreateTeam(ctx, store.Team{Name: "acme", CreatedAt: clock.Now()}); err != nil {
		t.Fatal(err)
	}
	ann := store.User{Team: "acme", ID: "0b8e3a51-6f86-4f3c-9b8f-0f1a2b3c4d5e", Email: "ann@example.com", PasswordHash: "h", CreatedAt: clock.Now()}
	if err := db.CreateUser(ctx, ann); err != nil {
		t.Fatal(err)
	}
	h, err := secret.NewHasher(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	st := outage.New(db)
	return &env{st: st, db: db, clock: clock, ann: ann,
		svc: &session.Service{Store: st, Hasher: h, Now: clock.Now, TTL: time.Hour, MaxPerUser: maxPerUser}}
}

func (e *env) start(t *testing.T) string {
	t.Helper()
	id, _, err := e.svc.Start(context.Background(), "acme", e.ann.ID, "192.0.2.1", "test/1.0")
	if err != nil {
		t.Fatal(err)
	}
	return id.Reveal()
}

// A session lives from Start until it is ended, expires, or its user's
// password changes; only the keyed hash of its ID is stored.
func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, 0)
	id, rec, err := e.svc.Start(ctx, "acme", e.ann.ID, "192.0.2.1", strings.Repeat("x", 1000))
	if err != nil {
		t.Fatal(err)
	}
	if len(id.Reveal()) != secret.TokenLen || bytes.Contains(rec.Hash, []byte(id.Reveal())) {
		t.Fatalf("id %d chars, hash %x", len(id.Reveal()), rec.Hash)
	}
	if len(rec.UserAgent) > 260 || !rec.ExpiresAt.Equal(e.clock.Now().Add(time.Hour)) {
		t.Errorf("record %+v: want the user agent clipped and an expiry in an hour", rec)
	}
	live := func(id string) error {
		_, err := e.svc.Live(ctx, "acme", id)
		return err
	}
	if err := live(id.Reveal()); err != nil {
		t.Fatalf("Live after Start: %v", err)
	}
	for _, bad := range []string{"", "short", strings.Repeat("A", secret.TokenLen), id.Reveal()[:42] + "!"} {
		if err := live(bad); !errors.Is(err, session.ErrNoSession) || !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Live(%q) = %v, want ErrNoSession", bad, err)
		}
	}
	if _, err := e.svc.Live(ctx, "beta", id.Reveal()); !errors.Is(err, session.ErrNoSession) {
		t.Errorf("Live in another team = %v, want ErrNoSession", err)
	}

	// Expiry.
	e.clock.Advance(time.Hour)
	if err := live(id.Reveal()); !errors.Is(err, session.ErrNoSession) {
		t.Errorf("Live at expiry = %v, want ErrNoSession", err)
	}

	// End, twice.
	id2 := e.start(t)
	if err := e.svc.End(ctx, "acme", id2); err != nil {
		t.Fatal(err)
	}
	if err := live(id2); !errors.Is(err, session.ErrNoSession) {
		t.Errorf("Live after End = %v", err)
	}
	if err := e.svc.End(ctx, "acme", id2); err != nil {
		t.Errorf("End again: %v", err)
	}

	// A new password.
	id3 := e.start(t)
	e.ann.PasswordHash = "new"
	if err := e.db.UpdateUser(ctx, e.ann); err != nil {
		t.Fatal(err)
	}
	if err := live(id3); !errors.Is(err, session.ErrNoSession) {
		t.Errorf("Live after a new password = %v", err)
	}

	// List shows only the live ones; EndAll ends them all.
	a := e.start(t)
	e.clock.Advance(40 * time.Minute)
	b := e.start(t)
	e.clock.Advance(30 * time.Minute) // a has expired, b has not
	list, err := e.svc.List(ctx, "acme", e.ann.ID)
	if err != nil || len(list) != 1 || !bytes.Equal(list[0].Hash, e.svc.Hasher.Hash(b)) {
		t.Fatalf("List = %+v, %v; want b alone", list, err)
	}
	if n, err := e.svc.EndAll(ctx, "acme", e.ann.ID); err != nil || n != 2 {
		t.Errorf("EndAll = %d, %v; want 2 (one of them expired)", n, err)
	}
	for _, id := range []string{a, b} {
		if err := live(id); !errors.Is(err, session.ErrNoSession) {
			t.Errorf("Live after EndAll = %v", err)
		}
	}
}

// A user has at most MaxPerUser sessions: the oldest go.
func TestMaxPerUser(t *testing.T) {
	e := newEnv(t, 3)
	var ids []string
	for range 5 {
		ids = append(ids, e.start(t))
		e.clock.Advance(time.Second)
	}
	for i, id := range ids {
		_, err := e.svc.Live(context.Background(), "acme", id)
		if want := i >= 2; (err == nil) != want {
			t.Errorf("session %d: Live = %v, want live %v", i, err, want)
		}
	}
}

// The last use is written at most once per TouchEvery; a store that
// cannot answer is an error that is not ErrNoSession (the caller answers
// 503), and a failed write of the last use does not end the session.
func TestLiveTouchAndFaults(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, 0)
	id := e.start(t)
	seen := func() time.Time {
		t.Helper()
		l, err := e.svc.List(ctx, "acme", e.ann.ID)
		if err != nil || len(l) != 1 {
			t.Fatalf("List = %v, %v", l, err)
		}
		return l[0].LastSeenAt
	}
	start := seen()
	e.clock.Advance(session.TouchEvery / 2)
	if _, err := e.svc.Live(ctx, "acme", id); err != nil || !seen().Equal(start) {
		t.Errorf("Live within TouchEvery: %v, last seen %v, want %v", err, seen(), start)
	}
	e.clock.Advance(session.TouchEvery)
	if rec, err := e.svc.Live(ctx, "acme", id); err != nil || !seen().Equal(e.clock.Now()) || !rec.LastSeenAt.Equal(e.clock.Now()) {
		t.Errorf("Live after TouchEvery: %v, last seen %v, want %v", err, seen(), e.clock.Now())
	}

	e.st.Cut()
	_, err := e.svc.Live(ctx, "acme", id)
	if !errors.Is(err, store.ErrUnavailable) || errors.Is(err, session.ErrNoSession) {
		t.Errorf("Live with the store cut = %v, want ErrUnavailable", err)
	}
	if err := e.svc.End(ctx, "acme", id); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("End with the store cut = %v, want ErrUnavailable", err)
	}
	if _, err := e.svc.EndAll(ctx, "acme", e.ann.ID); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("EndAll with the store cut = %v, want ErrUnavailable", err)
	}
	if _, _, err := e.svc.Start(ctx, "acme", e.ann.ID, "", ""); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Start with the store cut = %v, want ErrUnavailable", err)
	}
	e.st.Restore()

	// Reads work, the write of the last use fails: still live.
	e.clock.Advance(session.TouchEvery)
	e.svc.Store = touchFails{e.st}
	if _, err := e.svc.Live(ctx, "acme", id); err != nil {
		t.Errorf("Live with the last-use write failing: %v", err)
	}
}

type touchFails struct{ session.Store }

func (touchFails) TouchSession(context.Context, string, []byte, time.Time) error {
	return fmt.Errorf("touch: %w", store.ErrUnavailable)
}
