package cli_test

import (
	"bytes"
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
	"github.com/gatehouse/gatehouse/internal/cli"
	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/compose"
	"github.com/gatehouse/gatehouse/internal/masterkey"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// clientCLI runs the command line in-process on one data directory, with
// an environment that holds nothing.
type clientCLI struct {
	t   *testing.T
	dir string
}

func newClientCLI(t *testing.T) clientCLI {
	c := clientCLI{t, filepath.Join(t.TempDir(), "data")}
	c.ok("migrate")
	c.ok("admin", "team", "create", "acme")
	c.ok("admin", "team", "create", "other")
	return c
}

func (c clientCLI) run(args ...string) (code int, stdout, stderr string) {
	c.t.Helper()
	var out, errOut bytes.Buffer
	noEnv := func(string) (string, bool) { return "", false }
	code = cli.Main(context.Background(), append([]string{"--data-dir", c.dir}, args...),
		cli.Streams{In: strings.NewReader(""), Out: &out, Err: &errOut}, noEnv)
	return code, out.String(), errOut.String()
}

func (c clientCLI) ok(args ...string) string {
	c.t.Helper()
	code, out, errOut := c.run(args...)
	if code != 0 || errOut != "" {
		c.t.Fatalf("gatehouse %s: exit %d, stderr %q", strings.Join(args, " "), code, errOut)
	}
	return out
}

// json runs a command with --json and decodes its output into v.
func (c clientCLI) json(v any, args ...string) {
	c.t.Helper()
	out := c.ok(append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		c.t.Fatalf("gatehouse %s --json: %v in %q", strings.Join(args, " "), err, out)
	}
}

// fails runs a command that must fail with code and a one-line message
// containing want.
func (c clientCLI) fails(code int, want string, args ...string) {
	c.t.Helper()
	got, out, errOut := c.run(args...)
	if got != code || !strings.Contains(errOut, want) || strings.Count(errOut, "\n") != 1 || out != "" {
		c.t.Errorf("gatehouse %s: exit %d, stdout %q, stderr %q; want exit %d and one line with %q",
			strings.Join(args, " "), got, out, errOut, code, want)
	}
}

// services opens the data directory's store and builds the services as
// the server would, to check what the CLI did.
func (c clientCLI) services() *compose.Services {
	c.t.Helper()
	key, err := masterkey.Load("", c.dir, false)
	if err != nil {
		c.t.Fatal(err)
	}
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(c.dir, "gatehouse.db"), nil)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { st.Close() })
	svc, err := compose.New(compose.Options{Store: st, MasterKey: key})
	if err != nil {
		c.t.Fatal(err)
	}
	return svc
}

// service is the client service of services, and its store.
func (c clientCLI) service() (*client.Service, store.Store) {
	svc := c.services()
	return svc.Clients, svc.Store
}

// secretKeys decodes create's or regenerate-secret's JSON, which must have
// exactly the keys client_id and client_secret.
func secretKeys(t *testing.T, out string) (id, sec string) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if diff := cmp.Diff([]string{"client_id", "client_secret"}, keys); diff != "" {
		t.Fatalf("JSON keys (-want +got):\n%s", diff)
	}
	id, _ = m["client_id"].(string)
	sec, _ = m["client_secret"].(string)
	if len(id) != 36 || len(sec) != secret.TokenLen {
		t.Fatalf("client_id %q, client_secret of %d characters", id, len(sec))
	}
	return id, sec
}

// clientShow is a client as list and show print it: as the admin API
// answers it.
type clientShow = adminclient.OAuthClient

