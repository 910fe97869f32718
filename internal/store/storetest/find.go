package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// pageAll pages through a Find method with pages of size, checking that
// every page but the last is full, and returns what it found.
func pageAll[T any](t *testing.T, what string, size int, find func(p store.Page) ([]T, string, error)) []T {
	t.Helper()
	var all []T
	p := store.Page{Limit: size}
	for range 1000 {
		got, next, err := find(p)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		all = append(all, got...)
		if next == "" {
			return all
		}
		if len(got) != size {
			t.Errorf("%s: a page of %d before the last, want %d", what, len(got), size)
		}
		p.Cursor = next
	}
	t.Fatalf("%s: no last page", what)
	return nil
}

func names[T any](xs []T, name func(T) string) []string {
	out := []string{}
	for _, x := range xs {
		out = append(out, name(x))
	}
	return out
}

// testFind checks the admin listings: order, pages, each filter, and that
// nothing of another team is found.
func testFind(t *testing.T, s store.Store) {
	mkTeam(t, s, "alpha")
	mkTeam(t, s, "beta")
	ann := mkUser(t, s, "alpha", "ann@example.com")
	bob := mkUser(t, s, "alpha", "bob@example.com")
	mkUser(t, s, "alpha", "carl@example.net")
	ann.Name = "Zed Ann"
	must(t, "rename ann", s.UpdateUser(t.Context(), ann))
	mkUser(t, s, "beta", "ann@example.com")
	for _, g := range []string{"Ops", "admins", "auditors", "sales"} {
		mkGroup(t, s, "alpha", g, bob.ID)
	}
	mkGroup(t, s, "beta", "audit-beta")
	for _, a := range []string{"etl", "Exporter", "pusher", "ETL2", "etl1"} {
		mkApp(t, s, "alpha", a)
	}
	mkApp(t, s, "beta", "etl")
	c1 := mkClient(t, s, "alpha", "Reports")
	c2 := mkClient(t, s, "alpha", "reporting")
	c3 := mkClient(t, s, "alpha", "svc")
	c3.GrantTypes, c3.Scopes, c3.RedirectURIs = []string{"client_credentials"}, []string{"audit.log:readx", "team.login-history:read"}, nil
	must(t, "update svc", s.UpdateClient(t.Context(), c3))
	mkClient(t, s, "beta", "Reports")

	t.Run("FindUsers", func(t *testing.T) {
		for _, tc := range []struct {
			q    string
			want []string
		}{
			{"", []string{"ann@example.com", "bob@example.com", "carl@example.net"}},
			{"B", []string{"bob@example.com"}},
			{"zed", []string{"ann@example.com"}}, // the name
			{"name of c", []string{"carl@example.net"}},
			{"ann@", []string{"ann@example.com"}},
			{"x", []string{}},
			{"_", []string{}},
		} {
			got := pageAll(t, "FindUsers "+tc.q, 1, func(p store.Page) ([]store.User, string, error) {
				return s.FindUsers(t.Context(), "alpha", store.UserFilter{Query: tc.q}, p)
			})
			diff(t, "FindUsers(alpha, "+tc.q+")", tc.want, names(got, func(u store.User) string { return u.Email }))
		}
	})
	t.Run("FindGroups", func(t *testing.T) {
		got := pageAll(t, "FindGroups", 2, func(p store.Page) ([]store.Group, string, error) {
			return s.FindGroups(t.Context(), "alpha", store.NameFilter{}, p)
		})
		// In name order, ASCII case folded.
		diff(t, "FindGroups(alpha)", []string{"admins", "auditors", "Ops", "sales"}, names(got, func(g store.Group) string { return g.Name }))
		if len(got) > 2 {
			diff(t, "FindGroups members", []string{bob.ID}, got[2].Members)
		}
		got = pageAll(t, "FindGroups a", 1, func(p store.Page) ([]store.Group, string, error) {
			return s.FindGroups(t.Context(), "alpha", store.NameFilter{Query: "A"}, p)
		})
		diff(t, "FindGroups(alpha, A)", []string{"admins", "auditors"}, names(got, func(g store.Group) string { return g.Name }))
		got = pageAll(t, "FindGroups o", 1, func(p store.Page) ([]store.Group, string, error) {
			return s.FindGroups(t.Context(), "alpha", store.NameFilter{Query: "o"}, p)
		})
		diff(t, "FindGroups(alpha, o)", []string{"Ops"}, names(got, func(g store.Group) string { return g.Name }))
	})
	t.Run("FindApps", func(t *testing.T) {
		got := pageAll(t, "FindApps e", 1, func(p store.Page) ([]store.Application, string, error) {
			return s.FindApps(t.Context(), "alpha", store.NameFilter{Query: "e"}, p)
		})
		diff(t, "FindApps(alpha, e)", []string{"etl", "etl1", "ETL2", "Exporter"}, names(got, func(a store.Application) string { return a.Name }))
	})
	t.Run("FindClients", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			f    store.ClientFilter
			want []store.Client
		}{
			{"all", store.ClientFilter{}, []store.Client{c1, c2, c3}},
			{"q", store.ClientFilter{Query: "rEp"}, []store.Client{c1, c2}},
			{"grant type", store.ClientFilter{GrantType: "authorization_code"}, []store.Client{c1, c2}},
			{"scope", store.ClientFilter{Scope: "team.login-history:read"}, []store.Client{c3}},
			{"scope is a whole word", store.ClientFilter{Scope: "audit.log:read"}, []store.Client{c1, c2}},
			{"wildcards are literal", store.ClientFilter{Scope: "audit.log%"}, nil},
			{"case counts", store.ClientFilter{Scope: "AUDIT.log:read"}, nil},
		} {
			got := pageAll(t, "FindClients "+tc.name, 1, func(p store.Page) ([]store.Client, string, error) {
				return s.FindClients(t.Context(), "alpha", tc.f, p)
			})
			diff(t, "FindClients(alpha) "+tc.name, tc.want, got, opts)
		}
	})
	t.Run("FindKeys", func(t *testing.T) {
		// Keys are listed in the order they were made, id breaking ties:
		// made out of id order, two of them at the same instant.
		mkKeyAt := func(team, kind, owner string, id string, created time.Duration) store.StaticKey {
			k := store.StaticKey{Team: team, ID: id, Kind: kind, Owner: owner, Hash: []byte("hash of key " + id), CreatedAt: at(created)}
			must(t, "create key", s.CreateKey(t.Context(), k))
			return k
		}
		k1 := mkKeyAt("alpha", store.KeyKindUser, ann.ID, "f0000000-0000-4000-8000-000000000001", 9*time.Minute)
		k2 := mkKeyAt("alpha", store.KeyKindUser, bob.ID, "b0000000-0000-4000-8000-000000000002", 8*time.Minute)
		k3 := mkKeyAt("alpha", store.KeyKindApp, "etl", "a0000000-0000-4000-8000-000000000003", 8*time.Minute)
		k4 := mkKeyAt("alpha", store.KeyKindApp, "etl", "00000000-0000-4000-8000-000000000004", 10*time.Minute)
		mkKeyAt("beta", store.KeyKindApp, "etl", "10000000-0000-4000-8000-000000000005", time.Minute)
		must(t, "use k1", s.RecordKeyUse(t.Context(), "alpha", []store.KeyUse{{ID: k1.ID, At: at(time.Hour), IP: "192.0.2.1"}}))
		must(t, "use k2", s.RecordKeyUse(t.Context(), "alpha", []store.KeyUse{{ID: k2.ID, At: at(3 * time.Hour), IP: "192.0.2.1"}}))
		ids := func(ks ...store.StaticKey) []string { return names(ks, func(k store.StaticKey) string { return k.ID }) }
		for _, tc := range []struct {
			name string
			f    store.KeyFilter
			want []string
		}{
			{"all", store.KeyFilter{}, ids(k3, k2, k1, k4)},
			{"owner", store.KeyFilter{Kind: store.KeyKindApp, Owner: "etl"}, ids(k3, k4)},
			{"used before", store.KeyFilter{UsedBefore: ptr(at(2 * time.Hour))}, ids(k3, k1, k4)},
			{"used since", store.KeyFilter{UsedSince: ptr(at(2 * time.Hour))}, ids(k2)},
		} {
			got := pageAll(t, "FindKeys "+tc.name, 1, func(p store.Page) ([]store.StaticKey, string, error) {
				return s.FindKeys(t.Context(), "alpha", tc.f, p)
			})
			diff(t, "FindKeys(alpha) "+tc.name, tc.want, ids(got...))
		}
	})
	t.Run("FindPermissions", func(t *testing.T) {
		want := []store.Permission{
			mkPermission(t, s, "alpha", "app:etl", "push", "data-pools/*"),
			mkPermission(t, s, "alpha", "app:etl", "read", "audit-log"),
			mkPermission(t, s, "alpha", "group:Ops", "read", "audit-log"),
		}
		mkPermission(t, s, "beta", "app:etl", "read", "audit-log")
		got := pageAll(t, "FindPermissions", 1, func(p store.Page) ([]store.Permission, string, error) {
			return s.FindPermissions(t.Context(), "alpha", store.PermissionFilter{}, p)
		})
		diff(t, "FindPermissions(alpha)", want, got, opts)
		got = pageAll(t, "FindPermissions etl", 1, func(p store.Page) ([]store.Permission, string, error) {
			return s.FindPermissions(t.Context(), "alpha", store.PermissionFilter{Principal: "app:etl"}, p)
		})
		diff(t, "FindPermissions(alpha, app:etl)", want[:2], got, opts)
	})
	t.Run("UsersByID", func(t *testing.T) {
		got, err := s.UsersByID(t.Context(), "alpha", []string{ann.ID, bob.ID, "no-such-id"})
		if wantErr(t, "UsersByID", err, nil) {
			diff(t, "UsersByID(alpha)", []store.User{ann, bob}, got, opts)
		}
		got, err = s.UsersByID(t.Context(), "beta", []string{ann.ID})
		if wantErr(t, "UsersByID(beta)", err, nil) && len(got) != 0 {
			t.Errorf("UsersByID(beta, alpha's) = %v", got)
		}
	})
	t.Run("bad cursor", func(t *testing.T) {
		if _, _, err := s.FindPermissions(t.Context(), "alpha", store.PermissionFilter{}, store.Page{Cursor: "eA"}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("FindPermissions with a foreign cursor = %v, want ErrInvalid", err)
		}
		if _, _, err := s.FindUsers(t.Context(), "alpha", store.UserFilter{}, store.Page{Cursor: "!!"}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("FindUsers with a bad cursor = %v, want ErrInvalid", err)
		}
	})
}
