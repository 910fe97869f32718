package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func testPermissions(t *testing.T, s store.Store) {
	mkTeam(t, s, "alpha")
	mkTeam(t, s, "beta")
	p := func(principal, action, resource string) store.Permission {
		return store.Permission{Team: "alpha", Principal: principal, Action: action, Resource: resource, CreatedAt: at(time.Second + 5*time.Microsecond)}
	}
	annRead := p("user:ann@example.com", "read", "audit-log")
	annPush := p("user:ann@example.com", "push", "data-pools/*")
	opsPush := p("group:ops", "push", "data-pools/42")
	appRead := p("app:billing", "read", "packages/42")
	clientAll := p("client:0b5cbd4e-8f0e-4c55-9a3b-2f0e8b8f0a11", "manage", "team")
	all := []store.Permission{annRead, annPush, opsPush, appRead, clientAll}
	betaRead := mkPermission(t, s, "beta", "user:ann@example.com", "read", "audit-log")

	list := func(t *testing.T, principal string, want ...store.Permission) {
		t.Helper()
		got, err := s.ListPermissions(t.Context(), "alpha", principal)
		if wantErr(t, "ListPermissions("+principal+")", err, nil) {
			diff(t, "ListPermissions("+principal+")", want, got, opts)
		}
	}

	t.Run("GrantPermission", func(t *testing.T) {
		for _, p := range all {
			must(t, "grant "+permKey(p), s.GrantPermission(t.Context(), p))
		}
	})
	t.Run("GrantPermission/duplicate", func(t *testing.T) {
		dup := annRead
		dup.CreatedAt = at(time.Hour)
		err := s.GrantPermission(t.Context(), dup)
		wantErr(t, "GrantPermission again", err, store.ErrAlreadyExists)
		list(t, annRead.Principal, annRead, annPush)
	})
	t.Run("ListPermissions", func(t *testing.T) {
		tests := []struct {
			principal string
			want      []store.Permission
		}{
			{"", all},
			{"user:ann@example.com", []store.Permission{annRead, annPush}},
			{"group:ops", []store.Permission{opsPush}},
			{"app:billing", []store.Permission{appRead}},
			{clientAll.Principal, []store.Permission{clientAll}},
			{"user:bob@example.com", nil},
			{"user:ann", nil},
		}
		for _, tc := range tests {
			t.Run(tc.principal, func(t *testing.T) {
				list(t, tc.principal, tc.want...)
			})
		}
	})
	t.Run("RevokePermission", func(t *testing.T) {
		r := annPush
		r.CreatedAt = time.Time{} // a revocation names the grant, not its time
		must(t, "RevokePermission", s.RevokePermission(t.Context(), r))
		list(t, annRead.Principal, annRead)
		list(t, "", annRead, opsPush, appRead, clientAll)
		got, err := s.ListPermissions(t.Context(), "beta", "")
		if wantErr(t, "ListPermissions(beta)", err, nil) {
			diff(t, "ListPermissions(beta)", []store.Permission{betaRead}, got, opts)
		}
		err = s.RevokePermission(t.Context(), r)
		wantErr(t, "RevokePermission again", err, store.ErrNotFound)
		// It can be granted again.
		must(t, "grant again", s.GrantPermission(t.Context(), annPush))
		list(t, annRead.Principal, annRead, annPush)
	})
	t.Run("RevokePermission/missing", func(t *testing.T) {
		tests := []struct {
			name string
			p    store.Permission
		}{
			{"principal", p("user:bob@example.com", "read", "audit-log")},
			{"action", p("user:ann@example.com", "write", "audit-log")},
			{"resource", p("user:ann@example.com", "read", "audit-log/1")},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				err := s.RevokePermission(t.Context(), tc.p)
				wantErr(t, "RevokePermission", err, store.ErrNotFound)
				list(t, "", all...)
			})
		}
	})
}
