package scope_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/internal/scope"
)

// The Celonis guide's table, as the tests expect it: a change to a built-in scope
// must show up here too.
var guide = map[string]string{
	"intelligence.knowledge-models:read":          "Allows read access to Knowledge Models and their data, filters, records, KPIs, OData metadata, specs, and triggers (based on granted permissions).",
	"intelligence.subscriptions:manage":           "Allows managing subscriptions to Knowledge Model triggers, including creation, updates, and event replay, based on granted permissions.",
	"intelligence.tools:execute":                  "Allows executing AI Copilot Tools, based on granted permissions.",
	"intelligence.conversations:write":            "Gives access to Studio Copilot conversational API.",
	"user-provisioning.scim":                      "Gives access to the SCIM API.",
	"audit.log:read":                              "Gives read-only access audit logs.",
	"integration.data-pools":                      "Gives access to data pools.",
	"integration.data-pools:data_push":            "Gives access to push data to data pools.",
	"integration.data-pools:continuous_data_push": "Gives access to continuously push data to data pools.",
	"platform-adoption.tracking-events:read":      "Gives read-only access to platform-adoption tracking-events.",
	"team.user-group-info:read":                   "Gives read-only access to team user and group information.",
	"team.login-history:read":                     "Gives read-only access to team login history.",
	"task-mining.gateway":                         "Gives access to Task Mining Gateway integration API.",
	"task-mining.metadata:read":                   "Gives read-only access to Task Mining user metadata.",
	"action-engine.projects":                      "Gives access to projects.",
}

func TestBuiltinIsTheSeedsTable(t *testing.T) {
	c, err := scope.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range c.All() {
		if slices.ContainsFunc(scope.Own(), func(o scope.Scope) bool { return o.Name == s.Name }) {
			continue // Gatehouse's own, checked in TestCatalogWithExtra
		}
		got[s.Name] = s.Description
	}
	if diff := cmp.Diff(guide, got); diff != "" {
		t.Errorf("catalog differs from the Celonis guide (-guide +got):\n%s", diff)
	}
	if len(scope.Builtin()) != 15 {
		t.Errorf("Builtin() has %d scopes, want 15", len(scope.Builtin()))
	}
	for _, name := range []string{scope.AuditLogRead, scope.TeamUserGroupInfoRead, scope.TeamLoginHistoryRead, scope.UserProvisioningSCIM} {
		if !c.Has(name) {
			t.Errorf("constant %q is not a built-in scope", name)
		}
	}
}

func TestCatalogWithExtra(t *testing.T) {
	c, err := scope.New([]scope.Scope{{"billing:read", "Read invoices"}, {"aaa", ""}})
	if err != nil {
		t.Fatal(err)
	}
	names := c.Names()
	if len(names) != 21 || !slices.IsSorted(names) {
		t.Fatalf("Names() = %v, want 21 sorted names (15 of the guide, team.admin, openid, profile, email, 2 extra)", names)
	}
	if names[0] != "aaa" {
		t.Errorf("first name %q, want aaa", names[0])
	}
	all := c.All()
	if !slices.IsSortedFunc(all, func(a, b scope.Scope) int { return strings.Compare(a.Name, b.Name) }) {
		t.Errorf("All() is not sorted by name")
	}
	if d, ok := c.Describe("billing:read"); !ok || d != "Read invoices" {
		t.Errorf("Describe(billing:read) = %q, %v", d, ok)
	}
	if d, ok := c.Describe("audit.log:read"); !ok || d != guide["audit.log:read"] {
		t.Errorf("Describe(audit.log:read) = %q, %v", d, ok)
	}
	if d, ok := c.Describe(scope.TeamAdmin); !ok || !strings.HasPrefix(d, "Manage the team's applications, OAuth clients, keys") {
		t.Errorf("Describe(team.admin) = %q, %v", d, ok)
	}
	if _, err := scope.New([]scope.Scope{{scope.TeamAdmin, "mine"}}); err == nil {
		t.Error("an operator's scope named team.admin was accepted")
	}
	if _, ok := c.Describe("nope"); ok {
		t.Error("Describe(nope) found a scope")
	}
	if !c.Has("aaa") || c.Has("nope") {
		t.Error("Has is wrong")
	}
	// The catalog hands out copies.
	all[0].Name = "changed"
	names[0] = "changed"
	if c.All()[0].Name != "aaa" || c.Names()[0] != "aaa" {
		t.Error("changing a returned slice changed the catalog")
	}
	if err := c.Check([]string{"aaa", "audit.log:read"}); err != nil {
		t.Errorf("Check of known scopes: %v", err)
	}
	if err := c.Check([]string{"aaa", "zzz"}); !errors.Is(err, scope.ErrUnknown) || !strings.Contains(err.Error(), `"zzz"`) {
		t.Errorf("Check of an unknown scope = %v, want ErrUnknown naming zzz", err)
	}
}

