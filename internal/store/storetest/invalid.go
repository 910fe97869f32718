package storetest

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

// testInvalid checks that listings refuse what they cannot use with
// ErrInvalid.
func testInvalid(t *testing.T, s store.Store) {
	createFixture(t, s, newFixture("alpha", false))
	must(t, "AppendAudit", s.AppendAudit(t.Context(), auditEvents("alpha")...))
	for _, e := range loginEvents("alpha") {
		must(t, "AppendLogin", s.AppendLogin(t.Context(), e))
	}
	bad := store.Page{Limit: 2, Cursor: "%%% not a cursor %%%"}
	tests := []struct {
		name string
		list func() error
	}{
		{"ListUsers/cursor", func() error {
			_, _, err := s.ListUsers(t.Context(), "alpha", bad)
			return err
		}},
		{"ListGroups/cursor", func() error {
			_, _, err := s.ListGroups(t.Context(), "alpha", bad)
			return err
		}},
		{"ListAudit/cursor", func() error {
			_, _, err := s.ListAudit(t.Context(), "alpha", store.AuditFilter{}, bad)
			return err
		}},
		{"ListLogins/cursor", func() error {
			_, _, err := s.ListLogins(t.Context(), "alpha", store.LoginFilter{}, bad)
			return err
		}},
		{"ListLogins/result", func() error {
			_, _, err := s.ListLogins(t.Context(), "alpha", store.LoginFilter{Result: "maybe"}, store.Page{Limit: 2})
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, tc.name, tc.list(), store.ErrInvalid)
		})
	}
}
