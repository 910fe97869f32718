package admin_test

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/team"
)

// cheap are the lowest Argon2id parameters secret accepts, so that tests
// hash in microseconds.
var cheap = secret.PasswordParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const password = "correct horse battery"

// actor is who makes the changes of these tests; its IP and user agent
// must reach the audit log.
var actor = kernel.Actor{ID: "user:root@example.com", IP: "192.0.2.7", UserAgent: "admin-test/1"}

// openStore opens a fresh SQLite store in a temporary directory.
func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "gatehouse.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newService(st store.Store) *admin.Service {
	return &admin.Service{Store: st, Gen: secret.Generator{}, Password: cheap, Now: func() time.Time { return now }}
}

// fixture is a store with two teams and, in acme, a principal of every
// kind holding a permission.
type fixture struct {
	st     store.Store
	svc    *admin.Service
	client store.Client
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	ctx := context.Background()
	st := openStore(t)
	f := fixture{st: st, svc: newService(st)}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"acme", "other"} {
		_, err := f.svc.CreateTeam(ctx, kernel.CLI, name)
		must(err)
	}
	_, err := f.svc.CreateUser(ctx, kernel.CLI, "acme", admin.NewUser{Email: "ada@example.com", Name: "Ada", Password: password, TeamAdmin: true})
	must(err)
	_, err = f.svc.CreateUser(ctx, kernel.CLI, "acme", admin.NewUser{Email: "bob@example.com", Password: password})
	must(err)
	_, err = f.svc.CreateUser(ctx, kernel.CLI, "other", admin.NewUser{Email: "eve@example.com", Password: password})
	must(err)
	_, err = f.svc.CreateGroup(ctx, kernel.CLI, "acme", "eng")
	must(err)
	must(f.svc.AddMember(ctx, kernel.CLI, "acme", "eng", "ada@example.com"))
	_, err = f.svc.CreateGroup(ctx, kernel.CLI, "other", "ops")
	must(err)
	_, err = f.svc.CreateApp(ctx, kernel.CLI, "acme", "ci")
	must(err)
	f.client = store.Client{Team: "acme", ID: "0b5f4c1e-3c1b-4e55-9d6c-1f2a3b4c5d6e", Name: "web",
		GrantTypes: []string{"client_credentials"}, AuthMethod: "client_secret_basic",
		Scopes: []string{"audit.log:read"}, CreatedAt: now}
	must(st.CreateClient(ctx, f.client))
	for _, p := range []store.Permission{
		{Team: "acme", Principal: "user:ada@example.com", Action: "read", Resource: "team"},
		{Team: "acme", Principal: "group:eng", Action: "push", Resource: "data-pools/*"},
		{Team: "acme", Principal: "app:ci", Action: "read", Resource: "packages/42"},
		{Team: "acme", Principal: "client:" + f.client.ID, Action: "*", Resource: "team"},
	} {
		_, err := f.svc.Grant(ctx, kernel.CLI, p)
		must(err)
	}
	return f
}

// snapshot is everything the admin service can write, for checking that a
// failed change wrote nothing.
type snapshot struct {
	Teams       []store.Team
	Users       map[string][]store.User
	Groups      map[string][]store.Group
	Apps        map[string][]store.Application
	Clients     map[string][]store.Client
	Permissions map[string][]store.Permission
	Audit       map[string][]store.AuditEvent
}

// auditTeams are the audit logs read besides those of existing teams: the
// server-wide log and those of the names the tests use for teams that do
// not exist, where a careless change might still leave an event.
var auditTeams = []string{"", "nope", "beta", "Bad", admin.DevTeam}

