package authz

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestOverlap(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"audit-log", "audit-log", true},
		{"audit-log", "users", false},
		{"data-pools/*", "data-pools/42", true},
		{"data-pools/*", "data-pools/*", true},
		{"data-pools/*", "data-pools/42/tables/7", true},
		{"data-pools/*", "data-pools", false},
		{"data-pools/42", "data-pools/*", true},
		{"data-pools/42", "data-pools/43", false},
		{"data-pools/*/tables", "data-pools/7/tables", true},
		{"data-pools/*/tables", "data-pools/*/views", false},
		{"data-pools/*/tables", "data-pools/*", true},
		{"*/tables", "data-pools/*", true},
		{"*/tables", "data-pools", false},
		{"*", "anything/at/all", true},
		{"*", "x", true},
		{"a/*/c", "a/b/*", true},
		{"a/b", "a/b/c", false},
		{"a/*", "a/b/c", true},
		{"a/*/c", "a/b/c/d", false},
		{"", "a", false},
		{"a", "", false},
		{"packages/*", "data-pools/*", false},
	} {
		if got := Overlap(tc.a, tc.b); got != tc.want {
			t.Errorf("Overlap(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
		if got := Overlap(tc.b, tc.a); got != tc.want {
			t.Errorf("Overlap(%q, %q) = %v, want %v (not symmetric)", tc.b, tc.a, got, tc.want)
		}
	}
}

func TestScopesFor(t *testing.T) {
	routes := []Route{
		{"audit.log:read", "read", "audit-log"},
		{"team.user-group-info:read", "read", "users"},
		{"team.user-group-info:read", "read", "users"}, // a second route, same scope
		{"team.login-history:read", "read", "login-history"},
		{"", "check", "authz"},
		{"integration.data-pools:data_push", "push", "data-pools/*"},
		{"integration.data-pools", "read", "data-pools/*/tables/*"},
		{"action-engine.projects", "manage", "projects/*"},
	}
	for _, tc := range []struct {
		name   string
		grants Grants
		want   []string
	}{
		{"nothing", Grants{}, nil},
		{"one exact", Grants{List: []Grant{{"read", "audit-log"}}}, []string{"audit.log:read"}},
		{"wrong action", Grants{List: []Grant{{"write", "audit-log"}}}, nil},
		{"any action", Grants{List: []Grant{{"*", "users"}}}, []string{"team.user-group-info:read"}},
		{"scope-less route adds nothing", Grants{List: []Grant{{"check", "authz"}}}, nil},
		{"one pool of a pattern route", Grants{List: []Grant{{"push", "data-pools/42"}}}, []string{"integration.data-pools:data_push"}},
		{"a pattern grant reaches a deeper route", Grants{List: []Grant{{"read", "data-pools/*"}}}, []string{"integration.data-pools"}},
		{"a narrower grant on the deeper route", Grants{List: []Grant{{"read", "data-pools/7/tables/1"}}}, []string{"integration.data-pools"}},
		{"other pool path", Grants{List: []Grant{{"read", "data-pools/7"}}}, nil},
		{"everything by wildcard", Grants{List: []Grant{{"*", "*"}}}, []string{
			"action-engine.projects", "audit.log:read", "integration.data-pools", "integration.data-pools:data_push",
			"team.login-history:read", "team.user-group-info:read"}},
		{"team admin", Grants{TeamAdmin: true}, []string{
			"action-engine.projects", "audit.log:read", "integration.data-pools", "integration.data-pools:data_push",
			"team.login-history:read", "team.user-group-info:read"}},
		{"several, sorted", Grants{List: []Grant{{"read", "login-history"}, {"read", "audit-log"}, {"read", "users"}}},
			[]string{"audit.log:read", "team.login-history:read", "team.user-group-info:read"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, ScopesFor(tc.grants, routes)); diff != "" {
				t.Errorf("ScopesFor (-want +got):\n%s", diff)
			}
		})
	}
}
