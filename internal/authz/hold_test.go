package authz_test

import (
	"errors"
	"testing"

	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/kernel"
)

func TestSubsumes(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"team", "team", true},
		{"team", "teams", false},
		{"data-pools/*", "data-pools/42", true},
		{"data-pools/*", "data-pools/*", true},
		{"data-pools/*", "data-pools/42/x", true}, // a final '*' takes one or more
		{"data-pools/*/x", "data-pools/*", false},
		{"data-pools/*/x", "data-pools/42/x", true},
		{"data-pools/42", "data-pools/*", false},
		{"*", "anything/at/all", true},
		{"*", "*", true},
		{"*/x", "*", false},
		{"*/x", "a/x", true},
		{"a/*/c", "a/b/c", true},
		{"a/*/c", "a/*/c", true},
		{"a/*/c", "a/b/*", false},
		{"a/b", "a/b/c", false},
		{"a/b/c", "a/b", false},
	} {
		if got := authz.Subsumes(tc.a, tc.b); got != tc.want {
			t.Errorf("Subsumes(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestMayHandOn(t *testing.T) {
	holder := authz.Grants{List: []authz.Grant{{"read", "data-pools/*"}, {Action: "*", Resource: "packages/42"}}}
	for _, tc := range []struct {
		name  string
		admin bool
		gs    []kernel.Grant
		ok    bool
	}{
		{"nothing", false, nil, true},
		{"within a pattern", false, []kernel.Grant{{Action: "read", Resource: "data-pools/7"}}, true},
		{"the pattern itself", false, []kernel.Grant{{Action: "read", Resource: "data-pools/*"}}, true},
		{"another action", false, []kernel.Grant{{Action: "push", Resource: "data-pools/7"}}, false},
		{"every action on what * covers", false, []kernel.Grant{{Action: "*", Resource: "packages/42"}}, true},
		{"every action where only read is held", false, []kernel.Grant{{Action: "*", Resource: "data-pools/7"}}, false},
		{"wider", false, []kernel.Grant{{Action: "read", Resource: "*"}}, false},
		{"one of two not held", false, []kernel.Grant{{Action: "read", Resource: "data-pools/7"}, {Action: "read", Resource: "team"}}, false},
		{"a team admin's powers", true, nil, false},
	} {
		a := kernel.Actor{ID: "user:ada@example.com", Authority: holder}
		err := a.MayHandOn("the change", tc.admin, tc.gs)
		if (err == nil) != tc.ok || err != nil && !errors.Is(err, kernel.ErrForbidden) {
			t.Errorf("%s: MayHandOn = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
	// A team admin and an actor bound by nothing hand on anything.
	for _, a := range []kernel.Actor{{ID: "user:admin", Authority: authz.Grants{TeamAdmin: true}}, kernel.CLI} {
		if err := a.MayHandOn("the change", true, []kernel.Grant{{Action: "*", Resource: "*"}}); err != nil {
			t.Errorf("%s: MayHandOn = %v", a.ID, err)
		}
	}
}
