package statickey_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/outage"
	"github.com/gatehouse/gatehouse/internal/statickey"
	"github.com/gatehouse/gatehouse/internal/store"
)

// While the store cannot answer, keys already seen still authenticate,
// however long past the cache's lifetime, and their uses wait in memory:
// one failed write per round, not one per team; once the store answers,
// the latest use of each key is written.
func TestServeThroughOutage(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	o := outage.New(f.st)
	svc := f.service(o)
	acmeKey, acmeRaw := f.create(t, "acme", statickey.KindApp, "etl", 0)
	betaKey, betaRaw := f.create(t, "beta", statickey.KindApp, "etl", 0)
	_, coldRaw := f.create(t, "acme", statickey.KindUser, "ada@example.com", 0)
	acme, beta := f.team(t, "acme"), f.team(t, "beta")
	use := func(tm store.Team, raw string, at time.Time) error {
		_, _, err := svc.Authenticate(ctx, tm, statickey.KindApp, raw, statickey.Use{At: at, IP: "192.0.2.1"})
		return err
	}
	for _, k := range []struct {
		tm  store.Team
		raw string
	}{{acme, acmeRaw}, {beta, betaRaw}} {
		if err := use(k.tm, k.raw, start); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	o.Cut()
	later := start.Add(24 * time.Hour)
	f.clock.Set(later)
	for _, k := range []struct {
		tm  store.Team
		raw string
	}{{acme, acmeRaw}, {beta, betaRaw}} {
		if err := use(k.tm, k.raw, later); err != nil {
			t.Fatalf("a key seen before the outage: %v", err)
		}
	}
	if _, _, err := svc.Authenticate(ctx, acme, statickey.KindUser, coldRaw, statickey.Use{At: later}); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("a key never seen: %v, want the store's error", err)
	}
	refused := o.Refused()
	if err := svc.FlushDue(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("FlushDue while cut: %v", err)
	}
	if n := o.Refused() - refused; n != 1 {
		t.Fatalf("%d writes tried while cut, want 1: the round stops at the first", n)
	}
	// Used again: the latest use is the one kept.
	if err := use(acme, acmeRaw, later.Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}

	o.Restore()
	f.clock.Set(later.Add(2 * time.Minute))
	if err := svc.FlushDue(ctx); err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct {
		team, id string
		at       time.Time
	}{{"acme", acmeKey.ID, later.Add(10 * time.Second)}, {"beta", betaKey.ID, later}} {
		k, err := f.raw.Key(ctx, want.team, want.id)
		if err != nil {
			t.Fatal(err)
		}
		if k.LastUsedAt == nil || !k.LastUsedAt.Equal(want.at) {
			t.Errorf("%s key last used %v, want %v", want.team, k.LastUsedAt, want.at)
		}
	}
}

// The uses waiting to be written are bounded: past the bound a new key's
// use is not kept, and the keys already waiting keep theirs.
func TestUsesBounded(t *testing.T) {
	f := setup(t)
	recorder := &recordingStore{Store: f.st}
	svc := f.service(recorder)
	for i := range statickey.UseLimit + 10 {
		svc.RecordUse("acme", fmt.Sprint("k", i), statickey.Use{At: start, IP: "192.0.2.1"})
	}
	svc.RecordUse("acme", "k0", statickey.Use{At: start.Add(time.Second), IP: "192.0.2.2"})
	var kept int
	if err := svc.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, u := range recorder.uses {
		kept++
		if u.ID == "k0" && u.IP != "192.0.2.2" {
			t.Errorf("k0's latest use %+v not kept", u)
		}
	}
	if kept != statickey.UseLimit {
		t.Fatalf("%d uses written, want the bound %d", kept, statickey.UseLimit)
	}
}

// recordingStore keeps the uses written instead of writing them.
type recordingStore struct {
	store.Store
	uses []store.KeyUse
}

func (s *recordingStore) RecordKeyUse(_ context.Context, _ string, uses []store.KeyUse) error {
	s.uses = append(s.uses, uses...)
	return nil
}
