package authz

import (
	"fmt"
	"testing"
)

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, resource string
		want              bool
	}{
		{"team", "team", true},
		{"team", "teams", false},
		{"packages/42", "packages/42", true},
		{"packages/42", "packages/43", false},
		{"packages/42", "packages/42/x", false},
		{"data-pools/*", "data-pools/7", true},
		{"data-pools/*", "data-pools/7/tables/1", true},
		{"data-pools/*", "data-pools", false},
		{"data-pools/*", "other/7", false},
		{"*", "anything", true},
		{"*", "any/thing", true},
		{"data-pools/*/tables", "data-pools/7/tables", true},
		{"data-pools/*/tables", "data-pools/7/8/tables", false},
		{"data-pools/*/tables", "data-pools/7/views", false},
		{"a/b", "a", false},
		{"a", "a/b", false},
		{"users", "", false},
	} {
		if got := Match(tc.pattern, tc.resource); got != tc.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tc.pattern, tc.resource, got, tc.want)
		}
	}
}

// Every combination of the rule: each principal kind, the credential
// carrying the route's scope or not, the principal holding the permission
// or not (directly, through a group, by wildcard, as team admin).
func TestDecide(t *testing.T) {
	const scope, action, resource = "integration.data-pools:data_push", "push", "data-pools/42"
	subjects := map[string]Subject{
		"client": {Principal: Principal{Client, "c1"}, ClientID: "c1", Credential: "access_token"},
		"user":   {Principal: Principal{User, "ada@example.com"}, UserID: "u1", ClientID: "c1", Credential: "access_token"},
		"app":    {Principal: Principal{App, "etl"}, Credential: "app_key"},
	}
	grantsOf := map[string]Grants{
		"none":             {},
		"exact":            {List: []Grant{{"push", "data-pools/42"}}},
		"wildcard":         {List: []Grant{{"push", "data-pools/*"}}},
		"any action":       {List: []Grant{{"*", "data-pools/42"}}},
		"group-inherited":  {List: []Grant{{"read", "team"}, {"push", "data-pools/*"}}}, // as Checker merges a group's
		"other action":     {List: []Grant{{"read", "data-pools/42"}}},
		"other resource":   {List: []Grant{{"push", "data-pools/43"}}},
		"narrower pattern": {List: []Grant{{"push", "data-pools/42/tables/*"}}},
		"team admin":       {TeamAdmin: true},
	}
	permits := map[string]bool{"exact": true, "wildcard": true, "any action": true, "group-inherited": true, "team admin": true}
	for kind, base := range subjects {
		for _, scoped := range []bool{true, false} {
			for name, g := range grantsOf {
				if kind != "user" && (name == "team admin" || name == "group-inherited") {
					continue // only users are team admins or group members
				}
				sub := base
				sub.Scopes = []string{"audit.log:read"}
				if scoped {
					sub.Scopes = append(sub.Scopes, scope)
				}
				if kind == "app" {
					sub.Scopes, sub.AllScopes = nil, scoped // static keys carry every scope
				}
				t.Run(fmt.Sprintf("%s/scope=%v/%s", kind, scoped, name), func(t *testing.T) {
					d := Decide(sub, g, scope, action, resource)
					want := DenyPermission
					switch {
					case !scoped:
						want = DenyScope // scopes never add permissions, and go first
					case permits[name]:
						want = Allow
					}
					if d.Outcome != want {
						t.Fatalf("outcome %v, want %v", d.Outcome, want)
					}
					if d.Allowed() != (want == Allow) || d.Scope != scope || d.Action != action || d.Resource != resource {
						t.Fatalf("decision %+v", d)
					}
				})
			}
		}
	}
}

func TestDecideWithoutScope(t *testing.T) {
	sub := Subject{Principal: Principal{Client, "c"}}
	if !Decide(sub, Grants{List: []Grant{{"check", "authz"}}}, "", "check", "authz").Allowed() {
		t.Fatal("a route that requires no scope needs only the permission")
	}
	if Decide(sub, Grants{}, "", "check", "authz").Allowed() {
		t.Fatal("no permission, no access")
	}
}

func TestParsePrincipalAndValidation(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"user:ada@example.com", true}, {"group:ops", true}, {"app:etl", true}, {"client:6b0e8f9e-4c1a-4c55-9a43-2f1f3b3a3c11", true},
		{"ada@example.com", false}, {"robot:x", false}, {"user:", false}, {"app:a b", false},
	} {
		if _, err := ParsePrincipal(tc.in); (err == nil) != tc.ok {
			t.Errorf("ParsePrincipal(%q) = %v", tc.in, err)
		}
	}
	for _, tc := range []struct {
		in string
		ok bool
	}{{"read", true}, {"*", true}, {"data_push", true}, {"Read", false}, {"", false}, {"re ad", false}} {
		if err := ValidateAction(tc.in); (err == nil) != tc.ok {
			t.Errorf("ValidateAction(%q) = %v", tc.in, err)
		}
	}
	for _, tc := range []struct {
		in string
		ok bool
	}{{"team", true}, {"data-pools/*", true}, {"packages/42", true}, {"a//b", false}, {"", false}, {"a/b c", false}, {"/a", false}} {
		if err := ValidateResource(tc.in); (err == nil) != tc.ok {
			t.Errorf("ValidateResource(%q) = %v", tc.in, err)
		}
	}
}