// The OpenID Connect scopes are in every catalog, with descriptions that
// the consent page shows.
func TestCatalogOpenIDConnect(t *testing.T) {
	c, err := scope.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, about string }{
		{scope.OpenID, "OpenID Connect"},
		{scope.Profile, "name"},
		{scope.Email, "email address"},
	} {
		d, ok := c.Describe(tc.name)
		if !ok || !strings.Contains(d, tc.about) {
			t.Errorf("Describe(%s) = %q, %v; want a description that names %q", tc.name, d, ok, tc.about)
		}
		if !slices.ContainsFunc(scope.Own(), func(s scope.Scope) bool { return s.Name == tc.name }) {
			t.Errorf("%s is not among Gatehouse's own scopes", tc.name)
		}
	}
}

func TestCatalogRejects(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra []scope.Scope
	}{
		{"duplicate of a built-in", []scope.Scope{{"audit.log:read", "mine"}}},
		{"duplicate of openid", []scope.Scope{{scope.OpenID, "mine"}}},
		{"duplicate of email", []scope.Scope{{scope.Email, "mine"}}},
		{"repeated extra", []scope.Scope{{"x", ""}, {"x", ""}}},
		{"empty name", []scope.Scope{{"", "d"}}},
		{"space", []scope.Scope{{"a b", ""}}},
		{"quote", []scope.Scope{{`a"b`, ""}}},
		{"backslash", []scope.Scope{{`a\b`, ""}}},
		{"non-ASCII", []scope.Scope{{"café", ""}}},
		{"control", []scope.Scope{{"a\tb", ""}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if c, err := scope.New(tc.extra); err == nil {
				t.Fatalf("New(%q) = %v, want an error", tc.extra, c.Names())
			}
		})
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"a", []string{"a"}},
		{"a b c", []string{"a", "b", "c"}},
		{"b a b a", []string{"b", "a"}},
		{"integration.data-pools:data_push audit.log:read", []string{"integration.data-pools:data_push", "audit.log:read"}},
		{"!#[]~", []string{"!#[]~"}},
	} {
		got, err := scope.Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("Parse(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, in := range []string{" ", " a", "a ", "a  b", "a\tb", "a\nb", `a"`, `a\b`, "é", "a\x00", "a\x7f"} {
		if got, err := scope.Parse(in); !errors.Is(err, scope.ErrInvalid) {
			t.Errorf("Parse(%q) = %q, %v; want ErrInvalid", in, got, err)
		}
	}
}

// Many repeated scopes are deduplicated in linear time, and the order of
// first appearance is kept past the switch to a map.
func TestParseMany(t *testing.T) {
	var parts []string
	for i := range 40 {
		parts = append(parts, fmt.Sprintf("s%d", i%25))
	}
	got, err := scope.Parse(strings.Join(parts, " "))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 25 {
		want = append(want, fmt.Sprintf("s%d", i))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	big := strings.Repeat("x ", 200000) + "x"
	got, err = scope.Parse(big)
	if err != nil || len(got) != 1 {
		t.Errorf("Parse of 200001 repeats = %d scopes, %v", len(got), err)
	}
}

func TestFormatRoundTrips(t *testing.T) {
	in := []string{"a", "b:c", "d"}
	got, err := scope.Parse(scope.Format(in))
	if err != nil || !slices.Equal(got, in) {
		t.Errorf("Parse(Format(%q)) = %q, %v", in, got, err)
	}
}