func takeSnapshot(t *testing.T, st store.Store) snapshot {
	t.Helper()
	ctx := context.Background()
	teams, err := st.ListTeams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := snapshot{Teams: teams, Users: map[string][]store.User{}, Groups: map[string][]store.Group{},
		Apps: map[string][]store.Application{}, Clients: map[string][]store.Client{},
		Permissions: map[string][]store.Permission{}, Audit: map[string][]store.AuditEvent{}}
	names := append([]string{}, auditTeams...)
	for _, tm := range teams {
		names = append(names, tm.Name)
		if s.Users[tm.Name], _, err = st.ListUsers(ctx, tm.Name, store.Page{Limit: 1000}); err != nil {
			t.Fatal(err)
		}
		if s.Groups[tm.Name], _, err = st.ListGroups(ctx, tm.Name, store.Page{Limit: 1000}); err != nil {
			t.Fatal(err)
		}
		if s.Apps[tm.Name], err = st.ListApps(ctx, tm.Name); err != nil {
			t.Fatal(err)
		}
		if s.Clients[tm.Name], err = st.ListClients(ctx, tm.Name); err != nil {
			t.Fatal(err)
		}
		if s.Permissions[tm.Name], err = st.ListPermissions(ctx, tm.Name, ""); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range names {
		events, _, err := st.ListAudit(ctx, name, store.AuditFilter{}, store.Page{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(events) > 0 {
			s.Audit[name] = events
		}
	}
	return s
}

func allEvents(s snapshot) []store.AuditEvent {
	var out []store.AuditEvent
	for _, events := range s.Audit {
		out = append(out, events...)
	}
	return out
}

// newEvents returns the events of after that are not in before.
func newEvents(before, after snapshot) []store.AuditEvent {
	seen := map[int64]bool{}
	for _, e := range allEvents(before) {
		seen[e.ID] = true
	}
	var out []store.AuditEvent
	for _, e := range allEvents(after) {
		if !seen[e.ID] {
			out = append(out, e)
		}
	}
	return out
}

func checkUnchanged(t *testing.T, st store.Store, before snapshot) {
	t.Helper()
	if diff := cmp.Diff(before, takeSnapshot(t, st), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("store changed (-before +after):\n%s", diff)
	}
}

// checkErr checks that err wraps every one of want.
func checkErr(t *testing.T, err error, want ...error) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want %v", want)
	}
	for _, w := range want {
		if !errors.Is(err, w) {
			t.Errorf("err = %v, want errors.Is(err, %v)", err, w)
		}
	}
}

func perm(principal, action, resource string) store.Permission {
	return store.Permission{Team: "acme", Principal: principal, Action: action, Resource: resource}
}

func TestInvalidInputWritesNothing(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	long := func(n int) string { return strings.Repeat("a", n) }
	// Validation errors wrap kernel.ErrInvalid, and the sentinel of the
	// package that defines the rule where there is one.
	badTeam := []error{kernel.ErrInvalid, team.ErrInvalidName}
	badAuthz := []error{kernel.ErrInvalid, authz.ErrInvalid}
	bad := []error{kernel.ErrInvalid}
	notFound := []error{store.ErrNotFound}

	type tc struct {
		name string
		do   func(s *admin.Service) error
		want []error
	}
	var cases []tc

	for _, name := range []string{"", "Acme", "-acme", "acme-", "ac_me", "ac.me", "ac me", "acme\n", "ácme", long(64)} {
		cases = append(cases,
			tc{"create team " + name, func(s *admin.Service) error { _, err := s.CreateTeam(ctx, actor, name); return err }, badTeam},
			tc{"delete team " + name, func(s *admin.Service) error { return s.DeleteTeam(ctx, actor, name) }, badTeam},
			tc{"create user in team " + name, func(s *admin.Service) error {
				_, err := s.CreateUser(ctx, actor, name, admin.NewUser{Email: "new@example.com", Password: password})
				return err
			}, badTeam},
			tc{"create group in team " + name, func(s *admin.Service) error { _, err := s.CreateGroup(ctx, actor, name, "g"); return err }, badTeam},
			tc{"create app in team " + name, func(s *admin.Service) error { _, err := s.CreateApp(ctx, actor, name, "a"); return err }, badTeam},
			tc{"grant in team " + name, func(s *admin.Service) error {
				p := perm("user:ada@example.com", "read", "team")
				p.Team = name
				_, err := s.Grant(ctx, actor, p)
				return err
			}, badTeam},
		)
	}
	for _, email := range []string{"", "a", "ada", "@example.com", "ada@", "Ada <ada@example.com>", "<ada@example.com>",
		"ada@example.com ", " ada@example.com", "ada@example.com, bob@example.com", "ada example@example.com", "ada@exa mple.com"} {
		cases = append(cases,
			tc{"create user with email " + email, func(s *admin.Service) error {
				_, err := s.CreateUser(ctx, actor, "acme", admin.NewUser{Email: email, Password: password})
				return err
			}, bad},
			tc{"delete user with email " + email, func(s *admin.Service) error { return s.DeleteUser(ctx, actor, "acme", email) }, bad},
			tc{"add member with email " + email, func(s *admin.Service) error { return s.AddMember(ctx, actor, "acme", "eng", email) }, bad},
			tc{"remove member with email " + email, func(s *admin.Service) error { return s.RemoveMember(ctx, actor, "acme", "eng", email) }, bad},
		)
	}
	for _, pw := range []string{"", "short", "12345678901", "ééééééééééé" /* 11 runes, 22 bytes */} {
		cases = append(cases, tc{"password " + pw, func(s *admin.Service) error {
			_, err := s.CreateUser(ctx, actor, "acme", admin.NewUser{Email: "new@example.com", Password: pw})
			return err
		}, bad})
	}
	cases = append(cases, tc{"display name too long", func(s *admin.Service) error {
		_, err := s.CreateUser(ctx, actor, "acme", admin.NewUser{Email: "new@example.com", Name: long(257), Password: password})
		return err
	}, bad})
	for _, name := range []string{"", "a:b", "a/b", "a b", " a", "a ", "a\tb", "a\nb", "a\x7fb", long(129)} {
		cases = append(cases,
			tc{"app name " + name, func(s *admin.Service) error { _, err := s.CreateApp(ctx, actor, "acme", name); return err }, bad})
	}
	// Groups are named as identity providers name them; these are still
	// refused.
	for _, name := range []string{"", " a", "a ", "a\u00a0", "a\tb", "a\nb", "a\x7fb", "a\u2028b", "a\u202eb", "\xff", long(257)} {
		cases = append(cases,
			tc{"group name " + name, func(s *admin.Service) error { _, err := s.CreateGroup(ctx, actor, "acme", name); return err }, bad})
	}
	for _, p := range []store.Permission{
		perm("", "read", "team"),
		perm("user", "read", "team"),
		perm("user:", "read", "team"),
		perm("robot:r2d2", "read", "team"),
		perm("USER:ada@example.com", "read", "team"),
		perm("group: a", "read", "team"),
		perm("group:a\tb", "read", "team"),
		perm("ada@example.com", "read", "team"),
	} {
		cases = append(cases,
			tc{"grant to principal " + p.Principal, func(s *admin.Service) error { _, err := s.Grant(ctx, actor, p); return err }, badAuthz},
			tc{"revoke from principal " + p.Principal, func(s *admin.Service) error { return s.Revoke(ctx, actor, p) }, badAuthz},
		)
	}
	cases = append(cases, tc{"grant to user:<not an email>", func(s *admin.Service) error {
		_, err := s.Grant(ctx, actor, perm("user:ada", "read", "team"))
		return err
	}, bad})
	for _, action := range []string{"", "Read", "read write", "-read", "1read", "re/ad", "**", long(65)} {
		cases = append(cases, tc{"action " + action, func(s *admin.Service) error {
			_, err := s.Grant(ctx, actor, perm("user:ada@example.com", action, "team"))
			return err
		}, badAuthz})
	}
	for _, resource := range []string{"", "/team", "team/", "data-pools//x", "data pools", "pools/**", "pools/a?b", "packages/42#x", strings.Repeat("a/", 257)} {
		cases = append(cases, tc{"resource " + resource, func(s *admin.Service) error {
			_, err := s.Grant(ctx, actor, perm("user:ada@example.com", "read", resource))
			return err
		}, badAuthz})
	}

	// Well-formed input naming what does not exist.
	for _, principal := range []string{
		"user:nobody@example.com",
		"user:eve@example.com", // in team other only
		"group:nope",
		"group:ops", // in team other only
		"app:nope",
		"client:6a8f1b4e-0000-4000-8000-000000000000",
	} {
		cases = append(cases,
			tc{"grant to unknown " + principal, func(s *admin.Service) error {
				_, err := s.Grant(ctx, actor, perm(principal, "read", "team"))
				return err
			}, notFound},
			tc{"revoke from unknown " + principal, func(s *admin.Service) error { return s.Revoke(ctx, actor, perm(principal, "read", "team")) }, notFound},
		)
	}
	cases = append(cases,
		tc{"delete unknown team", func(s *admin.Service) error { return s.DeleteTeam(ctx, actor, "nope") }, notFound},
		tc{"create user in unknown team", func(s *admin.Service) error {
			_, err := s.CreateUser(ctx, actor, "nope", admin.NewUser{Email: "new@example.com", Password: password})
			return err
		}, notFound},
		tc{"create group in unknown team", func(s *admin.Service) error { _, err := s.CreateGroup(ctx, actor, "nope", "g"); return err }, notFound},
		tc{"create app in unknown team", func(s *admin.Service) error { _, err := s.CreateApp(ctx, actor, "nope", "a"); return err }, notFound},
		tc{"grant in unknown team", func(s *admin.Service) error {
			p := perm("user:ada@example.com", "read", "team")
			p.Team = "nope"
			_, err := s.Grant(ctx, actor, p)
			return err
		}, notFound},
		tc{"delete unknown user", func(s *admin.Service) error { return s.DeleteUser(ctx, actor, "acme", "nobody@example.com") }, notFound},
		tc{"delete user of another team", func(s *admin.Service) error { return s.DeleteUser(ctx, actor, "acme", "eve@example.com") }, notFound},
		tc{"delete unknown group", func(s *admin.Service) error { return s.DeleteGroup(ctx, actor, "acme", "nope") }, notFound},
		tc{"delete group of another team", func(s *admin.Service) error { return s.DeleteGroup(ctx, actor, "acme", "ops") }, notFound},
		tc{"delete unknown app", func(s *admin.Service) error { return s.DeleteApp(ctx, actor, "acme", "nope") }, notFound},
		tc{"delete group in unknown team", func(s *admin.Service) error { return s.DeleteGroup(ctx, actor, "nope", "eng") }, notFound},
		tc{"delete app in unknown team", func(s *admin.Service) error { return s.DeleteApp(ctx, actor, "nope", "ci") }, notFound},
		tc{"add unknown user", func(s *admin.Service) error { return s.AddMember(ctx, actor, "acme", "eng", "nobody@example.com") }, notFound},
		tc{"add to unknown group", func(s *admin.Service) error { return s.AddMember(ctx, actor, "acme", "nope", "bob@example.com") }, notFound},
		tc{"add to group of another team", func(s *admin.Service) error { return s.AddMember(ctx, actor, "acme", "ops", "bob@example.com") }, notFound},
		tc{"remove non-member", func(s *admin.Service) error { return s.RemoveMember(ctx, actor, "acme", "eng", "bob@example.com") }, notFound},
		tc{"remove from unknown group", func(s *admin.Service) error { return s.RemoveMember(ctx, actor, "acme", "nope", "ada@example.com") }, notFound},
		tc{"revoke what was never granted", func(s *admin.Service) error {
			return s.Revoke(ctx, actor, perm("user:ada@example.com", "manage", "team"))
		}, notFound},
	)

	// Duplicates.
	alreadyExists := []error{store.ErrAlreadyExists}
	cases = append(cases,
		tc{"duplicate team", func(s *admin.Service) error { _, err := s.CreateTeam(ctx, actor, "acme"); return err }, alreadyExists},
		tc{"duplicate user email", func(s *admin.Service) error {
			_, err := s.CreateUser(ctx, actor, "acme", admin.NewUser{Email: "bob@example.com", Password: password})
			return err
		}, alreadyExists},
		tc{"duplicate user email in another case", func(s *admin.Service) error {
			_, err := s.CreateUser(ctx, actor, "acme", admin.NewUser{Email: "Ada@Example.COM", Password: password})
			return err
		}, alreadyExists},
		tc{"duplicate group", func(s *admin.Service) error { _, err := s.CreateGroup(ctx, actor, "acme", "eng"); return err }, alreadyExists},
		tc{"duplicate app", func(s *admin.Service) error { _, err := s.CreateApp(ctx, actor, "acme", "ci"); return err }, alreadyExists},
		tc{"duplicate grant", func(s *admin.Service) error {
			_, err := s.Grant(ctx, actor, perm("group:eng", "push", "data-pools/*"))
			return err
		}, alreadyExists},
		tc{"duplicate grant to user in another case", func(s *admin.Service) error {
			_, err := s.Grant(ctx, actor, perm("user:ADA@example.com", "read", "team"))
			return err
		}, alreadyExists},
		tc{"duplicate member", func(s *admin.Service) error { return s.AddMember(ctx, actor, "acme", "eng", "ada@example.com") }, alreadyExists},
		tc{"duplicate member in another case", func(s *admin.Service) error { return s.AddMember(ctx, actor, "acme", "eng", "ADA@example.com") }, alreadyExists},
	)

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := takeSnapshot(t, f.st)
			checkErr(t, c.do(f.svc), c.want...)
			checkUnchanged(t, f.st, before)
		})
	}
}

