package cli_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/internal/cli"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// result is what one run of the command printed and returned.
type result struct {
	code           int
	stdout, stderr string
}

// gatehouse runs the command line in-process with env as its whole
// environment (nil: none, so that no GATEHOUSE_* variable of the real
// environment leaks in) and stdin as its standard input.
func gatehouse(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	lookupEnv := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	code := cli.Main(context.Background(), args, cli.Streams{In: strings.NewReader(stdin), Out: &out, Err: &errOut}, lookupEnv)
	return result{code, out.String(), errOut.String()}
}

// dataDir is a command line bound to one data directory.
type dataDir string

// newDataDir is an installation made by migrate, as every command but
// migrate and serve needs one.
func newDataDir(t *testing.T) dataDir {
	t.Helper()
	d := emptyDataDir(t)
	d.ok(t, "", "migrate")
	return d
}

// emptyDataDir is a data directory that does not exist yet.
func emptyDataDir(t *testing.T) dataDir { return dataDir(filepath.Join(t.TempDir(), "data")) }

func (d dataDir) run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return gatehouse(t, nil, stdin, append([]string{"--data-dir", string(d)}, args...)...)
}

// ok runs a command that must succeed quietly and returns its stdout.
func (d dataDir) ok(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	r := d.run(t, stdin, args...)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("gatehouse %s: exit %d, stderr %q", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// json runs a command with --json that must succeed and returns its output
// parsed, with every "created_at" and "id" checked and replaced by a
// placeholder.
func (d dataDir) json(t *testing.T, stdin string, args ...string) any {
	t.Helper()
	out := d.ok(t, stdin, append(args, "--json")...)
	var v any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("gatehouse %s --json: %v in %q", strings.Join(args, " "), err, out)
	}
	return placeholders(t, v)
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// placeholders replaces the values that change from run to run: a
// created_at that is an RFC 3339 UTC time within the last minute becomes
// "<time>", an id that is a UUID "<uuid>".
func placeholders(t *testing.T, v any) any {
	t.Helper()
	switch v := v.(type) {
	case []any:
		for i := range v {
			v[i] = placeholders(t, v[i])
		}
	case map[string]any:
		for k, x := range v {
			switch s, _ := x.(string); k {
			case "created_at":
				at, err := time.Parse(time.RFC3339Nano, s)
				if err != nil || !strings.HasSuffix(s, "Z") || time.Since(at) > time.Minute || time.Until(at) > time.Second {
					t.Errorf("created_at %q: want a recent RFC 3339 UTC time", s)
				}
				v[k] = "<time>"
			case "id":
				if !uuidRE.MatchString(s) {
					t.Errorf("id %q: want a UUID", s)
				}
				v[k] = "<uuid>"
			default:
				v[k] = placeholders(t, x)
			}
		}
	}
	return v
}

func parseJSON(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad JSON in test: %v: %s", err, s)
	}
	return v
}

func TestVersion(t *testing.T) {
	r := gatehouse(t, nil, "", "version")
	if r.code != 0 || r.stderr != "" || !regexp.MustCompile(`^gatehouse \S+\n$`).MatchString(r.stdout) {
		t.Errorf("version = %+v, want exit 0 and \"gatehouse <version>\"", r)
	}

	old := cli.Version
	t.Cleanup(func() { cli.Version = old })
	cli.Version = "v1.2.3"
	if r := gatehouse(t, nil, "", "version"); r.stdout != "gatehouse v1.2.3\n" {
		t.Errorf("version with cli.Version set = %q, want %q", r.stdout, "gatehouse v1.2.3\n")
	}
	if r := gatehouse(t, nil, "", "version", "extra"); r.code != 2 {
		t.Errorf("version extra: exit %d, want 2", r.code)
	}
}

func TestMigrate(t *testing.T) {
	d := emptyDataDir(t)
	out := d.ok(t, "", "migrate")
	if !strings.Contains(out, "sqlite") {
		t.Errorf("migrate printed %q, want it to name the sqlite database", out)
	}
	for name, want := range map[string]fs.FileMode{
		".":            fs.ModeDir | 0o700,
		"master.key":   0o600,
		"gatehouse.db": 0o600,
	} {
		fi, err := os.Stat(filepath.Join(string(d), name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s has mode %v, want %v", name, fi.Mode(), want)
		}
	}
	if fi, err := os.Stat(filepath.Join(string(d), "gatehouse.db")); err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 {
		t.Fatalf("gatehouse.db: %v, %v; want a database file", fi, err)
	}

	// A second run keeps the database and the key.
	key, err := os.ReadFile(filepath.Join(string(d), "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	d.ok(t, "", "admin", "team", "create", "acme")
	d.ok(t, "", "migrate")
	if again, err := os.ReadFile(filepath.Join(string(d), "master.key")); err != nil || !bytes.Equal(again, key) {
		t.Errorf("master.key changed on a second migrate")
	}
	if got := d.json(t, "", "admin", "team", "list"); len(got.([]any)) != 1 {
		t.Errorf("teams after a second migrate: %v, want acme", got)
	}
}

// step is one command of the admin walk-through: its expected output as
// text (a regular expression of the whole output) and as JSON (parsed, with
// the placeholders of placeholders).
type step struct {
	args  []string
	stdin string
	text  string
	json  string
}

const (
	adaPassword = "correct horse battery"
	bobPassword = "tr0ub4dor&3-staple"
	uuidText    = `[0-9a-f-]{36}`
	timeText    = `\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`
)

var okJSON = `{"ok": true}`

var walkThrough = []step{
	{args: []string{"team", "create", "acme"}, text: `created team acme\n`,
		json: `{"name": "acme", "created_at": "<time>"}`},
	{args: []string{"team", "create", "beta"}, text: `created team beta\n`,
		json: `{"name": "beta", "created_at": "<time>"}`},
	{args: []string{"team", "list"}, text: `NAME +CREATED\nacme +` + timeText + `\nbeta +` + timeText + `\n`,
		json: `[{"name": "acme", "created_at": "<time>"}, {"name": "beta", "created_at": "<time>"}]`},

	{args: []string{"user", "create", "--team", "acme", "--email", "Ada@Example.com", "--name", "Ada Lovelace", "--team-admin", "--password-stdin"},
		stdin: adaPassword + "\n",
		text:  `created user ada@example\.com \(` + uuidText + `\) in team acme\n`,
		json:  `{"id": "<uuid>", "email": "ada@example.com", "name": "Ada Lovelace", "team_admin": true, "disabled": false, "created_at": "<time>"}`},
	// Only the first line of stdin is the password, without its CR LF.
	{args: []string{"user", "create", "--team", "acme", "--email", "bob@example.com", "--password-stdin"},
		stdin: bobPassword + "\r\nnot the password\n",
		text:  `created user bob@example\.com \(` + uuidText + `\) in team acme\n`,
		json:  `{"id": "<uuid>", "email": "bob@example.com", "name": "bob@example.com", "team_admin": false, "disabled": false, "created_at": "<time>"}`},
	// The same email in another team is another user; no final newline.
	{args: []string{"user", "create", "--team", "beta", "--email", "bob@example.com", "--password-stdin"},
		stdin: bobPassword,
		text:  `created user bob@example\.com \(` + uuidText + `\) in team beta\n`,
		json:  `{"id": "<uuid>", "email": "bob@example.com", "name": "bob@example.com", "team_admin": false, "disabled": false, "created_at": "<time>"}`},
	{args: []string{"user", "list", "--team", "acme"},
		text: `EMAIL +NAME +ID +TEAM ADMIN +DISABLED\n` +
			`ada@example\.com +Ada Lovelace +` + uuidText + ` +true +false\n` +
			`bob@example\.com +bob@example\.com +` + uuidText + ` +false +false\n`,
		json: `[{"id": "<uuid>", "email": "ada@example.com", "name": "Ada Lovelace", "team_admin": true, "disabled": false, "created_at": "<time>"},
			{"id": "<uuid>", "email": "bob@example.com", "name": "bob@example.com", "team_admin": false, "disabled": false, "created_at": "<time>"}]`},

	// A new password, disabling and signing out end the user's sessions.
	{args: []string{"user", "set-password", "--team", "acme", "bob@example.com", "--password-stdin"},
		stdin: "another long password\n",
		text:  `set a new password for bob@example\.com in team acme; their sessions ended\n`, json: okJSON},
	{args: []string{"user", "disable", "--team", "acme", "bob@example.com"},
		text: `disabled user bob@example\.com in team acme; their sessions ended\n`, json: okJSON},
	{args: []string{"user", "list", "--team", "acme"},
		text: `EMAIL +NAME +ID +TEAM ADMIN +DISABLED\n` +
			`ada@example\.com +Ada Lovelace +` + uuidText + ` +true +false\n` +
			`bob@example\.com +bob@example\.com +` + uuidText + ` +false +true\n`,
		json: `[{"id": "<uuid>", "email": "ada@example.com", "name": "Ada Lovelace", "team_admin": true, "disabled": false, "created_at": "<time>"},
			{"id": "<uuid>", "email": "bob@example.com", "name": "bob@example.com", "team_admin": false, "disabled": true, "created_at": "<time>"}]`},
	{args: []string{"user", "enable", "--team", "acme", "bob@example.com"},
		text: `enabled user bob@example\.com in team acme\n`, json: okJSON},
	{args: []string{"user", "sign-out", "--team", "acme", "bob@example.com"},
		text: `ended 0 sessions of bob@example\.com in team acme\n`, json: `{"sessions_ended": 0}`},

	{args: []string{"group", "create", "--team", "acme", "eng"}, text: `created group eng in team acme\n`,
		json: `{"name": "eng", "members": [], "created_at": "<time>"}`},
	{args: []string{"group", "create", "--team", "acme", "ops"}, text: `created group ops in team acme\n`,
		json: `{"name": "ops", "members": [], "created_at": "<time>"}`},
	{args: []string{"group", "add-member", "--team", "acme", "eng", "ADA@example.com"}, text: `added ADA@example\.com to group eng\n`, json: okJSON},
	{args: []string{"group", "add-member", "--team", "acme", "eng", "bob@example.com"}, text: `added bob@example\.com to group eng\n`, json: okJSON},
	{args: []string{"group", "add-member", "--team", "acme", "ops", "bob@example.com"}, text: `added bob@example\.com to group ops\n`, json: okJSON},
	{args: []string{"group", "list", "--team", "acme"},
		text: `NAME +MEMBERS\neng +ada@example\.com,bob@example\.com\nops +bob@example\.com\n`,
		json: `[{"name": "eng", "members": ["ada@example.com", "bob@example.com"], "created_at": "<time>"},
			{"name": "ops", "members": ["bob@example.com"], "created_at": "<time>"}]`},
	{args: []string{"group", "remove-member", "--team", "acme", "eng", "bob@example.com"}, text: `removed bob@example\.com from group eng\n`, json: okJSON},
	{args: []string{"group", "delete", "--team", "acme", "ops"}, text: `deleted group ops from team acme\n`, json: okJSON},
	{args: []string{"group", "list", "--team", "acme"},
		text: `NAME +MEMBERS\neng +ada@example\.com\n`,
		json: `[{"name": "eng", "members": ["ada@example.com"], "created_at": "<time>"}]`},

	{args: []string{"app", "create", "--team", "acme", "ci"}, text: `created application ci in team acme\n`,
		json: `{"name": "ci", "created_at": "<time>"}`},
	{args: []string{"app", "create", "--team", "acme", "deployer"}, text: `created application deployer in team acme\n`,
		json: `{"name": "deployer", "created_at": "<time>"}`},
	{args: []string{"app", "list", "--team", "acme"}, text: `NAME +CREATED\nci +` + timeText + `\ndeployer +` + timeText + `\n`,
		json: `[{"name": "ci", "created_at": "<time>"}, {"name": "deployer", "created_at": "<time>"}]`},

	{args: []string{"permission", "grant", "--team", "acme", "--principal", "user:ADA@example.com", "--action", "read", "--resource", "team"},
		text: `granted read on team to user:ada@example\.com\n`,
		json: `{"principal": "user:ada@example.com", "action": "read", "resource": "team", "created_at": "<time>"}`},
	{args: []string{"permission", "grant", "--team", "acme", "--principal", "group:eng", "--action", "push", "--resource", "data-pools/*"},
		text: `granted push on data-pools/\* to group:eng\n`,
		json: `{"principal": "group:eng", "action": "push", "resource": "data-pools/*", "created_at": "<time>"}`},
	{args: []string{"permission", "grant", "--team", "acme", "--principal", "app:ci", "--action", "*", "--resource", "packages/42"},
		text: `granted \* on packages/42 to app:ci\n`,
		json: `{"principal": "app:ci", "action": "*", "resource": "packages/42", "created_at": "<time>"}`},
	{args: []string{"permission", "grant", "--team", "acme", "--principal", "user:bob@example.com", "--action", "read", "--resource", "users"},
		text: `granted read on users to user:bob@example\.com\n`,
		json: `{"principal": "user:bob@example.com", "action": "read", "resource": "users", "created_at": "<time>"}`},
	{args: []string{"permission", "list", "--team", "acme"},
		text: `PRINCIPAL +ACTION +RESOURCE\napp:ci +\* +packages/42\ngroup:eng +push +data-pools/\*\nuser:ada@example\.com +read +team\nuser:bob@example\.com +read +users\n`,
		json: `[{"principal": "app:ci", "action": "*", "resource": "packages/42", "created_at": "<time>"},
			{"principal": "group:eng", "action": "push", "resource": "data-pools/*", "created_at": "<time>"},
			{"principal": "user:ada@example.com", "action": "read", "resource": "team", "created_at": "<time>"},
			{"principal": "user:bob@example.com", "action": "read", "resource": "users", "created_at": "<time>"}]`},
	{args: []string{"permission", "list", "--team", "acme", "--principal", "user:Ada@Example.com"},
		text: `PRINCIPAL +ACTION +RESOURCE\nuser:ada@example\.com +read +team\n`,
		json: `[{"principal": "user:ada@example.com", "action": "read", "resource": "team", "created_at": "<time>"}]`},
	{args: []string{"permission", "revoke", "--team", "acme", "--principal", "group:eng", "--action", "push", "--resource", "data-pools/*"},
		text: `revoked push on data-pools/\* from group:eng\n`, json: okJSON},
	{args: []string{"permission", "list", "--team", "acme", "--principal", "group:eng"}, text: `PRINCIPAL +ACTION +RESOURCE\n`, json: `[]`},

	// Deleting a principal takes its permissions with it.
	{args: []string{"app", "delete", "--team", "acme", "ci"}, text: `deleted application ci from team acme\n`, json: okJSON},
	{args: []string{"user", "delete", "--team", "acme", "bob@example.com"}, text: `deleted user bob@example\.com from team acme\n`, json: okJSON},
	{args: []string{"permission", "list", "--team", "acme"},
		text: `PRINCIPAL +ACTION +RESOURCE\nuser:ada@example\.com +read +team\n`,
		json: `[{"principal": "user:ada@example.com", "action": "read", "resource": "team", "created_at": "<time>"}]`},
	{args: []string{"user", "list", "--team", "acme"},
		text: `EMAIL +NAME +ID +TEAM ADMIN +DISABLED\nada@example\.com +Ada Lovelace +` + uuidText + ` +true +false\n`,
		json: `[{"id": "<uuid>", "email": "ada@example.com", "name": "Ada Lovelace", "team_admin": true, "disabled": false, "created_at": "<time>"}]`},
	{args: []string{"app", "list", "--team", "acme"}, text: `NAME +CREATED\ndeployer +` + timeText + `\n`,
		json: `[{"name": "deployer", "created_at": "<time>"}]`},
	{args: []string{"group", "delete", "--team", "acme", "eng"}, text: `deleted group eng from team acme\n`, json: okJSON},
	{args: []string{"group", "list", "--team", "acme"}, text: `NAME +MEMBERS\n`, json: `[]`},
	{args: []string{"app", "delete", "--team", "acme", "deployer"}, text: `deleted application deployer from team acme\n`, json: okJSON},
	{args: []string{"app", "list", "--team", "acme"}, text: `NAME +CREATED\n`, json: `[]`},

	{args: []string{"team", "delete", "beta"}, text: `deleted team beta\n`, json: okJSON},
	{args: []string{"team", "list"}, text: `NAME +CREATED\nacme +` + timeText + `\n`,
		json: `[{"name": "acme", "created_at": "<time>"}]`},
	{args: []string{"user", "list", "--team", "acme"},
		text: `EMAIL +NAME +ID +TEAM ADMIN +DISABLED\nada@example\.com +Ada Lovelace +` + uuidText + ` +true +false\n`,
		json: `[{"id": "<uuid>", "email": "ada@example.com", "name": "Ada Lovelace", "team_admin": true, "disabled": false, "created_at": "<time>"}]`},
}

// TestAdminCommands walks through every admin command twice, in two data
// directories: once reading text, once JSON.
func TestAdminCommands(t *testing.T) {
	t.Run("text", func(t *testing.T) {
		d := newDataDir(t)
		for _, s := range walkThrough {
			args := append([]string{"admin"}, s.args...)
			got := d.ok(t, s.stdin, args...)
			if !regexp.MustCompile(`^` + s.text + `$`).MatchString(got) {
				t.Errorf("gatehouse %s printed\n%s\nwant it to match\n%s", strings.Join(args, " "), got, s.text)
			}
		}
	})
	t.Run("json", func(t *testing.T) {
		d := newDataDir(t)
		for _, s := range walkThrough {
			args := append([]string{"admin"}, s.args...)
			got := d.json(t, s.stdin, args...)
			if diff := cmp.Diff(parseJSON(t, s.json), got); diff != "" {
				t.Errorf("gatehouse %s --json (-want +got):\n%s", strings.Join(args, " "), diff)
			}
		}
	})
}

// The passwords that user create reads from stdin are the ones stored.
func TestUserCreatePassword(t *testing.T) {
	d := newDataDir(t)
	d.ok(t, "", "admin", "team", "create", "acme")
	for email, stdin := range map[string]string{
		"lf@example.com":    adaPassword + "\n",
		"crlf@example.com":  adaPassword + "\r\n",
		"eof@example.com":   adaPassword,
		"lines@example.com": adaPassword + "\nsecond line\n",
	} {
		out := d.ok(t, stdin, "admin", "user", "create", "--team", "acme", "--email", email, "--password-stdin")
		if strings.Contains(out, adaPassword) {
			t.Errorf("user create printed the password: %q", out)
		}
	}

	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(string(d), "gatehouse.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, email := range []string{"lf@example.com", "crlf@example.com", "eof@example.com", "lines@example.com"} {
		u, err := st.UserByEmail(ctx, "acme", email)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
			t.Errorf("%s: password hash %q, want argon2id", email, u.PasswordHash)
		}
		if ok, err := secret.VerifyPassword(adaPassword, u.PasswordHash); err != nil || !ok {
			t.Errorf("%s: VerifyPassword = %v, %v; want true", email, ok, err)
		}
	}
}

// The --json flag of admin may come before the subcommand too.
func TestJSONFlagPosition(t *testing.T) {
	d := newDataDir(t)
	d.ok(t, "", "admin", "team", "create", "acme")
	out := d.ok(t, "", "admin", "--json", "team", "list")
	var got []map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != 1 || got[0]["name"] != "acme" {
		t.Errorf("admin --json team list = %q (%v), want [acme]", out, err)
	}
}

// state is what the admin commands can list of the fixture, as JSON.
func state(t *testing.T, d dataDir) map[string]any {
	t.Helper()
	s := map[string]any{"teams": d.json(t, "", "admin", "team", "list")}
	for _, team := range []string{"acme", "beta"} {
		for _, kind := range []string{"user", "group", "app", "permission"} {
			s[kind+"s of "+team] = d.json(t, "", "admin", kind, "list", "--team", team)
		}
	}
	return s
}

func TestBadInput(t *testing.T) {
	d := newDataDir(t)
	for _, args := range [][]string{
		{"team", "create", "acme"},
		{"team", "create", "beta"},
		{"user", "create", "--team", "acme", "--email", "ada@example.com", "--password-stdin"},
		{"group", "create", "--team", "acme", "eng"},
		{"group", "add-member", "--team", "acme", "eng", "ada@example.com"},
		{"app", "create", "--team", "acme", "ci"},
		{"permission", "grant", "--team", "acme", "--principal", "user:ada@example.com", "--action", "read", "--resource", "team"},
	} {
		d.ok(t, adaPassword+"\n", append([]string{"admin"}, args...)...)
	}
	grant := func(principal, action, resource string) []string {
		return []string{"admin", "permission", "grant", "--team", "acme", "--principal", principal, "--action", action, "--resource", resource}
	}
	userCreate := func(team, email string) []string {
		return []string{"admin", "user", "create", "--team", team, "--email", email, "--password-stdin"}
	}
	pw := adaPassword + "\n"

	for _, c := range []struct {
		name  string
		args  []string
		stdin string
		code  int
		want  []string // substrings of the error line
	}{
		// Usage errors.
		{"missing --team", []string{"admin", "user", "list"}, "", 2, []string{"required", `"team"`}},
		{"missing --team on create", []string{"admin", "user", "create", "--email", "new@example.com", "--password-stdin"}, pw, 2, []string{"required", `"team"`}},
		{"missing --email", []string{"admin", "user", "create", "--team", "acme", "--password-stdin"}, pw, 2, []string{"required", `"email"`}},
		{"missing --resource", []string{"admin", "permission", "grant", "--team", "acme", "--principal", "group:eng", "--action", "read"}, "", 2, []string{"required", `"resource"`}},
		{"user create without --password-stdin", []string{"admin", "user", "create", "--team", "acme", "--email", "new@example.com"}, pw, 2, []string{"--password-stdin", "required"}},
		{"team create without a name", []string{"admin", "team", "create"}, "", 2, []string{"gatehouse: admin team create takes 1 argument: NAME"}},
		{"team create with two names", []string{"admin", "team", "create", "x", "y"}, "", 2, []string{"team create", "1 argument", "NAME"}},
		{"team delete without a name", []string{"admin", "team", "delete"}, "", 2, []string{"NAME"}},
		{"team list with an argument", []string{"admin", "team", "list", "extra"}, "", 2, []string{"gatehouse: admin team list takes no arguments", "extra"}},
		{"user delete without email", []string{"admin", "user", "delete", "--team", "acme"}, "", 2, []string{"EMAIL"}},
		{"add-member with one argument", []string{"admin", "group", "add-member", "--team", "acme", "eng"}, "", 2, []string{"gatehouse: admin group add-member takes 2 arguments: NAME EMAIL"}},
		{"remove-member with three arguments", []string{"admin", "group", "remove-member", "--team", "acme", "eng", "a@b.c", "x"}, "", 2, []string{"2 argument"}},
		{"group create without a name", []string{"admin", "group", "create", "--team", "acme"}, "", 2, []string{"NAME"}},
		{"app create with two names", []string{"admin", "app", "create", "--team", "acme", "x", "y"}, "", 2, []string{"NAME"}},
		{"grant with an argument", append(grant("group:eng", "read", "team"), "extra"), "", 2, []string{"no arguments"}},
		{"unknown flag", []string{"admin", "team", "list", "--bogus"}, "", 2, []string{"unknown flag", "--bogus"}},
		{"unknown shorthand flag", []string{"admin", "team", "list", "-x"}, "", 2, []string{"unknown shorthand flag"}},
		{"flag without value", []string{"admin", "user", "list", "--team"}, "", 2, []string{"--team"}},
		{"unknown command", []string{"frobnicate"}, "", 2, []string{"unknown command", "frobnicate"}},
		{"unknown admin command", []string{"admin", "frobnicate"}, "", 2, []string{"unknown command", "frobnicate"}},
		{"unknown team command", []string{"admin", "team", "frobnicate"}, "", 2, []string{"unknown command", "frobnicate"}},
		{"misspelt command", []string{"admin", "user", "creat"}, "", 2, []string{"unknown command", `"creat"`, "did you mean create"}},
		{"misspelt command with flags", []string{"admin", "user", "creat", "--team", "acme"}, "", 2, []string{"unknown flag"}},

		// Bad values.
		{"bad team name", []string{"admin", "team", "create", "Bad_Name"}, "", 1, []string{"team name", "Bad_Name"}},
		{"team name too long", []string{"admin", "team", "create", strings.Repeat("a", 64)}, "", 1, []string{"team name"}},
		{"bad team name on user create", userCreate("Acme", "new@example.com"), pw, 1, []string{"team name"}},
		{"bad email", userCreate("acme", "Ada <new@example.com>"), pw, 1, []string{"email"}},
		{"email with a space", userCreate("acme", "new@example.com "), pw, 1, []string{"email"}},
		{"empty email", userCreate("acme", ""), pw, 1, []string{"email"}},
		{"short password", userCreate("acme", "new@example.com"), "short\n", 1, []string{"password", "12"}},
		{"empty stdin", userCreate("acme", "new@example.com"), "", 1, []string{"password", "stdin"}},
		{"empty first line", userCreate("acme", "new@example.com"), "\n" + adaPassword + "\n", 1, []string{"password", "stdin"}},
		{"bad group name", []string{"admin", "group", "create", "--team", "acme", "a\tb"}, "", 1, []string{"group name"}},
		{"bad app name", []string{"admin", "app", "create", "--team", "acme", "a b"}, "", 1, []string{"application name"}},
		{"bad principal kind", grant("robot:r2", "read", "team"), "", 1, []string{"principal", "robot"}},
		{"principal without kind", grant("ada@example.com", "read", "team"), "", 1, []string{"principal"}},
		{"bad action", grant("group:eng", "Read", "team"), "", 1, []string{"action", "Read"}},
		{"bad resource", grant("group:eng", "read", "data-pools//x"), "", 1, []string{"resource", "data-pools//x"}},
		{"bad principal in list", []string{"admin", "permission", "list", "--team", "acme", "--principal", "robot:x"}, "", 1, []string{"principal"}},

		// Missing and duplicate records.
		{"duplicate team", []string{"admin", "team", "create", "acme"}, "", 1, []string{"acme", "already exists"}},
		{"duplicate user", userCreate("acme", "ADA@example.com"), pw, 1, []string{"ada@example.com", "already exists"}},
		{"duplicate group", []string{"admin", "group", "create", "--team", "acme", "eng"}, "", 1, []string{"eng", "already exists"}},
		{"duplicate member", []string{"admin", "group", "add-member", "--team", "acme", "eng", "ada@example.com"}, "", 1, []string{"already exists"}},
		{"duplicate app", []string{"admin", "app", "create", "--team", "acme", "ci"}, "", 1, []string{"ci", "already exists"}},
		{"duplicate grant", grant("user:ada@example.com", "read", "team"), "", 1, []string{"gatehouse: permission already granted: user:ada@example.com may read team"}},
		{"unknown team", userCreate("nope", "new@example.com"), pw, 1, []string{`team "nope"`, "not found"}},
		{"list users of unknown team", []string{"admin", "user", "list", "--team", "nope"}, "", 1, []string{`team "nope"`, "not found"}},
		{"delete unknown team", []string{"admin", "team", "delete", "nope"}, "", 1, []string{"nope", "not found"}},
		{"delete unknown user", []string{"admin", "user", "delete", "--team", "acme", "nobody@example.com"}, "", 1, []string{"nobody@example.com", "not found"}},
		{"delete unknown group", []string{"admin", "group", "delete", "--team", "acme", "nope"}, "", 1, []string{"nope", "not found"}},
		{"delete unknown app", []string{"admin", "app", "delete", "--team", "acme", "nope"}, "", 1, []string{"nope", "not found"}},
		{"add member to unknown group", []string{"admin", "group", "add-member", "--team", "acme", "nope", "ada@example.com"}, "", 1, []string{"nope", "not found"}},
		{"add unknown member", []string{"admin", "group", "add-member", "--team", "acme", "eng", "nobody@example.com"}, "", 1, []string{"nobody@example.com", "not found"}},
		{"remove non-member", []string{"admin", "group", "remove-member", "--team", "beta", "eng", "ada@example.com"}, "", 1, []string{"not found"}},
		{"grant to unknown user", grant("user:nobody@example.com", "read", "team"), "", 1, []string{"nobody@example.com", "not found"}},
		{"grant to unknown group", grant("group:nope", "read", "team"), "", 1, []string{"principal group:nope", "not found"}},
		{"grant to unknown app", grant("app:nope", "read", "team"), "", 1, []string{"principal app:nope", "not found"}},
		{"grant to unknown client", grant("client:6a8f1b4e-0000-4000-8000-000000000000", "read", "team"), "", 1, []string{"principal client:", "not found"}},
		{"revoke what was never granted", []string{"admin", "permission", "revoke", "--team", "acme", "--principal", "user:ada@example.com", "--action", "manage", "--resource", "team"}, "", 1, []string{"not found"}},

		// Bad configuration.
		{"bad log level", []string{"--log-level", "loud", "admin", "team", "list"}, "", 1, []string{"log-level", "loud"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := state(t, d)
			r := d.run(t, c.stdin, c.args...)
			if r.code != c.code {
				t.Errorf("exit code %d, want %d", r.code, c.code)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
			line, ok := strings.CutSuffix(r.stderr, "\n")
			if !ok || strings.Contains(line, "\n") || !strings.HasPrefix(line, "gatehouse: ") || strings.HasPrefix(line, "gatehouse: gatehouse") {
				t.Errorf("stderr = %q, want one line starting \"gatehouse: \" (once)", r.stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(line, w) {
					t.Errorf("stderr = %q, want it to contain %q", r.stderr, w)
				}
			}
			if diff := cmp.Diff(before, state(t, d)); diff != "" {
				t.Errorf("state changed (-before +after):\n%s", diff)
			}
		})
	}
}

func TestDatabaseURLNeedsMasterKey(t *testing.T) {
	const url = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	for _, c := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"environment", map[string]string{"GATEHOUSE_DATABASE_URL": url}, []string{"admin", "team", "list"}},
		{"flag", nil, []string{"--database-url", url, "admin", "team", "list"}},
		{"migrate", map[string]string{"GATEHOUSE_DATABASE_URL": url}, []string{"migrate"}},
		{"empty key", map[string]string{"GATEHOUSE_DATABASE_URL": url, "GATEHOUSE_MASTER_KEY": ""}, []string{"admin", "team", "create", "acme"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			r := gatehouse(t, c.env, "", append([]string{"--data-dir", dir}, c.args...)...)
			if r.code != 1 || r.stdout != "" {
				t.Errorf("exit %d, stdout %q; want 1 and nothing", r.code, r.stdout)
			}
			if !strings.HasPrefix(r.stderr, "gatehouse: ") || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "GATEHOUSE_MASTER_KEY") {
				t.Errorf("stderr = %q, want one line naming GATEHOUSE_MASTER_KEY", r.stderr)
			}
			// Nothing was made in the data directory: the database is
			// PostgreSQL's, and no key was generated.
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("data directory: %v, want it not created", err)
			}
		})
	}
}

func TestEnvironment(t *testing.T) {
	// The real environment is not read: only lookupEnv.
	real := filepath.Join(t.TempDir(), "real")
	t.Setenv("GATEHOUSE_DATA_DIR", real)

	fromEnv := newDataDir(t)
	env := map[string]string{"GATEHOUSE_DATA_DIR": string(fromEnv)}
	if r := gatehouse(t, env, "", "admin", "team", "create", "acme"); r.code != 0 || r.stderr != "" {
		t.Fatalf("team create with GATEHOUSE_DATA_DIR: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(string(fromEnv), "gatehouse.db")); err != nil {
		t.Errorf("GATEHOUSE_DATA_DIR not honoured: %v", err)
	}
	want := []any{map[string]any{"name": "acme", "created_at": "<time>"}}
	if diff := cmp.Diff(want, fromEnv.json(t, "", "admin", "team", "list")); diff != "" {
		t.Errorf("teams in GATEHOUSE_DATA_DIR (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(real); !os.IsNotExist(err) {
		t.Errorf("the process environment's GATEHOUSE_DATA_DIR was used: %v", err)
	}

	// The flag wins over the variable.
	fromFlag := newDataDir(t)
	if r := gatehouse(t, env, "", "--data-dir", string(fromFlag), "admin", "team", "create", "beta"); r.code != 0 {
		t.Fatalf("team create with --data-dir and GATEHOUSE_DATA_DIR: %+v", r)
	}
	want = []any{map[string]any{"name": "beta", "created_at": "<time>"}}
	if diff := cmp.Diff(want, fromFlag.json(t, "", "admin", "team", "list")); diff != "" {
		t.Errorf("teams in --data-dir (-want +got):\n%s", diff)
	}

	// A bad value names its variable.
	r := gatehouse(t, map[string]string{"GATEHOUSE_DATA_DIR": string(fromEnv), "GATEHOUSE_LOG_LEVEL": "loud"}, "", "admin", "team", "list")
	if r.code == 0 || r.stdout != "" || !strings.Contains(r.stderr, "log-level") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("GATEHOUSE_LOG_LEVEL=loud: %+v, want one error line naming log-level", r)
	}
}

// A command that only holds subcommands prints its help when called alone.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{{}, {"--help"}, {"help"}, {"admin"}, {"admin", "team"}, {"admin", "user", "--help"}, {"help", "admin", "group"}} {
		r := gatehouse(t, nil, "", args...)
		if r.code != 0 || r.stderr != "" || !strings.Contains(r.stdout, "Usage:") {
			t.Errorf("gatehouse %s: %+v, want exit 0 and the help", strings.Join(args, " "), r)
		}
	}
}