func TestClientCommands(t *testing.T) {
	c := newClientCLI(t)
	ctx := context.Background()

	id, sec := secretKeys(t, c.ok("admin", "client", "create", "--team", "acme", "--name", "Reporting job",
		"--grant-type", "client_credentials", "--auth-method", "client_secret_post",
		"--scope", "audit.log:read team.login-history:read", "--access-token-ttl", "5m", "--json"))

	// The secret works with the server's hasher and nowhere else.
	svc, st := c.service()
	if _, err := svc.Authenticate(ctx, "acme", id, sec); err != nil {
		t.Fatalf("the printed secret does not authenticate: %v", err)
	}
	if _, err := svc.Authenticate(ctx, "other", id, sec); err == nil {
		t.Fatal("the client authenticates at another team")
	}

	// A second client, in text, with the authorization code grant.
	out := c.ok("admin", "client", "create", "--team", "acme", "--name", "Web app",
		"--grant-type", "authorization_code", "--grant-type", "client_credentials", "--auth-method", "client_secret_basic",
		"--scope", "audit.log:read", "--scope", "team.user-group-info:read",
		"--redirect-uri", "https://app.example.com/cb", "--redirect-uri", "http://127.0.0.1:8765/cb")
	for _, want := range []string{"client_id:", "client_secret:", "shown only this once"} {
		if !strings.Contains(out, want) {
			t.Errorf("create's text output lacks %q:\n%s", want, out)
		}
	}

	var list []clientShow
	c.json(&list, "admin", "client", "list", "--team", "acme")
	if len(list) != 2 {
		t.Fatalf("list has %d clients, want 2", len(list))
	}
	got := list[0]
	if time.Since(got.CreatedAt) > time.Minute {
		t.Errorf("created_at %s is not recent", got.CreatedAt)
	}
	got.CreatedAt = time.Time{}
	want := clientShow{ClientID: id, Name: "Reporting job", GrantTypes: []string{"client_credentials"}, AuthMethod: "client_secret_post",
		Scopes: []string{"audit.log:read", "team.login-history:read"}, RedirectURIs: []string{}, PostLogoutRedirectURIs: []string{}, AccessTokenTTL: "5m0s",
		ActiveSecrets: 1, GraceEndsAt: []time.Time{}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("list[0] (-want +got):\n%s", diff)
	}
	if w := list[1]; w.Name != "Web app" || len(w.GrantTypes) != 2 || len(w.RedirectURIs) != 2 || len(w.Scopes) != 2 {
		t.Errorf("list[1] = %+v", w)
	}
	if out := c.ok("admin", "client", "list", "--team", "acme"); !strings.Contains(out, id) || !strings.Contains(out, "Web app") {
		t.Errorf("list's text output:\n%s", out)
	}
	if out := c.ok("admin", "client", "list", "--team", "other", "--json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("another team's list = %s, want []", out)
	}

	// Regenerate with a grace period: two active secrets, one ending.
	before := time.Now()
	id2, sec2 := secretKeys(t, c.ok("admin", "client", "regenerate-secret", "--team", "acme", id, "--grace", "1h", "--json"))
	if id2 != id || sec2 == sec {
		t.Fatalf("regenerate-secret printed %s and the same secret: %v", id2, sec2 == sec)
	}
	var show clientShow
	c.json(&show, "admin", "client", "show", "--team", "acme", id)
	if show.ActiveSecrets != 2 || len(show.GraceEndsAt) != 1 ||
		show.GraceEndsAt[0].Before(before.Add(time.Hour-time.Second)) || show.GraceEndsAt[0].After(time.Now().Add(time.Hour)) {
		t.Errorf("after regenerate --grace 1h: %d active secrets, grace ends %v", show.ActiveSecrets, show.GraceEndsAt)
	}
	svc.Invalidate(store.Change{}) // as the server's hub would, on the CLI's change
	for _, s := range []string{sec, sec2} {
		if _, err := svc.Authenticate(ctx, "acme", id, s); err != nil {
			t.Errorf("a secret during the grace period: %v", err)
		}
	}
	text := c.ok("admin", "client", "show", "--team", "acme", id)
	for _, want := range []string{id, "Reporting job", "client_secret_post", "audit.log:read team.login-history:read", "5m0s", "active secrets:", "an old secret works until"} {
		if !strings.Contains(text, want) {
			t.Errorf("show's text lacks %q:\n%s", want, text)
		}
	}

	// Neither list nor show ever prints a secret or a hash.
	stored, err := st.Client(ctx, "acme", id)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"admin", "client", "list", "--team", "acme"}, {"admin", "client", "list", "--team", "acme", "--json"},
		{"admin", "client", "show", "--team", "acme", id}, {"admin", "client", "show", "--team", "acme", id, "--json"},
	} {
		out := c.ok(args...)
		for _, s := range []string{sec, sec2} {
			if strings.Contains(out, s) {
				t.Errorf("%s prints a secret", strings.Join(args, " "))
			}
		}
		for _, s := range stored.Secrets {
			b64, _ := json.Marshal(s.Hash) // how encoding/json would print it
			if strings.Contains(out, strings.Trim(string(b64), `"`)) || strings.Contains(out, s.ID) {
				t.Errorf("%s prints a secret's hash or id", strings.Join(args, " "))
			}
		}
		if strings.Contains(out, "hash") || strings.Contains(out, `"client_secret"`) || strings.Contains(out, "client_secret:") {
			t.Errorf("%s mentions a hash or secret field:\n%s", strings.Join(args, " "), out)
		}
	}

	// Regenerate without grace, in text: the old secrets stop.
	out = c.ok("admin", "client", "regenerate-secret", "--team", "acme", id)
	if !strings.Contains(out, "no longer works") || !strings.Contains(out, "client_secret:") {
		t.Errorf("regenerate-secret's text:\n%s", out)
	}
	svc.Invalidate(store.Change{})
	for _, s := range []string{sec, sec2} {
		if _, err := svc.Authenticate(ctx, "acme", id, s); err == nil {
			t.Error("an old secret works after regenerate-secret without --grace")
		}
	}
	c.json(&show, "admin", "client", "show", "--team", "acme", id)
	if show.ActiveSecrets != 1 || len(show.GraceEndsAt) != 0 {
		t.Errorf("after regenerate without grace: %d active secrets, grace ends %v", show.ActiveSecrets, show.GraceEndsAt)
	}

	// The audit log has every change.
	evs, _, err := st.ListAudit(ctx, "acme", store.AuditFilter{Target: "client:" + id}, store.Page{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range evs {
		actions = append(actions, e.Action)
	}
	slices.Sort(actions)
	if diff := cmp.Diff([]string{"client.create", "client.secret.regenerate", "client.secret.regenerate"}, actions); diff != "" {
		t.Errorf("audit actions (-want +got):\n%s", diff)
	}

	// Delete.
	var done map[string]any
	c.json(&done, "admin", "client", "delete", "--team", "acme", id)
	if done["ok"] != true {
		t.Errorf("delete --json = %v", done)
	}
	c.fails(1, "not found", "admin", "client", "show", "--team", "acme", id)
	c.fails(1, "not found", "admin", "client", "delete", "--team", "acme", id)
	c.fails(1, "not found", "admin", "client", "regenerate-secret", "--team", "acme", id)
}

func TestClientCommandErrors(t *testing.T) {
	c := newClientCLI(t)
	create := func(extra ...string) []string {
		args := []string{"admin", "client", "create", "--team", "acme", "--name", "x", "--grant-type", "client_credentials",
			"--auth-method", "client_secret_basic", "--scope", "audit.log:read"}
		return append(args, extra...)
	}
	id, _ := secretKeys(t, c.ok(append(create(), "--json")...))

	for _, tc := range []struct {
		code int
		want string
		args []string
	}{
		{1, `scope "studio"`, create("--scope", "studio")},
		{1, "grant type", []string{"admin", "client", "create", "--team", "acme", "--name", "x", "--grant-type", "password", "--auth-method", "client_secret_basic", "--scope", "audit.log:read"}},
		{1, "grant type refresh_token", []string{"admin", "client", "create", "--team", "acme", "--name", "x", "--grant-type", "refresh_token", "--auth-method", "client_secret_basic", "--scope", "audit.log:read"}},
		{1, "auth method", []string{"admin", "client", "create", "--team", "acme", "--name", "x", "--grant-type", "client_credentials", "--auth-method", "none", "--scope", "audit.log:read"}},
		{1, "redirect URIs", create("--redirect-uri", "https://app.example.com/cb")},
		{1, "loopback", []string{"admin", "client", "create", "--team", "acme", "--name", "x", "--grant-type", "authorization_code", "--auth-method", "client_secret_basic", "--scope", "audit.log:read", "--redirect-uri", "http://app.example.com/cb"}},
		{1, "access token TTL", create("--access-token-ttl", "25h")},
		{1, `team "nope"`, []string{"admin", "client", "create", "--team", "nope", "--name", "x", "--grant-type", "client_credentials", "--auth-method", "client_secret_basic", "--scope", "audit.log:read"}},
		{2, "scope", []string{"admin", "client", "create", "--team", "acme", "--name", "x", "--grant-type", "client_credentials", "--auth-method", "client_secret_basic"}},
		{2, "team", []string{"admin", "client", "list"}},
		{2, "CLIENT_ID", []string{"admin", "client", "show", "--team", "acme"}},
		{2, "access-token-ttl", create("--access-token-ttl", "soon")},
		{1, "grace", []string{"admin", "client", "regenerate-secret", "--team", "acme", id, "--grace", "169h"}},
		{1, "not found", []string{"admin", "client", "show", "--team", "other", id}},
		{1, "not found", []string{"admin", "client", "show", "--team", "acme", "not-a-client"}},
		{2, "unknown command", []string{"admin", "client", "regenerate", id}},
		{1, `gatehouse: client name "x" already exists in team acme`, create()},
		{2, "gatehouse: admin client show takes 1 argument: CLIENT_ID", []string{"admin", "client", "show", "--team", "acme"}},
	} {
		c.fails(tc.code, tc.want, tc.args...)
	}
	var list []clientShow
	c.json(&list, "admin", "client", "list", "--team", "acme")
	if len(list) != 1 {
		t.Errorf("failed creates left %d clients, want 1", len(list))
	}
}

func TestScopesList(t *testing.T) {
	c := clientCLI{t, filepath.Join(t.TempDir(), "data")}
	var got []map[string]string
	c.json(&got, "admin", "scopes", "list")
	if len(got) != 19 {
		t.Fatalf("%d scopes, want the Celonis guide's 15, team.admin, openid, profile and email", len(got))
	}
	for i, s := range got {
		if len(s) != 2 || s["name"] == "" || s["description"] == "" {
			t.Errorf("scope %d = %v, want name and description", i, s)
		}
		if i > 0 && got[i-1]["name"] >= s["name"] {
			t.Errorf("scopes not sorted by name at %d", i)
		}
	}
	if got[0]["name"] != "action-engine.projects" || got[0]["description"] != "Gives access to projects." {
		t.Errorf("first scope = %v", got[0])
	}
	out := c.ok("admin", "scopes", "list")
	if !strings.Contains(out, "audit.log:read") || !strings.Contains(out, "Gives read-only access audit logs.") {
		t.Errorf("text output:\n%s", out)
	}

	// Operator scopes from the configuration file join the catalog, and
	// clients may be registered with them.
	cfg := filepath.Join(t.TempDir(), "gatehouse.yaml")
	if err := os.WriteFile(cfg, []byte("scopes:\n  - name: billing:read\n    description: Read invoices\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.json(&got, "--config", cfg, "admin", "scopes", "list")
	if len(got) != 20 || !slices.ContainsFunc(got, func(s map[string]string) bool {
		return s["name"] == "billing:read" && s["description"] == "Read invoices"
	}) {
		t.Errorf("with an operator scope: %v", got)
	}
	c.ok("migrate")
	c.ok("admin", "team", "create", "acme")
	secretKeys(t, c.ok("--config", cfg, "admin", "client", "create", "--team", "acme", "--name", "billing",
		"--grant-type", "client_credentials", "--auth-method", "client_secret_basic", "--scope", "billing:read", "--json"))
	c.fails(1, "billing:read", "admin", "client", "create", "--team", "acme", "--name", "billing",
		"--grant-type", "client_credentials", "--auth-method", "client_secret_basic", "--scope", "billing:read")
}

func TestTeamSettingsCommands(t *testing.T) {
	c := newClientCLI(t)
	type settings = adminclient.Settings
	show := func(team string) settings {
		var s settings
		c.json(&s, "admin", "team", "show", "--team", team)
		return s
	}
	if diff := cmp.Diff(settings{AccessTokenTTL: "0s"}, show("acme")); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if out := c.ok("admin", "team", "show", "--team", "acme"); !strings.Contains(out, "server default") {
		t.Errorf("show's text:\n%s", out)
	}

	var got settings
	c.json(&got, "admin", "team", "set", "--team", "acme", "--access-token-ttl", "1h", "--token-scope-format", "string")
	want := settings{AccessTokenTTL: "1h0m0s", TokenScopeFormat: "string"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("set's output (-want +got):\n%s", diff)
	}
	// Only the flags given change.
	c.ok("admin", "team", "set", "--team", "acme", "--signing-alg", "EdDSA")
	want.SigningAlg = "EdDSA"
	if diff := cmp.Diff(want, show("acme")); diff != "" {
		t.Errorf("after --signing-alg (-want +got):\n%s", diff)
	}
	c.ok("admin", "team", "set", "--team", "acme", "--access-token-ttl", "0")
	want.AccessTokenTTL = "0s"
	if diff := cmp.Diff(want, show("acme")); diff != "" {
		t.Errorf("after --access-token-ttl 0 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(settings{AccessTokenTTL: "0s"}, show("other")); diff != "" {
		t.Errorf("another team changed (-want +got):\n%s", diff)
	}
	if out := c.ok("admin", "team", "show", "--team", "acme"); !strings.Contains(out, "EdDSA") || !strings.Contains(out, "string") {
		t.Errorf("show's text:\n%s", out)
	}

	for _, tc := range []struct {
		code int
		want string
		args []string
	}{
		{1, "access token TTL", []string{"--access-token-ttl", "30s"}},
		{1, "access token TTL", []string{"--access-token-ttl", "25h"}},
		{1, "scope format", []string{"--token-scope-format", "list"}},
		{1, "signing algorithm", []string{"--signing-alg", "RS256"}},
		{2, "nothing to change", nil},
		{2, "access-token-ttl", []string{"--access-token-ttl", "long"}},
	} {
		c.fails(tc.code, tc.want, append([]string{"admin", "team", "set", "--team", "acme"}, tc.args...)...)
	}
	c.fails(1, `team "nope"`, "admin", "team", "set", "--team", "nope", "--signing-alg", "ES256")
	c.fails(1, `team "nope"`, "admin", "team", "show", "--team", "nope")
	if diff := cmp.Diff(want, show("acme")); diff != "" {
		t.Errorf("refused changes changed the settings (-want +got):\n%s", diff)
	}

	_, st := c.service()
	evs, _, err := st.ListAudit(context.Background(), "acme", store.AuditFilter{Action: "team.settings"}, store.Page{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 {
		t.Fatalf("%d team.settings events, want 3", len(evs))
	}
	var details []map[string]string
	for _, e := range evs {
		details = append(details, e.Detail)
	}
	wantDetails := []map[string]string{
		{"access_token_ttl": "1h0m0s", "token_scope_format": "string"},
		{"signing_alg": "EdDSA"},
		{"access_token_ttl": "0s"},
	}
	less := func(a, b map[string]string) int {
		return strings.Compare(a["signing_alg"]+a["access_token_ttl"], b["signing_alg"]+b["access_token_ttl"])
	}
	slices.SortFunc(details, less)
	slices.SortFunc(wantDetails, less)
	if diff := cmp.Diff(wantDetails, details); diff != "" {
		t.Errorf("audit details (-want +got):\n%s", diff)
	}
}
