package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/adminclient"
	"github.com/gatehouse/gatehouse/internal/statickey"
	"github.com/gatehouse/gatehouse/internal/store"
)

// keyCLI is a clientCLI with user ada, team admin root and application etl
// in acme.
func newKeyCLI(t *testing.T) clientCLI {
	t.Helper()
	c := newClientCLI(t)
	for _, args := range [][]string{
		{"admin", "user", "create", "--team", "acme", "--email", "ada@example.com", "--password-stdin"},
		{"admin", "user", "create", "--team", "acme", "--email", "root@example.com", "--team-admin", "--password-stdin"},
	} {
		if r := gatehouse(t, nil, "correct horse battery\n", append([]string{"--data-dir", c.dir}, args...)...); r.code != 0 {
			t.Fatalf("%v: %+v", args, r)
		}
	}
	c.ok("admin", "app", "create", "--team", "acme", "etl")
	return c
}

// keyService builds a static key service on the data directory's store,
// keyed as the server's would be.
func (c clientCLI) keyService() (*statickey.Service, store.Store) {
	svc := c.services()
	return svc.StaticKeys, svc.Store
}

// keyJSONKeys decodes key create's JSON, which must have exactly the keys
// id and key.
func keyJSONKeys(t *testing.T, out string) (id, key string) {
	t.Helper()
	var m map[string]string
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if diff := cmp.Diff([]string{"id", "key"}, keys); diff != "" {
		t.Fatalf("JSON keys (-want +got):\n%s", diff)
	}
	return m["id"], m["key"]
}

// keyShow is a static key as list and report print it: as the admin API
// answers it.
type keyShow = adminclient.Key

func TestKeyCommands(t *testing.T) {
	c := newKeyCLI(t)
	ctx := context.Background()

	userID, userKey := keyJSONKeys(t, c.ok("admin", "key", "create", "--team", "acme", "--user", "ada@example.com", "--json"))
	if id, _, err := statickey.Parse(userKey); err != nil || id != userID {
		t.Fatalf("key %q: id %q, %v; want id %s", userKey, id, err, userID)
	}
	out := c.ok("admin", "key", "create", "--team", "acme", "--app", "etl", "--expires-in", "720h")
	for _, want := range []string{"created AppKey", "for etl in team acme", "key: ", "Authorization: AppKey <key>", "shown only this once", "It expires at"} {
		if !strings.Contains(out, want) {
			t.Errorf("create's text output lacks %q:\n%s", want, out)
		}
	}

	// The key works with the server's hasher, as a Bearer key of acme.
	keys, st := c.keyService()
	acme, err := st.Team(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := keys.Authenticate(ctx, acme, statickey.KindUser, userKey, statickey.Use{IP: "192.0.2.5", UserAgent: "curl/8.5"}); err != nil {
		t.Fatalf("the printed key does not authenticate: %v", err)
	}
	if err := keys.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	var list []keyShow
	c.json(&list, "admin", "key", "list", "--team", "acme")
	if len(list) != 2 {
		t.Fatalf("list has %d keys, want 2", len(list))
	}
	u, a := list[0], list[1]
	if u.Kind != "user" { // newest first
		u, a = a, u
	}
	if u.ID != userID || u.Kind != "user" || u.Owner != "ada@example.com" || u.ExpiresAt != nil || u.LastUsedAt == nil ||
		time.Since(*u.LastUsedAt) > time.Minute || u.LastUsedIP != "192.0.2.5" || u.LastUsedUserAgent != "curl/8.5" || u.MigratedTo != "" {
		t.Errorf("user key in list: %+v", u)
	}
	if a.Kind != "app" || a.Owner != "etl" || a.ExpiresAt == nil || a.ExpiresAt.Sub(a.CreatedAt) != 720*time.Hour || a.LastUsedAt != nil {
		t.Errorf("AppKey in list: %+v", a)
	}
	raw := c.ok("admin", "key", "list", "--team", "acme", "--json")
	if strings.Contains(raw, userKey) || strings.Contains(raw, `"hash"`) || strings.Contains(raw, `"key"`) {
		t.Errorf("list shows a key or a hash:\n%s", raw)
	}
	text := c.ok("admin", "key", "list", "--team", "acme")
	for _, want := range []string{"LAST USED", "ada@example.com", "192.0.2.5", "curl/8.5", userID} {
		if !strings.Contains(text, want) {
			t.Errorf("list's text lacks %q:\n%s", want, text)
		}
	}

	c.ok("admin", "key", "delete", "--team", "acme", userID)
	c.json(&list, "admin", "key", "list", "--team", "acme")
	if len(list) != 1 || list[0].ID != a.ID {
		t.Errorf("after delete: %+v", list)
	}
	if out := c.ok("admin", "key", "list", "--team", "other", "--json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("another team's list = %s, want []", out)
	}
	keys.Invalidate(store.Change{}) // as the server's change hub would
	if _, _, err := keys.Authenticate(ctx, acme, statickey.KindUser, userKey, statickey.Use{}); err == nil {
		t.Error("a deleted key authenticates")
	}
}

func TestKeyCommandErrors(t *testing.T) {
	c := newKeyCLI(t)
	id, _ := keyJSONKeys(t, c.ok("admin", "key", "create", "--team", "acme", "--app", "etl", "--json"))
	for _, tc := range []struct {
		code int
		want string
		args []string
	}{
		{2, "exactly one of --user EMAIL and --app NAME", []string{"admin", "key", "create", "--team", "acme"}},
		{2, "exactly one of --user EMAIL and --app NAME", []string{"admin", "key", "create", "--team", "acme", "--user", "ada@example.com", "--app", "etl"}},
		{1, "bob@example.com", []string{"admin", "key", "create", "--team", "acme", "--user", "bob@example.com"}},
		{1, "email", []string{"admin", "key", "create", "--team", "acme", "--user", "ada"}},
		{1, `application "nope"`, []string{"admin", "key", "create", "--team", "acme", "--app", "nope"}},
		{1, `team "nope"`, []string{"admin", "key", "create", "--team", "nope", "--app", "etl"}},
		{1, "etl", []string{"admin", "key", "create", "--team", "other", "--app", "etl"}},
		{2, "--expires-in", []string{"admin", "key", "create", "--team", "acme", "--app", "etl", "--expires-in", "-1h"}},
		{2, "expires-in", []string{"admin", "key", "create", "--team", "acme", "--app", "etl", "--expires-in", "soon"}},
		{2, "team", []string{"admin", "key", "list"}},
		{2, "KEY_ID", []string{"admin", "key", "delete", "--team", "acme"}},
		{1, "not found", []string{"admin", "key", "delete", "--team", "acme", "not-a-key"}},
		{1, "not found", []string{"admin", "key", "delete", "--team", "other", id}},
		{2, "unknown command", []string{"admin", "key", "remove", id}},
	} {
		c.fails(tc.code, tc.want, tc.args...)
	}
	var list []keyShow
	c.json(&list, "admin", "key", "list", "--team", "acme")
	if len(list) != 1 {
		t.Errorf("failed commands left %d keys, want 1", len(list))
	}
}

// policyShow is the policy as policy and report print it: as the admin
// API answers it.
type policyShow = adminclient.Policy

func tm(s string) *time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return &t
}

