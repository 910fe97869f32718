package authz_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// countingStore counts the reads the checker makes.
type countingStore struct {
	store.Store
	reads atomic.Int64
}

func (s *countingStore) ListPermissions(ctx context.Context, team, p string) ([]store.Permission, error) {
	s.reads.Add(1)
	return s.Store.ListPermissions(ctx, team, p)
}

func (s *countingStore) User(ctx context.Context, team, id string) (store.User, error) {
	s.reads.Add(1)
	return s.Store.User(ctx, team, id)
}

func TestChecker(t *testing.T) {
	ctx := context.Background()
	db, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "g.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st := &countingStore{Store: db}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, team := range []string{"acme", "beta"} {
		must(db.CreateTeam(ctx, store.Team{Name: team, CreatedAt: now}))
	}
	must(db.CreateUser(ctx, store.User{Team: "acme", ID: "u1", Email: "ada@example.com", CreatedAt: now}))
	must(db.CreateUser(ctx, store.User{Team: "acme", ID: "u2", Email: "boss@example.com", TeamAdmin: true, CreatedAt: now}))
	must(db.CreateUser(ctx, store.User{Team: "acme", ID: "u3", Email: "gone@example.com", Disabled: true, CreatedAt: now}))
	must(db.CreateGroup(ctx, store.Group{Team: "acme", Name: "ops", CreatedAt: now}))
	must(db.AddGroupMember(ctx, "acme", "ops", "u1"))
	must(db.GrantPermission(ctx, store.Permission{Team: "acme", Principal: "user:ada@example.com", Action: "read", Resource: "users", CreatedAt: now}))
	must(db.GrantPermission(ctx, store.Permission{Team: "acme", Principal: "group:ops", Action: "push", Resource: "data-pools/*", CreatedAt: now}))
	must(db.CreateApp(ctx, store.Application{Team: "acme", Name: "etl", CreatedAt: now}))
	must(db.GrantPermission(ctx, store.Permission{Team: "acme", Principal: "app:etl", Action: "read", Resource: "audit-log", CreatedAt: now}))

	c := authz.NewChecker(st, nil, nil)
	e, err := c.Resolve(ctx, "acme", authz.User, "u1")
	must(err)
	if e.Principal.String() != "user:ada@example.com" || !e.Grants.Allows("read", "users") || !e.Grants.Allows("push", "data-pools/9") {
		t.Fatalf("user with own and group grants: %+v", e)
	}
	if e.Grants.Allows("read", "audit-log") {
		t.Fatal("user holds the app's permission")
	}
	boss, err := c.Resolve(ctx, "acme", authz.User, "u2")
	must(err)
	if !boss.Grants.Allows("anything", "at/all") {
		t.Fatal("a team admin holds every permission")
	}
	app, err := c.Resolve(ctx, "acme", authz.App, "etl")
	must(err)
	if !app.Grants.Allows("read", "audit-log") || app.Grants.Allows("read", "users") {
		t.Fatalf("app grants %+v", app.Grants)
	}
	for _, tc := range []struct{ team, kind, id string }{
		{"acme", authz.User, "u3"},         // disabled
		{"acme", authz.User, "nobody"},     // unknown
		{"beta", authz.User, "u1"},         // another team's
		{"acme", authz.Client, "c-absent"}, // deleted or never was
		{"beta", authz.App, "etl"},
	} {
		if _, err := c.Resolve(ctx, tc.team, tc.kind, tc.id); !errors.Is(err, authz.ErrUnknownPrincipal) {
			t.Errorf("Resolve(%v) = %v, want ErrUnknownPrincipal", tc, err)
		}
	}

	// Warm lookups read nothing.
	before := st.reads.Load()
	for range 100 {
		c.Resolve(ctx, "acme", authz.User, "u1")
		c.Resolve(ctx, "acme", authz.User, "nobody")
	}
	if n := st.reads.Load() - before; n != 0 {
		t.Fatalf("%d store reads for warm lookups", n)
	}

	// A revoke reaches the cache through its change.
	must(db.RevokePermission(ctx, store.Permission{Team: "acme", Principal: "group:ops", Action: "push", Resource: "data-pools/*"}))
	c.Invalidate(store.Change{Team: "beta", Kind: store.KindPermission})
	if e, _ := c.Resolve(ctx, "acme", authz.User, "u1"); !e.Grants.Allows("push", "data-pools/9") {
		t.Fatal("another team's change dropped acme's entries")
	}
	c.Invalidate(store.Change{Team: "acme", Kind: store.KindPermission, Key: "group:ops"})
	if e, _ := c.Resolve(ctx, "acme", authz.User, "u1"); e.Grants.Allows("push", "data-pools/9") {
		t.Fatal("revoked group permission still held after invalidation")
	}
	// So does disabling a user.
	must(db.UpdateUser(ctx, store.User{Team: "acme", ID: "u1", Email: "ada@example.com", Disabled: true}))
	c.Invalidate(store.Change{Team: "acme", Kind: store.KindUser, Key: "u1"})
	if _, err := c.Resolve(ctx, "acme", authz.User, "u1"); !errors.Is(err, authz.ErrUnknownPrincipal) {
		t.Fatalf("disabled user resolves: %v", err)
	}
	// ResolveName finds users by email.
	if e, err := c.ResolveName(ctx, "acme", authz.Principal{Kind: authz.User, Name: "boss@example.com"}); err != nil || !e.Grants.TeamAdmin {
		t.Fatalf("ResolveName: %+v %v", e, err)
	}
}