// Every successful change writes exactly one audit event, to its team's
// log, naming the actor, the action and the target.
func TestChangesAreAudited(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	ev := func(teamName, action, target string, detail map[string]string) store.AuditEvent {
		return store.AuditEvent{Team: teamName, At: now, Actor: actor.ID, Action: action, Target: target,
			IP: actor.IP, UserAgent: actor.UserAgent, Detail: detail}
	}
	// In order: each step builds on the ones before.
	for _, c := range []struct {
		name string
		do   func(s *admin.Service) error
		want store.AuditEvent
	}{
		{"create team", func(s *admin.Service) error { _, err := s.CreateTeam(ctx, actor, "beta"); return err },
			ev("beta", "team.create", "beta", nil)},
		{"create user", func(s *admin.Service) error {
			_, err := s.CreateUser(ctx, actor, "beta", admin.NewUser{Email: "Cy@Example.com", Password: password, TeamAdmin: true})
			return err
		}, ev("beta", "user.create", "user:cy@example.com", map[string]string{"team_admin": "true"})},
		{"create second user", func(s *admin.Service) error {
			_, err := s.CreateUser(ctx, actor, "beta", admin.NewUser{Email: "dan@example.com", Password: password})
			return err
		}, ev("beta", "user.create", "user:dan@example.com", map[string]string{"team_admin": "false"})},
		{"create group", func(s *admin.Service) error { _, err := s.CreateGroup(ctx, actor, "beta", "ops"); return err },
			ev("beta", "group.create", "group:ops", nil)},
		{"add member", func(s *admin.Service) error { return s.AddMember(ctx, actor, "beta", "ops", "CY@example.com") },
			ev("beta", "group.member.add", "group:ops", map[string]string{"user": "cy@example.com"})},
		{"create app", func(s *admin.Service) error { _, err := s.CreateApp(ctx, actor, "beta", "deployer"); return err },
			ev("beta", "app.create", "app:deployer", nil)},
		{"grant", func(s *admin.Service) error {
			_, err := s.Grant(ctx, actor, store.Permission{Team: "beta", Principal: "user:CY@example.com", Action: "read", Resource: "team"})
			return err
		}, ev("beta", "permission.grant", "user:cy@example.com", map[string]string{"action": "read", "resource": "team"})},
		{"grant to group", func(s *admin.Service) error {
			_, err := s.Grant(ctx, actor, store.Permission{Team: "beta", Principal: "group:ops", Action: "push", Resource: "data-pools/*"})
			return err
		}, ev("beta", "permission.grant", "group:ops", map[string]string{"action": "push", "resource": "data-pools/*"})},
		{"grant to app", func(s *admin.Service) error {
			_, err := s.Grant(ctx, actor, store.Permission{Team: "beta", Principal: "app:deployer", Action: "*", Resource: "packages/*"})
			return err
		}, ev("beta", "permission.grant", "app:deployer", map[string]string{"action": "*", "resource": "packages/*"})},
		{"grant to client", func(s *admin.Service) error {
			_, err := s.Grant(ctx, actor, perm("client:"+f.client.ID, "read", "audit-log"))
			return err
		}, ev("acme", "permission.grant", "client:"+f.client.ID, map[string]string{"action": "read", "resource": "audit-log"})},
		{"revoke", func(s *admin.Service) error {
			return s.Revoke(ctx, actor, store.Permission{Team: "beta", Principal: "user:cy@example.com", Action: "read", Resource: "team"})
		}, ev("beta", "permission.revoke", "user:cy@example.com", map[string]string{"action": "read", "resource": "team"})},
		{"remove member", func(s *admin.Service) error { return s.RemoveMember(ctx, actor, "beta", "ops", "cy@example.com") },
			ev("beta", "group.member.remove", "group:ops", map[string]string{"user": "cy@example.com"})},
		{"delete group", func(s *admin.Service) error { return s.DeleteGroup(ctx, actor, "beta", "ops") },
			ev("beta", "group.delete", "group:ops", nil)},
		{"delete app", func(s *admin.Service) error { return s.DeleteApp(ctx, actor, "beta", "deployer") },
			ev("beta", "app.delete", "app:deployer", nil)},
		{"set password", func(s *admin.Service) error {
			return s.SetPassword(ctx, actor, "beta", "Dan@example.com", "another long password")
		}, ev("beta", "user.password.set", "user:dan@example.com", nil)},
		{"disable user", func(s *admin.Service) error { return s.SetDisabled(ctx, actor, "beta", "dan@example.com", true) },
			ev("beta", "user.disable", "user:dan@example.com", nil)},
		{"enable user", func(s *admin.Service) error { return s.SetDisabled(ctx, actor, "beta", "dan@example.com", false) },
			ev("beta", "user.enable", "user:dan@example.com", nil)},
		{"end sessions", func(s *admin.Service) error {
			_, err := s.EndSessions(ctx, actor, "beta", "dan@example.com")
			return err
		},
			ev("beta", "user.sessions.end", "user:dan@example.com", map[string]string{"sessions": "0"})},
		{"delete user", func(s *admin.Service) error { return s.DeleteUser(ctx, actor, "beta", "Cy@example.com") },
			ev("beta", "user.delete", "user:cy@example.com", nil)},
		{"delete team", func(s *admin.Service) error { return s.DeleteTeam(ctx, actor, "beta") },
			ev("", "team.delete", "beta", nil)},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := takeSnapshot(t, f.st)
			if err := c.do(f.svc); err != nil {
				t.Fatal(err)
			}
			got := newEvents(before, takeSnapshot(t, f.st))
			if diff := cmp.Diff([]store.AuditEvent{c.want}, got, cmpopts.IgnoreFields(store.AuditEvent{}, "ID"), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("new audit events (-want +got):\n%s", diff)
			}
		})
	}
	// Deleting team beta took its audit log with it; acme's is untouched.
	events, _, err := f.st.ListAudit(ctx, "beta", store.AuditFilter{}, store.Page{Limit: 1000})
	if err != nil || len(events) != 0 {
		t.Errorf("audit log of deleted team: %v, %v; want none", events, err)
	}
}