func TestStaticKeysPolicyCommand(t *testing.T) {
	c := newKeyCLI(t)
	policy := func(args ...string) policyShow {
		t.Helper()
		var p policyShow
		c.json(&p, append([]string{"admin", "static-keys", "policy", "--team", "acme"}, args...)...)
		return p
	}
	if diff := cmp.Diff(policyShow{Source: "server", Status: "active"}, policy()); diff != "" {
		t.Errorf("no policy (-want +got):\n%s", diff)
	}
	got := policy("--deprecated-since", "2020-01-01T00:00:00Z", "--sunset-at", "2999-01-01T00:00:00Z", "--link", "https://docs.example.com/oauth", "--refuse-new")
	want := policyShow{Source: "team", Status: "deprecated", DeprecatedSince: tm("2020-01-01T00:00:00Z"),
		SunsetAt: tm("2999-01-01T00:00:00Z"), Link: "https://docs.example.com/oauth", RefuseNew: true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("set (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, policy()); diff != "" {
		t.Errorf("show after set (-want +got):\n%s", diff)
	}
	out := c.ok("admin", "static-keys", "policy", "--team", "acme")
	for _, s := range []string{"the team's own", "deprecated", "2020-01-01T00:00:00Z", "2999-01-01T00:00:00Z", "https://docs.example.com/oauth", "refuse new keys:  true"} {
		if !strings.Contains(out, s) {
			t.Errorf("text lacks %q:\n%s", s, out)
		}
	}
	// Refuse-new, once deprecated.
	c.fails(1, "no longer accepts new static keys", "admin", "key", "create", "--team", "acme", "--app", "etl")
	if p := policy("--refuse-new=false"); p.RefuseNew || p.Link != want.Link {
		t.Errorf("--refuse-new=false: %+v", p)
	}
	c.ok("admin", "key", "create", "--team", "acme", "--app", "etl")

	for _, tc := range []struct {
		code int
		want string
		args []string
	}{
		{1, "must not be before deprecated-since", []string{"--sunset-at", "2019-01-01T00:00:00Z"}},
		{1, "must not be before deprecated-since", []string{"--deprecated-since", "3000-01-01T00:00:00Z"}},
		{2, "RFC 3339", []string{"--deprecated-since", "yesterday"}},
		{2, "RFC 3339", []string{"--sunset-at", "2026-03-31"}},
		{1, "absolute http", []string{"--link", "ftp://docs.example.com/"}},
		{1, "absolute http", []string{"--link", "docs.example.com/oauth"}},
		{1, "percent-encoded", []string{"--link", `https://docs.example.com/"quoted"`}},
		{2, "--clear takes no other", []string{"--clear", "--link", "https://x.example.com/"}},
		{2, "refuse-new", []string{"--refuse-new=maybe"}},
	} {
		c.fails(tc.code, tc.want, append([]string{"admin", "static-keys", "policy", "--team", "acme"}, tc.args...)...)
	}
	c.fails(1, `team "nope"`, "admin", "static-keys", "policy", "--team", "nope")
	if p := policy(); p.Link != want.Link || !p.SunsetAt.Equal(*want.SunsetAt) {
		t.Errorf("refused changes changed the policy: %+v", p)
	}
	// An empty value unsets; --clear takes the server's again.
	if p := policy("--sunset-at", ""); p.SunsetAt != nil || p.DeprecatedSince == nil {
		t.Errorf(`--sunset-at "": %+v`, p)
	}
	if diff := cmp.Diff(policyShow{Source: "server", Status: "active"}, policy("--clear")); diff != "" {
		t.Errorf("--clear (-want +got):\n%s", diff)
	}

	// The server's policy, from the configuration (here the environment),
	// for a team without one.
	env := map[string]string{"GATEHOUSE_STATIC_KEYS_DEPRECATED_SINCE": "2000-01-01T00:00:00Z", "GATEHOUSE_STATIC_KEYS_SUNSET_AT": "2001-01-01T00:00:00Z"}
	r := gatehouse(t, env, "", "--data-dir", c.dir, "admin", "static-keys", "policy", "--team", "other", "--json")
	var p policyShow
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil || r.code != 0 {
		t.Fatalf("server policy: %+v", r)
	}
	if p.Source != "server" || p.Status != "sunset" || !p.SunsetAt.Equal(*tm("2001-01-01T00:00:00Z")) {
		t.Errorf("server policy: %+v", p)
	}
	env["GATEHOUSE_STATIC_KEYS_SUNSET_AT"] = "1999-01-01T00:00:00Z"
	r = gatehouse(t, env, "", "--data-dir", c.dir, "admin", "static-keys", "policy", "--team", "other")
	if r.code != 1 || !strings.Contains(r.stderr, "static-keys-sunset-at") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("server sunset before deprecation: %+v", r)
	}
}

