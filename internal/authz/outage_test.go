package authz_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/change"
	"github.com/gatehouse/gatehouse/internal/outage"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/testclock"
)

// While the store cannot answer, the checker serves the principals and
// grants it holds, however old; one it never read is the store's error,
// and one a change dropped too.
func TestCheckerServesThroughOutage(t *testing.T) {
	ctx := context.Background()
	db, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "g.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.CreateTeam(ctx, store.Team{Name: "acme", CreatedAt: now}))
	for _, app := range []string{"etl", "bi", "cold"} {
		must(db.CreateApp(ctx, store.Application{Team: "acme", Name: app, CreatedAt: now}))
		must(db.GrantPermission(ctx, store.Permission{Team: "acme", Principal: "app:" + app, Action: "read", Resource: "audit-log", CreatedAt: now}))
	}
	clk := testclock.New(now)
	o := outage.New(db)
	mon := change.NewMonitor(nil)
	c := authz.NewChecker(o, clk.Now, mon)
	for _, app := range []string{"etl", "bi", "gone"} {
		c.Resolve(ctx, "acme", authz.App, app)
	}
	c.Invalidate(store.Change{})                                             // missed changes: expired, kept
	c.Invalidate(store.Change{Team: "acme", Kind: store.KindApp, Key: "bi"}) // a change: dropped
	o.Cut()
	clk.Advance(7 * 24 * time.Hour)
	for _, tc := range []struct {
		app     string
		wantErr error
	}{
		{"etl", nil},
		{"gone", authz.ErrUnknownPrincipal},
		{"bi", store.ErrUnavailable},
		{"cold", store.ErrUnavailable},
	} {
		e, err := c.Resolve(ctx, "acme", authz.App, tc.app)
		if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && !e.Grants.Allows("read", "audit-log")) {
			t.Errorf("Resolve(%s) = %+v, %v; want error %v", tc.app, e, err, tc.wantErr)
		}
	}
	if mon.StaleServed()["grants"] != 2 {
		t.Errorf("stale serves %v, want 2 grants", mon.StaleServed())
	}
}