// failingAudit is a store whose transactions cannot append audit events:
// a change whose event is not written must not be written either.
type failingAudit struct{ store.Store }

var errAudit = errors.New("audit log unavailable")

func (s failingAudit) Tx(ctx context.Context, fn func(q store.Queries) error) error {
	return s.Store.Tx(ctx, func(q store.Queries) error { return fn(noAudit{q}) })
}

func (failingAudit) AppendAudit(context.Context, ...store.AuditEvent) error { return errAudit }

type noAudit struct{ store.Queries }

func (noAudit) AppendAudit(context.Context, ...store.AuditEvent) error { return errAudit }

func TestChangeAndAuditAreAtomic(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	svc := newService(failingAudit{f.st})
	for _, c := range []struct {
		name string
		do   func() error
	}{
		{"create team", func() error { _, err := svc.CreateTeam(ctx, actor, "beta"); return err }},
		{"delete team", func() error { return svc.DeleteTeam(ctx, actor, "other") }},
		{"create user", func() error {
			_, err := svc.CreateUser(ctx, actor, "acme", admin.NewUser{Email: "new@example.com", Password: password})
			return err
		}},
		{"delete user", func() error { return svc.DeleteUser(ctx, actor, "acme", "ada@example.com") }},
		{"set password", func() error { return svc.SetPassword(ctx, actor, "acme", "ada@example.com", "another long password") }},
		{"disable user", func() error { return svc.SetDisabled(ctx, actor, "acme", "ada@example.com", true) }},
		{"end sessions", func() error { _, err := svc.EndSessions(ctx, actor, "acme", "ada@example.com"); return err }},
		{"create group", func() error { _, err := svc.CreateGroup(ctx, actor, "acme", "new"); return err }},
		{"delete group", func() error { return svc.DeleteGroup(ctx, actor, "acme", "eng") }},
		{"add member", func() error { return svc.AddMember(ctx, actor, "acme", "eng", "bob@example.com") }},
		{"remove member", func() error { return svc.RemoveMember(ctx, actor, "acme", "eng", "ada@example.com") }},
		{"create app", func() error { _, err := svc.CreateApp(ctx, actor, "acme", "new"); return err }},
		{"delete app", func() error { return svc.DeleteApp(ctx, actor, "acme", "ci") }},
		{"grant", func() error {
			_, err := svc.Grant(ctx, actor, perm("user:bob@example.com", "read", "team"))
			return err
		}},
		{"revoke", func() error { return svc.Revoke(ctx, actor, perm("user:ada@example.com", "read", "team")) }},
		{"bootstrap", func() error {
			// Bootstrap writes only into an empty store.
			st := openStore(t)
			before := takeSnapshot(t, st)
			_, ok, err := newService(failingAudit{st}).Bootstrap(ctx)
			if ok {
				t.Error("Bootstrap reported ok")
			}
			checkUnchanged(t, st, before)
			return err
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := takeSnapshot(t, f.st)
			checkErr(t, c.do(), errAudit)
			checkUnchanged(t, f.st, before)
		})
	}
}

