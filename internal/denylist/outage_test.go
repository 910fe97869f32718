package denylist_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/change"
	"github.com/gatehouse/gatehouse/internal/denylist"
	"github.com/gatehouse/gatehouse/internal/outage"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/testclock"
	"github.com/gatehouse/gatehouse/internal/token"
)

// While the store cannot answer, the list goes on refusing what it knows
// to be revoked and passing what it knows is not, past its caches'
// lifetimes and after word of missed changes; a team or a grant it never
// read is the store's error, never a pass.
func TestServeThroughOutage(t *testing.T) {
	ctx := context.Background()
	db, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "gatehouse.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, team := range []string{"acme", "beta"} {
		if err := db.CreateTeam(ctx, store.Team{Name: team, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clk := testclock.New(t0)
	o := outage.New(db)
	mon := change.NewMonitor(nil)
	l := denylist.New(o, clk.Now, mon)
	if err := l.Revoke(ctx, "acme", "revoked", t0.Add(48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := l.RevokeGrant(ctx, "acme", "ann", "web", t0); err != nil {
		t.Fatal(err)
	}
	claims := func(sub, client, jti string) token.Claims {
		return token.Claims{Subject: sub, ClientID: client, IssuedAt: t0.Add(-time.Minute), JTI: jti}
	}
	cases := []struct {
		name    string
		team    string
		c       token.Claims
		want    bool
		wantErr bool
	}{
		{"revoked jti", "acme", claims("web", "web", "revoked"), true, false},
		{"jti not revoked", "acme", claims("web", "web", "fine"), false, false},
		{"user token under a cut-off", "acme", claims("ann", "web", "j1"), true, false},
		{"user token of a grant with none", "acme", claims("bob", "web", "j2"), false, false},
		{"grant never read", "acme", claims("cid", "web", "j3"), false, true},
		{"team never read", "beta", claims("web", "web", "j4"), false, true},
	}
	for _, tc := range cases[:4] { // warm what the list will hold
		if got, err := l.Refused(ctx, tc.team, tc.c); err != nil || got != tc.want {
			t.Fatalf("%s before the outage: %v %v", tc.name, got, err)
		}
	}
	l.Invalidate(store.Change{}) // a watcher lost its connection and listens again
	o.Cut()
	clk.Advance(24 * time.Hour)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := l.Refused(ctx, tc.team, tc.c)
			if tc.wantErr {
				if !errors.Is(err, store.ErrUnavailable) {
					t.Fatalf("Refused = %v %v, want the store's error", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Refused = %v %v, want %v from what the list holds", got, err, tc.want)
			}
		})
	}
	served := mon.StaleServed()
	if served["revocations"] == 0 || served["grant_cutoffs"] == 0 {
		t.Errorf("stale serves %v, want some of both caches", served)
	}
}
