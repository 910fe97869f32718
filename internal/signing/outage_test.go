package signing_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/change"
	"github.com/gatehouse/gatehouse/internal/outage"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/store"
)

// While the store cannot answer, a manager goes on signing, publishing
// and verifying with the keys it holds, however long past their cache
// lifetime; what it would need the store for (a first key, a kid it does
// not know, a ring a change dropped) fails with the store's error, and no
// key is ever made from a failed read.
func TestServeThroughOutage(t *testing.T) {
	for _, tc := range []struct {
		name string
		// before the cut, after warming acme (beta is never used)
		before func(m *signing.Manager)
		// what works while cut
		acmeWorks bool
	}{
		{"past the cache lifetime", func(*signing.Manager) {}, true},
		{"after word of missed changes", func(m *signing.Manager) { m.Invalidate(store.Change{}) }, true},
		{"after a change of acme's keys", func(m *signing.Manager) {
			m.Invalidate(store.Change{Team: "acme", Kind: store.KindSigningKey})
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			db := openSQLite(t)
			o := outage.New(db)
			c := newClock()
			mon := change.NewMonitor(nil)
			m := newManager(t, o, c, func(opts *signing.Options) { opts.Caches = mon })
			tok := sign(t, m, "acme", "")
			kid := kidOf(t, tok)
			foreign := sign(t, newManager(t, openSQLite(t), c), "acme", "") // a kid m does not know
			tc.before(m)
			o.Cut()
			for _, after := range []time.Duration{signing.CacheMaxAge, time.Hour, 30 * 24 * time.Hour} {
				c.Set(t0.Add(after))
				_, err := m.Sign(ctx, "acme", "", []byte(`{}`))
				_, _, verr := m.Verify(ctx, "acme", tok)
				keys, jerr := m.JWKS(ctx, "acme")
				if !tc.acmeWorks {
					for _, err := range []error{err, verr, jerr} {
						if !errors.Is(err, store.ErrUnavailable) {
							t.Fatalf("after %s: err %v, want the store's: the change dropped the ring", after, err)
						}
					}
					continue
				}
				if err != nil || verr != nil || jerr != nil {
					t.Fatalf("after %s of outage: Sign %v, Verify %v, JWKS %v; want the held keys", after, err, verr, jerr)
				}
				if !strings.Contains(string(keys), `"kid":"`+kid+`"`) {
					t.Fatalf("JWKS %s lacks %s", keys, kid)
				}
			}
			if tc.acmeWorks && mon.StaleServed()["signing_keys"] == 0 {
				t.Error("no stale serve counted")
			}
			// A kid acme's ring lacks: the manager cannot tell it from a
			// key made elsewhere, so it says the store failed.
			if _, _, err := m.Verify(ctx, "acme", foreign); !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("Verify of an unknown kid while cut: %v, want the store's error", err)
			}
			// beta has no key held: no key is made from a failed read.
			if _, err := m.Sign(ctx, "beta", "", []byte(`{}`)); !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("Sign for beta while cut: %v, want the store's error", err)
			}
			o.Restore()
			c.Advance(change.DefaultStaleRetry)
			if keys, err := db.ListSigningKeys(ctx, "beta"); err != nil || len(keys) != 0 {
				t.Fatalf("beta has %d keys (%v), want none made during the outage", len(keys), err)
			}
			sign(t, m, "beta", "")
			if got := kidOf(t, sign(t, m, "acme", "")); got != kid {
				t.Errorf("acme signs with %s after the outage, want %s", got, kid)
			}
		})
	}
}