func TestCreateUser(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name string
		in   admin.NewUser
		want store.User // without ID and PasswordHash
	}{
		{"team admin", admin.NewUser{Email: "ada@example.com", Name: "Ada Lovelace", Password: password, TeamAdmin: true},
			store.User{Team: "acme", Email: "ada@example.com", Name: "Ada Lovelace", TeamAdmin: true, CreatedAt: now, UpdatedAt: now}},
		{"not team admin", admin.NewUser{Email: "bob@example.com", Name: "Bob", Password: password},
			store.User{Team: "acme", Email: "bob@example.com", Name: "Bob", CreatedAt: now, UpdatedAt: now}},
		{"email lower-cased", admin.NewUser{Email: "Cy.Young@Example.COM", Name: "Cy", Password: password},
			store.User{Team: "acme", Email: "cy.young@example.com", Name: "Cy", CreatedAt: now, UpdatedAt: now}},
		{"name defaults to email", admin.NewUser{Email: "Dan@example.com", Password: password},
			store.User{Team: "acme", Email: "dan@example.com", Name: "dan@example.com", CreatedAt: now, UpdatedAt: now}},
		{"shortest password", admin.NewUser{Email: "eve@example.com", Password: "123456789012"},
			store.User{Team: "acme", Email: "eve@example.com", Name: "eve@example.com", CreatedAt: now, UpdatedAt: now}},
		{"password of 12 multibyte characters", admin.NewUser{Email: "fay@example.com", Password: "éééééééééééé"},
			store.User{Team: "acme", Email: "fay@example.com", Name: "fay@example.com", CreatedAt: now, UpdatedAt: now}},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := openStore(t)
			svc := newService(st)
			if _, err := svc.CreateTeam(ctx, actor, "acme"); err != nil {
				t.Fatal(err)
			}
			got, err := svc.CreateUser(ctx, actor, "acme", c.in)
			if err != nil {
				t.Fatal(err)
			}
			stored, err := st.UserByEmail(ctx, "acme", c.want.Email)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, stored); diff != "" {
				t.Errorf("returned and stored user differ (-returned +stored):\n%s", diff)
			}
			if diff := cmp.Diff(c.want, stored, cmpopts.IgnoreFields(store.User{}, "ID", "PasswordHash")); diff != "" {
				t.Errorf("stored user (-want +got):\n%s", diff)
			}
			if len(stored.ID) != 36 {
				t.Errorf("ID = %q, want a UUID", stored.ID)
			}
			// The password is stored only as an Argon2id PHC string with the
			// service's parameters.
			if !strings.HasPrefix(stored.PasswordHash, "$argon2id$v=19$m=64,t=1,p=1$") {
				t.Errorf("PasswordHash = %q, want an argon2id PHC string with m=64,t=1,p=1", stored.PasswordHash)
			}
			if strings.Contains(stored.PasswordHash, c.in.Password) {
				t.Errorf("PasswordHash %q holds the password", stored.PasswordHash)
			}
			if ok, err := secret.VerifyPassword(c.in.Password, stored.PasswordHash); err != nil || !ok {
				t.Errorf("VerifyPassword(right password) = %v, %v; want true", ok, err)
			}
			if ok, err := secret.VerifyPassword(c.in.Password+"x", stored.PasswordHash); err != nil || ok {
				t.Errorf("VerifyPassword(wrong password) = %v, %v; want false", ok, err)
			}
		})
	}
}