// Only migrate and serve make an installation: any other command on a data
// directory without a database fails naming the path and creates nothing,
// neither the directory nor a master key (run from the wrong directory, it
// used to start an empty installation and then say the team was missing).
func TestCommandsNeedAnExistingDatabase(t *testing.T) {
	for _, args := range [][]string{
		{"admin", "team", "list"},
		{"admin", "team", "create", "acme"},
		{"admin", "client", "list", "--team", "acme"},
		{"admin", "key", "list", "--team", "acme"},
		{"admin", "signing-keys", "list", "--team", "acme"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			d := emptyDataDir(t)
			r := d.run(t, "", args...)
			db := filepath.Join(string(d), "gatehouse.db")
			want := `gatehouse: no database at ` + db + `: run "gatehouse migrate" or "gatehouse serve" first, or pass --data-dir` + "\n"
			if r.code != 1 || r.stdout != "" || r.stderr != want {
				t.Errorf("exit %d, stdout %q, stderr %q; want 1, nothing and %q", r.code, r.stdout, r.stderr, want)
			}
			if _, err := os.Stat(string(d)); !os.IsNotExist(err) {
				t.Errorf("data directory: %v, want it not created", err)
			}
		})
	}

	// A directory that exists but holds no database: nothing is made in it.
	d := emptyDataDir(t)
	if err := os.Mkdir(string(d), 0o700); err != nil {
		t.Fatal(err)
	}
	if r := d.run(t, "", "admin", "team", "list"); r.code != 1 || !strings.Contains(r.stderr, "no database at") {
		t.Errorf("team list in an empty directory: %+v", r)
	}
	if entries, _ := os.ReadDir(string(d)); len(entries) != 0 {
		t.Errorf("the command left %v in the data directory", entries)
	}

	// A database without its master key file (made with
	// GATEHOUSE_MASTER_KEY, say) is not given a new key.
	d = newDataDir(t)
	if err := os.Remove(filepath.Join(string(d), "master.key")); err != nil {
		t.Fatal(err)
	}
	r := d.run(t, "", "admin", "team", "list")
	if r.code != 1 || !strings.Contains(r.stderr, "no master key at "+filepath.Join(string(d), "master.key")) || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("team list without master.key: %+v, want one line naming the key file", r)
	}
	if _, err := os.Stat(filepath.Join(string(d), "master.key")); !os.IsNotExist(err) {
		t.Errorf("master.key: %v, want none made", err)
	}

	// A database whose schema is behind this binary's is not migrated by
	// an admin command: it says to run migrate.
	d = newDataDir(t)
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(string(d), "gatehouse.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	raw, err := sql.Open("sqlite", filepath.Join(string(d), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`DELETE FROM schema_migrations WHERE version = (SELECT MAX(version) FROM schema_migrations)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	r = d.run(t, "", "admin", "team", "list")
	if r.code != 1 || !strings.Contains(r.stderr, `run "gatehouse migrate" first`) {
		t.Errorf("team list on an old schema: %+v, want it to say to migrate", r)
	}
}

// Groups are named as identity providers name them, on the command line
// too: spaces and any Unicode, in the group commands and in a group:
// principal.
func TestGroupNamesWithSpacesAndUnicode(t *testing.T) {
	d := newDataDir(t)
	d.ok(t, "", "admin", "team", "create", "acme")
	d.ok(t, adaPassword+"\n", "admin", "user", "create", "--team", "acme", "--email", "ada@example.com", "--password-stdin")
	for _, name := range []string{"Sales Team", "Ventes – Europe"} {
		d.ok(t, "", "admin", "group", "create", "--team", "acme", name)
		d.ok(t, "", "admin", "group", "add-member", "--team", "acme", name, "ada@example.com")
		d.ok(t, "", "admin", "permission", "grant", "--team", "acme", "--principal", "group:"+name, "--action", "read", "--resource", "audit-log")
	}
	out := d.ok(t, "", "admin", "--json", "permission", "list", "--team", "acme")
	for _, name := range []string{"Sales Team", "Ventes – Europe"} {
		if !strings.Contains(out, `"group:`+name+`"`) {
			t.Errorf("permission list %s lacks group:%s", out, name)
		}
	}
	d.ok(t, "", "admin", "group", "delete", "--team", "acme", "Sales Team")
}
