package admin_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// A provisioned user has no password (none matches, not even the empty
// one), is never a team admin, and keeps what the provider sent; bad
// fields are refused, each named.
func TestProvisionUser(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	in := admin.NewProvisioned{Email: "Pat@Example.com", Name: "Pat Doe", ExternalID: "00uPAT", GivenName: "Pat", FamilyName: "Doe",
		Emails: []store.Email{{Value: "pat@example.com", Type: "work", Primary: true}}}
	u, err := f.svc.ProvisionUser(ctx, actor, "acme", in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.st.User(ctx, "acme", u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Email != "pat@example.com" || got.PasswordHash != "" || got.TeamAdmin || got.ExternalID != "00uPAT" ||
		got.GivenName != "Pat" || got.FamilyName != "Doe" || !slices.Equal(got.Emails, in.Emails) || !got.UpdatedAt.Equal(now) {
		t.Errorf("provisioned user %+v", got)
	}
	if ok, _ := secret.VerifyPassword("", got.PasswordHash); ok {
		t.Error("the empty password matches a provisioned user")
	}
	if _, err := f.svc.ProvisionUser(ctx, actor, "acme", in); !errors.Is(err, store.ErrAlreadyExists) {
		t.Errorf("provisioning the same userName again: %v, want ErrAlreadyExists", err)
	}
	for _, bad := range []admin.NewProvisioned{
		{Email: "not an email"},
		{Email: "x@example.com", ExternalID: "a\nb"},
		{Email: "x@example.com", Emails: []store.Email{{Value: "nope"}}},
		{Email: "x@example.com", Emails: []store.Email{{Value: "a@example.com", Primary: true}, {Value: "b@example.com", Primary: true}}},
		{Email: "x@example.com", Emails: make([]store.Email, store.MaxEmails+1)},
	} {
		if _, err := f.svc.ProvisionUser(ctx, actor, "acme", bad); !errors.Is(err, kernel.ErrInvalid) || len(kernel.FieldErrors(err)) == 0 {
			t.Errorf("ProvisionUser(%+v): %v, want ErrInvalid naming a field", bad, err)
		}
	}
}

// Disabling a user, however it is done, ends every credential: sessions,
// refresh tokens (revoked) and access tokens (a cut-off per client the
// user consented to); enabling again brings none back.
func TestDisableEndsCredentials(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		disable func(f fixture, u store.User) error
	}{
		{"SetDisabled", func(f fixture, u store.User) error { return f.svc.SetDisabled(ctx, actor, "acme", u.Email, true) }},
		{"UpdateUser", func(f fixture, u store.User) error {
			yes := true
			_, err := f.svc.UpdateUser(ctx, actor, "acme", u.ID, admin.UserChange{Disabled: &yes})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			bob, err := f.st.UserByEmail(ctx, "acme", "bob@example.com")
			if err != nil {
				t.Fatal(err)
			}
			if err := f.st.UpsertConsent(ctx, store.Consent{Team: "acme", UserID: bob.ID, ClientID: f.client.ID, Scopes: []string{"a"}, CreatedAt: now, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
			rt := store.RefreshToken{Team: "acme", Hash: []byte("rt"), FamilyID: "fam", ClientID: f.client.ID, UserID: bob.ID,
				CreatedAt: now, ExpiresAt: now.Add(time.Hour), FamilyExpiresAt: now.Add(time.Hour)}
			if err := f.st.CreateRefreshToken(ctx, rt); err != nil {
				t.Fatal(err)
			}
			if err := tc.disable(f, bob); err != nil {
				t.Fatal(err)
			}
			got, err := f.st.RefreshToken(ctx, "acme", rt.Hash)
			if err != nil || got.RevokedAt == nil {
				t.Errorf("refresh token after disabling: %+v, %v; want it revoked", got, err)
			}
			if _, err := f.st.GrantRevocation(ctx, "acme", bob.ID, f.client.ID, now); err != nil {
				t.Errorf("no cut-off of bob's access tokens to the client: %v", err)
			}
			if err := f.svc.SetDisabled(ctx, actor, "acme", bob.Email, false); err != nil {
				t.Fatal(err)
			}
			if got, _ := f.st.RefreshToken(ctx, "acme", rt.Hash); got.RevokedAt == nil {
				t.Error("enabling bob again brought the refresh token back")
			}
		})
	}
}

// Groups by ID: created with members, renamed (members and permissions
// follow), members added, removed and set, each change audited, a stale
// version refused, members that give what the actor lacks refused, and
// deleted.
func TestProvisionGroups(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	bob, _ := f.st.UserByEmail(ctx, "acme", "bob@example.com")
	ada, _ := f.st.UserByEmail(ctx, "acme", "ada@example.com")
	g, err := f.svc.ProvisionGroup(ctx, actor, "acme", admin.NewGroup{Name: "Sales Team", ExternalID: "ext", Members: []string{bob.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(g.Members, []string{bob.ID}) || g.ID == "" {
		t.Fatalf("created %+v", g)
	}
	if _, err := f.svc.Grant(ctx, actor, store.Permission{Team: "acme", Principal: "group:Sales Team", Action: "read", Resource: "audit-log"}); err != nil {
		t.Fatal(err)
	}
	stale := admin.GroupVersion(g)
	name := "Ventes – Europe"
	g2, err := f.svc.UpdateGroup(ctx, actor, "acme", g.ID, admin.GroupChange{Name: &name, Add: []string{ada.ID, ada.ID}, IfVersion: stale})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{ada.ID, bob.ID}
	slices.Sort(want)
	if g2.Name != name || !slices.Equal(g2.Members, want) || g2.ID != g.ID {
		t.Errorf("after rename and add: %+v", g2)
	}
	held, err := authz.HeldIn(ctx, f.st, "acme", "user:bob@example.com")
	if err != nil || !slices.Contains(held.Grants, kernel.Grant{Action: "read", Resource: "audit-log"}) {
		t.Errorf("bob holds %+v (%v) after the rename, want the group's permission", held, err)
	}
	if _, err := f.svc.UpdateGroup(ctx, actor, "acme", g.ID, admin.GroupChange{Remove: []string{bob.ID}, IfVersion: stale}); !errors.Is(err, kernel.ErrStale) {
		t.Errorf("change against a stale version: %v, want ErrStale", err)
	}
	// An actor that holds nothing cannot add members to a group with a
	// permission, but can remove them.
	weak := kernel.Actor{ID: "client:weak", Authority: authz.Grants{}}
	if _, err := f.svc.UpdateGroup(ctx, weak, "acme", g.ID, admin.GroupChange{Members: &[]string{}}); err != nil {
		t.Errorf("removing every member: %v", err)
	}
	if _, err := f.svc.UpdateGroup(ctx, weak, "acme", g.ID, admin.GroupChange{Add: []string{bob.ID}}); !errors.Is(err, kernel.ErrForbidden) {
		t.Errorf("adding a member without the group's permissions: %v, want ErrForbidden", err)
	}
	if _, err := f.svc.UpdateGroup(ctx, actor, "acme", g.ID, admin.GroupChange{Add: []string{"00000000-0000-4000-8000-000000000000"}}); !errors.Is(err, kernel.ErrInvalid) {
		t.Errorf("adding no one: %v, want ErrInvalid", err)
	}
	taken := "eng"
	if _, err := f.svc.UpdateGroup(ctx, actor, "acme", g.ID, admin.GroupChange{Name: &taken}); !errors.Is(err, store.ErrAlreadyExists) {
		t.Errorf("renaming to a taken name: %v, want ErrAlreadyExists", err)
	}
	evs, _, err := f.st.ListAudit(ctx, "acme", store.AuditFilter{}, store.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, ev := range evs {
		count[ev.Action]++
	}
	if count["group.create"] < 1 || count["group.update"] != 1 || count["group.member.add"] != 3 || count["group.member.remove"] != 2 {
		t.Errorf("audit events %v", count)
	}
	if err := f.svc.DeleteGroupByID(ctx, actor, "acme", g.ID, "stale"); !errors.Is(err, kernel.ErrStale) {
		t.Errorf("delete against a stale version: %v, want ErrStale", err)
	}
	if err := f.svc.DeleteGroupByID(ctx, actor, "acme", g.ID, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.GroupByID(ctx, "acme", g.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted group: %v, want ErrNotFound", err)
	}
}

// GroupVersion is a group's ETag, which providers keep between calls: its
// value for a group must not change when its computation does. These are
// the versions that SHA-256 of fmt's "%q %q %q %q" of ID, name, external
// ID and the sorted members joined by spaces gave when groups got
// versions.
func TestGroupVersionStable(t *testing.T) {
	for _, tc := range []struct {
		g    store.Group
		want string
	}{
		{store.Group{ID: "g1", Name: "Sales Team"}, "56137f4bd1fa93e2e58550858103ea46"},
		{store.Group{ID: "0b6f4c1e-6a43-4c55-9d7a-2f1e9f0a6b11", Name: "Ventes – Europe", ExternalID: "ext \"q\"\n",
			Members: []string{"u2", "u1", "ü3"}}, "75aa59f62eb824bd1e9e7d734d8ff064"},
	} {
		if got := admin.GroupVersion(tc.g); got != tc.want {
			t.Errorf("GroupVersion(%+v) = %s, want %s", tc.g, got, tc.want)
		}
	}
}