// Two users with one password get different salts.
// A new password, disabling a user and ending their sessions each end
// every web session of that user, and only theirs; enabling the user
// again brings none back. A short password changes nothing.
func TestUserChangesEndSessions(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	userID := func(team, email string) string {
		u, err := f.st.UserByEmail(ctx, team, email)
		if err != nil {
			t.Fatal(err)
		}
		return u.ID
	}
	ada, bob, eve := userID("acme", "ada@example.com"), userID("acme", "bob@example.com"), userID("other", "eve@example.com")
	start := func(team, id string) []byte {
		t.Helper()
		hash := []byte("session of " + id + " " + time.Now().String())
		if err := f.st.CreateSession(ctx, store.Session{Team: team, Hash: hash, UserID: id, CreatedAt: now, LastSeenAt: now,
			ExpiresAt: now.Add(time.Hour)}, 0); err != nil {
			t.Fatal(err)
		}
		return hash
	}
	live := func(team string, hash []byte) bool {
		_, err := f.st.Session(ctx, team, hash)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}
	for _, tc := range []struct {
		name    string
		do      func() error
		wantErr error
		ends    bool
	}{
		{"short password", func() error { return f.svc.SetPassword(ctx, actor, "acme", "ada@example.com", "short") }, kernel.ErrInvalid, false},
		{"unknown user", func() error { return f.svc.SetPassword(ctx, actor, "acme", "nobody@example.com", password) }, store.ErrNotFound, false},
		{"set password", func() error { return f.svc.SetPassword(ctx, actor, "acme", "ada@example.com", "another long password") }, nil, true},
		{"disable", func() error { return f.svc.SetDisabled(ctx, actor, "acme", "ada@example.com", true) }, nil, true},
		{"enable", func() error { return f.svc.SetDisabled(ctx, actor, "acme", "ada@example.com", false) }, nil, false},
		{"end sessions", func() error { _, err := f.svc.EndSessions(ctx, actor, "acme", "ADA@example.com"); return err }, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a1, a2, b, e := start("acme", ada), start("acme", ada), start("acme", bob), start("other", eve)
			if err := tc.do(); !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if live("acme", a1) == tc.ends || live("acme", a2) == tc.ends {
				t.Errorf("ada's sessions live: %v %v, want %v", live("acme", a1), live("acme", a2), !tc.ends)
			}
			if !live("acme", b) || !live("other", e) {
				t.Error("another user's session ended")
			}
			f.st.DeleteUserSessions(ctx, "acme", ada)
		})
	}
	u, err := f.st.UserByEmail(ctx, "acme", "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := secret.VerifyPassword("another long password", u.PasswordHash); !ok || u.Disabled {
		t.Errorf("ada: new password %v, disabled %v; want the new password, enabled", ok, u.Disabled)
	}
}