type reportShow = adminclient.Report

func TestStaticKeysMigrateAndReport(t *testing.T) {
	c := newKeyCLI(t)
	ctx := context.Background()
	c.ok("admin", "permission", "grant", "--team", "acme", "--principal", "app:etl", "--action", "read", "--resource", "audit-log")
	c.ok("admin", "permission", "grant", "--team", "acme", "--principal", "app:etl", "--action", "push", "--resource", "data-pools/7")
	appID, _ := keyJSONKeys(t, c.ok("admin", "key", "create", "--team", "acme", "--app", "etl", "--json"))
	rootID, _ := keyJSONKeys(t, c.ok("admin", "key", "create", "--team", "acme", "--user", "root@example.com", "--json"))

	// The gateway's routes count too.
	routes := filepath.Join(t.TempDir(), "routes.yaml")
	if err := os.WriteFile(routes, []byte(`routes:
  - match: "POST /integration/api/pools/{pool}/push"
    scope: integration.data-pools:data_push
    permission: "push data-pools/{pool}"
    upstream: http://127.0.0.1:9001
  - match: "GET /projects/{id}"
    scope: action-engine.projects
    permission: "read projects/{id}"
    upstream: http://127.0.0.1:9002
`), 0o600); err != nil {
		t.Fatal(err)
	}
	clientID, clientSecret := secretKeys(t, c.ok("admin", "static-keys", "migrate", "--team", "acme", appID, "--routes", routes, "--auth-method", "client_secret_post", "--json"))
	clients, st := c.service()
	cl, err := clients.Authenticate(ctx, "acme", clientID, clientSecret)
	if err != nil {
		t.Fatalf("the migrated client's secret does not authenticate: %v", err)
	}
	if cl.Name != "migrated from AppKey of etl" || cl.AuthMethod != "client_secret_post" ||
		!cmp.Equal(cl.Scopes, []string{"audit.log:read", "integration.data-pools:data_push"}) {
		t.Errorf("client %+v", cl)
	}
	ps, err := st.ListPermissions(ctx, "acme", "client:"+clientID)
	if err != nil || len(ps) != 2 {
		t.Errorf("client permissions %v %v", ps, err)
	}

	var r reportShow
	res := gatehouse(t, map[string]string{"GATEHOUSE_STATIC_KEYS_DEPRECATED_SINCE": "2000-01-01T00:00:00Z"}, "",
		"--data-dir", c.dir, "admin", "static-keys", "report", "--team", "acme", "--json")
	if err := json.Unmarshal([]byte(res.stdout), &r); err != nil || res.code != 0 {
		t.Fatalf("report: %+v", res)
	}
	if r.Policy.Status != "deprecated" || r.Policy.Source != "server" || len(r.Items) != 2 {
		t.Fatalf("report %+v", r)
	}
	byID := map[string]keyShow{}
	for _, k := range r.Items {
		byID[k.ID] = k
	}
	if k := byID[appID]; k.MigratedTo != clientID || k.Owner != "etl" || k.Kind != "app" || k.Status != "deprecated" {
		t.Errorf("migrated key in report %+v", k)
	}
	if k := byID[rootID]; k.MigratedTo != "" || k.Owner != "root@example.com" || k.Kind != "user" {
		t.Errorf("root's key in report %+v", k)
	}
	text := c.ok("admin", "static-keys", "report", "--team", "acme")
	for _, s := range []string{"MIGRATED TO", "STATUS", clientID, "root@example.com", "active"} {
		if !strings.Contains(text, s) {
			t.Errorf("report text lacks %q:\n%s", s, text)
		}
	}

	// Without the gateway's routes (none configured), only the team APIs'
	// scopes; through GATEHOUSE_ROUTES, the gateway's too.
	second, _ := keyJSONKeys(t, c.ok("admin", "key", "create", "--team", "acme", "--app", "etl", "--json"))
	res = gatehouse(t, map[string]string{"GATEHOUSE_ROUTES": routes}, "", "--data-dir", c.dir, "admin", "static-keys", "migrate", "--team", "acme", second)
	if res.code != 0 || !strings.Contains(res.stdout, "integration.data-pools:data_push") || !strings.Contains(res.stdout, "keeps working") {
		t.Errorf("migrate with GATEHOUSE_ROUTES: %+v", res)
	}
	// Client names are unique in a team: the second key of etl gets a
	// numbered name.
	var registered []clientShow
	c.json(&registered, "admin", "client", "list", "--team", "acme")
	var names []string
	for _, cl := range registered {
		names = append(names, cl.Name)
	}
	slices.Sort(names)
	if want := []string{"migrated from AppKey of etl", "migrated from AppKey of etl (2)"}; !slices.Equal(names, want) {
		t.Errorf("clients after migrating two keys of etl: %q, want %q", names, want)
	}

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("routes: [{match: nope}]\n"), 0o600)
	for _, tc := range []struct {
		code int
		want string
		args []string
	}{
		{1, "already migrated to client " + clientID, []string{appID}},
		{1, "team admin", []string{rootID}},
		{1, "not found", []string{"0890ed49-630d-487b-924b-23f33164f3b0"}},
		{1, "not found", []string{"not-a-key"}},
		{1, "auth method", []string{rootID, "--auth-method", "private_key_jwt"}},
		{1, "bad.yaml", []string{second, "--routes", bad}},
		{2, "KEY_ID", nil},
	} {
		c.fails(tc.code, tc.want, append([]string{"admin", "static-keys", "migrate", "--team", "acme"}, tc.args...)...)
	}
	c.fails(1, "not found", "admin", "static-keys", "migrate", "--team", "other", appID)
	c.fails(1, `team "nope"`, "admin", "static-keys", "report", "--team", "nope")
	c.fails(2, "team", "admin", "static-keys", "report")
}