func TestPasswordHashIsSalted(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a, err := f.st.UserByEmail(ctx, "acme", "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.st.UserByEmail(ctx, "acme", "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if a.PasswordHash == b.PasswordHash {
		t.Errorf("two users with the same password have the same hash %q", a.PasswordHash)
	}
}

// A zero Password in the service means the production parameters.
func TestDefaultPasswordParams(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	svc := &admin.Service{Store: st, Now: func() time.Time { return now }}
	if _, err := svc.CreateTeam(ctx, kernel.CLI, "acme"); err != nil {
		t.Fatal(err)
	}
	u, err := svc.CreateUser(ctx, kernel.CLI, "acme", admin.NewUser{Email: "ada@example.com", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	if secret.PasswordNeedsRehash(u.PasswordHash, secret.DefaultPasswordParams) {
		t.Errorf("PasswordHash = %q, want DefaultPasswordParams", u.PasswordHash)
	}
}

// The same names may be used in two teams: each team is its own namespace.
func TestTeamsAreSeparate(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	if _, err := f.svc.CreateUser(ctx, actor, "other", admin.NewUser{Email: "ada@example.com", Password: password}); err != nil {
		t.Errorf("same email in another team: %v", err)
	}
	if _, err := f.svc.CreateGroup(ctx, actor, "other", "eng"); err != nil {
		t.Errorf("same group in another team: %v", err)
	}
	if _, err := f.svc.CreateApp(ctx, actor, "other", "ci"); err != nil {
		t.Errorf("same app in another team: %v", err)
	}
	if _, err := f.svc.Grant(ctx, actor, store.Permission{Team: "other", Principal: "user:ada@example.com", Action: "read", Resource: "team"}); err != nil {
		t.Errorf("same grant in another team: %v", err)
	}
	// Deleting other's ada leaves acme's.
	if err := f.svc.DeleteUser(ctx, actor, "other", "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.UserByEmail(ctx, "acme", "ada@example.com"); err != nil {
		t.Errorf("acme's ada after deleting other's: %v", err)
	}
	ps, err := f.svc.ListPermissions(ctx, "acme", "user:ada@example.com")
	if err != nil || len(ps) != 1 {
		t.Errorf("acme's ada's permissions after deleting other's: %v, %v; want one", ps, err)
	}
}

func TestDeleteUserRemovesMembershipsAndPermissions(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	if _, err := f.svc.Grant(ctx, actor, perm("user:ada@example.com", "manage", "users")); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteUser(ctx, actor, "acme", "ADA@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.UserByEmail(ctx, "acme", "ada@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted user: err = %v, want ErrNotFound", err)
	}
	check := func(when string) {
		t.Helper()
		g, err := f.st.Group(ctx, "acme", "eng")
		if err != nil {
			t.Fatal(err)
		}
		if len(g.Members) != 0 {
			t.Errorf("%s: group eng has members %v, want none", when, g.Members)
		}
		ps, err := f.svc.ListPermissions(ctx, "acme", "user:ada@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) != 0 {
			t.Errorf("%s: user:ada@example.com holds %v, want nothing", when, ps)
		}
	}
	check("after delete")
	// The group's own permissions stay.
	ps, err := f.svc.ListPermissions(ctx, "acme", "group:eng")
	if err != nil || len(ps) != 1 {
		t.Errorf("group:eng permissions = %v, %v; want one", ps, err)
	}
	// A new user with the same email inherits nothing.
	if _, err := f.svc.CreateUser(ctx, actor, "acme", admin.NewUser{Email: "ada@example.com", Password: password}); err != nil {
		t.Fatal(err)
	}
	check("after re-creating the user")
}

func TestDeleteGroupAndAppRemovePermissions(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	if err := f.svc.DeleteGroup(ctx, actor, "acme", "eng"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteApp(ctx, actor, "acme", "ci"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateGroup(ctx, actor, "acme", "eng"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateApp(ctx, actor, "acme", "ci"); err != nil {
		t.Fatal(err)
	}
	g, err := f.st.Group(ctx, "acme", "eng")
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Members) != 0 {
		t.Errorf("re-created group has members %v", g.Members)
	}
	got, err := f.svc.ListPermissions(ctx, "acme", "")
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Permission{
		{Team: "acme", Principal: "client:" + f.client.ID, Action: "*", Resource: "team", CreatedAt: now},
		{Team: "acme", Principal: "user:ada@example.com", Action: "read", Resource: "team", CreatedAt: now},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("permissions after deleting and re-creating group eng and app ci (-want +got):\n%s", diff)
	}
}

func TestDeleteTeamRemovesEverything(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	if err := f.svc.DeleteTeam(ctx, actor, "acme"); err != nil {
		t.Fatal(err)
	}
	s := takeSnapshot(t, f.st)
	if diff := cmp.Diff([]string{"other"}, teamNames(s.Teams)); diff != "" {
		t.Errorf("teams (-want +got):\n%s", diff)
	}
	if events := s.Audit["acme"]; len(events) != 0 {
		t.Errorf("deleted team's audit log holds %d events", len(events))
	}
	// Re-created, it is empty.
	if _, err := f.svc.CreateTeam(ctx, actor, "acme"); err != nil {
		t.Fatal(err)
	}
	for what, n := range map[string]func() (int, error){
		"users":       func() (int, error) { us, err := f.svc.AllUsers(ctx, "acme"); return len(us), err },
		"groups":      func() (int, error) { gs, err := f.svc.ListGroups(ctx, "acme"); return len(gs), err },
		"apps":        func() (int, error) { as, err := f.svc.ListApps(ctx, "acme"); return len(as), err },
		"permissions": func() (int, error) { ps, err := f.svc.ListPermissions(ctx, "acme", ""); return len(ps), err },
		"clients":     func() (int, error) { cs, err := f.st.ListClients(ctx, "acme"); return len(cs), err },
	} {
		if got, err := n(); err != nil || got != 0 {
			t.Errorf("re-created team has %d %s (err %v), want none", got, what, err)
		}
	}
	// The other team is untouched.
	if us, err := f.svc.AllUsers(ctx, "other"); err != nil || len(us) != 1 {
		t.Errorf("users of team other = %v, %v; want one", us, err)
	}
}

func teamNames(ts []store.Team) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Name)
	}
	return out
}

func TestLists(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)

	teams, err := f.svc.ListTeams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.Team{{Name: "acme", CreatedAt: now}, {Name: "other", CreatedAt: now}}, teams); diff != "" {
		t.Errorf("ListTeams (-want +got):\n%s", diff)
	}

	users, err := f.svc.AllUsers(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	wantUsers := []store.User{
		{Team: "acme", Email: "ada@example.com", Name: "Ada", TeamAdmin: true, CreatedAt: now, UpdatedAt: now},
		{Team: "acme", Email: "bob@example.com", Name: "bob@example.com", CreatedAt: now, UpdatedAt: now},
	}
	if diff := cmp.Diff(wantUsers, users, cmpopts.IgnoreFields(store.User{}, "ID", "PasswordHash")); diff != "" {
		t.Errorf("AllUsers (-want +got):\n%s", diff)
	}

	groups, err := f.svc.ListGroups(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.Group{{Team: "acme", Name: "eng", CreatedAt: now, UpdatedAt: now, Members: []string{users[0].ID}}}, groups,
		cmpopts.IgnoreFields(store.Group{}, "ID")); diff != "" {
		t.Errorf("ListGroups (-want +got):\n%s", diff)
	}

	apps, err := f.svc.ListApps(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.Application{{Team: "acme", Name: "ci", CreatedAt: now}}, apps); diff != "" {
		t.Errorf("ListApps (-want +got):\n%s", diff)
	}

	for _, c := range []struct {
		principal string
		want      []store.Permission
	}{
		{"", []store.Permission{
			{Team: "acme", Principal: "app:ci", Action: "read", Resource: "packages/42", CreatedAt: now},
			{Team: "acme", Principal: "client:" + f.client.ID, Action: "*", Resource: "team", CreatedAt: now},
			{Team: "acme", Principal: "group:eng", Action: "push", Resource: "data-pools/*", CreatedAt: now},
			{Team: "acme", Principal: "user:ada@example.com", Action: "read", Resource: "team", CreatedAt: now},
		}},
		{"user:ada@example.com", []store.Permission{{Team: "acme", Principal: "user:ada@example.com", Action: "read", Resource: "team", CreatedAt: now}}},
		{"user:ADA@Example.com", []store.Permission{{Team: "acme", Principal: "user:ada@example.com", Action: "read", Resource: "team", CreatedAt: now}}},
		{"group:eng", []store.Permission{{Team: "acme", Principal: "group:eng", Action: "push", Resource: "data-pools/*", CreatedAt: now}}},
		{"app:nope", nil},
	} {
		got, err := f.svc.ListPermissions(ctx, "acme", c.principal)
		if err != nil {
			t.Errorf("ListPermissions(%q): %v", c.principal, err)
			continue
		}
		if diff := cmp.Diff(c.want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("ListPermissions(%q) (-want +got):\n%s", c.principal, diff)
		}
	}

	// Listing in a team that does not exist, or with a bad principal, fails.
	for _, c := range []struct {
		name string
		err  error
		want error
	}{
		{"users of unknown team", second(f.svc.AllUsers(ctx, "nope")), store.ErrNotFound},
		{"groups of unknown team", second(f.svc.ListGroups(ctx, "nope")), store.ErrNotFound},
		{"apps of unknown team", second(f.svc.ListApps(ctx, "nope")), store.ErrNotFound},
		{"permissions of unknown team", second(f.svc.ListPermissions(ctx, "nope", "")), store.ErrNotFound},
		{"users of bad team", second(f.svc.AllUsers(ctx, "Bad")), kernel.ErrInvalid},
		{"permissions of bad principal", second(f.svc.ListPermissions(ctx, "acme", "robot:x")), kernel.ErrInvalid},
		{"permissions of bad email", second(f.svc.ListPermissions(ctx, "acme", "user:ada")), kernel.ErrInvalid},
	} {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, c.err, c.want)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestBootstrap(t *testing.T) {
	ctx := context.Background()

	t.Run("empty store", func(t *testing.T) {
		st := openStore(t)
		svc := newService(st)
		b, ok, err := svc.Bootstrap(ctx)
		if err != nil || !ok {
			t.Fatalf("Bootstrap = %v, %v; want ok", ok, err)
		}
		if b.Team != admin.DevTeam || b.Email != admin.DevAdmin || len(b.Password) != secret.TokenLen {
			t.Errorf("Bootstrap = %+v, want team %s, email %s and a %d-character password", b, admin.DevTeam, admin.DevAdmin, secret.TokenLen)
		}
		s := takeSnapshot(t, st)
		if diff := cmp.Diff([]store.Team{{Name: admin.DevTeam, CreatedAt: now}}, s.Teams); diff != "" {
			t.Errorf("teams (-want +got):\n%s", diff)
		}
		wantUser := store.User{Team: admin.DevTeam, Email: admin.DevAdmin, Name: "Acme Admin", TeamAdmin: true, CreatedAt: now, UpdatedAt: now}
		if diff := cmp.Diff([]store.User{wantUser}, s.Users[admin.DevTeam], cmpopts.IgnoreFields(store.User{}, "ID", "PasswordHash")); diff != "" {
			t.Fatalf("users (-want +got):\n%s", diff)
		}
		hash := s.Users[admin.DevTeam][0].PasswordHash
		if ok, err := secret.VerifyPassword(b.Password, hash); err != nil || !ok {
			t.Errorf("VerifyPassword(bootstrap password) = %v, %v; want true", ok, err)
		}
		ev := func(action, target string, detail map[string]string) store.AuditEvent {
			return store.AuditEvent{Team: admin.DevTeam, At: now, Actor: "bootstrap", Action: action, Target: target, Detail: detail}
		}
		want := []store.AuditEvent{
			ev("user.create", "user:"+admin.DevAdmin, map[string]string{"team_admin": "true"}),
			ev("team.create", admin.DevTeam, nil),
		}
		if diff := cmp.Diff(want, s.Audit[admin.DevTeam], cmpopts.IgnoreFields(store.AuditEvent{}, "ID"), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("audit log (-want +got):\n%s", diff)
		}

		// A second run changes nothing.
		before := takeSnapshot(t, st)
		if b, ok, err := svc.Bootstrap(ctx); err != nil || ok || b != (admin.Bootstrapped{}) {
			t.Errorf("second Bootstrap = %+v, %v, %v; want nothing", b, ok, err)
		}
		checkUnchanged(t, st, before)
	})

	t.Run("store with another team", func(t *testing.T) {
		st := openStore(t)
		svc := newService(st)
		if _, err := svc.CreateTeam(ctx, kernel.CLI, "zeta"); err != nil {
			t.Fatal(err)
		}
		before := takeSnapshot(t, st)
		if b, ok, err := svc.Bootstrap(ctx); err != nil || ok || b != (admin.Bootstrapped{}) {
			t.Errorf("Bootstrap = %+v, %v, %v; want nothing", b, ok, err)
		}
		checkUnchanged(t, st, before)
	})

	t.Run("failure leaves the store empty", func(t *testing.T) {
		// The source of randomness gives the password and then fails, so
		// the admin cannot be made: the team must not be made either, or
		// the next start would find a team without an admin and give up.
		st := openStore(t)
		before := takeSnapshot(t, st)
		svc := newService(st)
		svc.Gen = secret.Generator{Rand: io.MultiReader(strings.NewReader(strings.Repeat("x", secret.TokenBytes)), failingReader{})}
		if _, ok, err := svc.Bootstrap(ctx); err == nil || ok {
			t.Fatalf("Bootstrap = %v, %v; want an error", ok, err)
		}
		checkUnchanged(t, st, before)
		if _, ok, err := newService(st).Bootstrap(ctx); err != nil || !ok {
			t.Errorf("Bootstrap after a failed one = %v, %v; want ok", ok, err)
		}
	})
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

// Groups are named as identity providers name them: spaces and any
// Unicode, in the service, in the group: principal and in membership. A
// name sent decomposed (NFD) names the same group as the composed one.
func TestGroupNamesAsProvidersSendThem(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	for _, tc := range []struct{ sent, stored string }{
		{"Sales Team", "Sales Team"},
		{"Ventes – Europe", "Ventes – Europe"},
		{"営業 部", "営業 部"},
		{"Equipe Montre\u0301al", "Equipe Montréal"}, // NFD in, NFC stored
		{"R&D: Tools/Infra", "R&D: Tools/Infra"},
		{"👩\u200d💻 Devs", "👩\u200d💻 Devs"},
		{strings.Repeat("é", authz.MaxGroupName), strings.Repeat("é", authz.MaxGroupName)},
	} {
		t.Run(tc.sent, func(t *testing.T) {
			g, err := f.svc.CreateGroup(ctx, actor, "acme", tc.sent)
			if err != nil {
				t.Fatal(err)
			}
			if g.Name != tc.stored {
				t.Errorf("stored as %q, want %q", g.Name, tc.stored)
			}
			if err := f.svc.AddMember(ctx, actor, "acme", tc.sent, "bob@example.com"); err != nil {
				t.Fatal(err)
			}
			p, err := f.svc.Grant(ctx, actor, store.Permission{Team: "acme", Principal: "group:" + tc.sent, Action: "read", Resource: "audit-log"})
			if err != nil {
				t.Fatal(err)
			}
			if p.Principal != "group:"+tc.stored {
				t.Errorf("principal %q, want %q", p.Principal, "group:"+tc.stored)
			}
			held, err := authz.HeldIn(ctx, f.st, "acme", "user:bob@example.com")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(held.Grants, kernel.Grant{Action: "read", Resource: "audit-log"}) {
				t.Errorf("bob holds %v, want the group's read on audit-log", held.Grants)
			}
			if err := f.svc.Revoke(ctx, actor, p); err != nil {
				t.Fatal(err)
			}
			if err := f.svc.RemoveMember(ctx, actor, "acme", tc.stored, "bob@example.com"); err != nil {
				t.Fatal(err)
			}
			if err := f.svc.DeleteGroup(ctx, actor, "acme", tc.sent); err != nil {
				t.Fatal(err)
			}
		})
	}
}
