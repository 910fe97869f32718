package cli_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/adminclient"
	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/masterkey"
	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/servertest"
)

// modes is a running server on a SQLite file in dir, with teams alpha and
// beta made alike: the command line acts on alpha in local mode (on the
// database) and on beta in remote mode (at the server's URL), so that the
// same commands in both modes must print the same, but for the team's
// name, IDs, secrets and times.
type modes struct {
	t      *testing.T
	dir    string
	local  map[string]string // the environment of each mode
	remote map[string]string
	url    string
}

func newModes(t *testing.T) *modes {
	dir := t.TempDir()
	s := servertest.Start(t, servertest.WithSQLiteFile(filepath.Join(dir, "gatehouse.db")), servertest.WithWallClock(),
		servertest.WithLocalhostDomain(), servertest.WithTeams("alpha", "beta"))
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, masterkey.Size)) // servertest.MasterKey
	m := &modes{t: t, dir: dir, url: "http://beta." + s.Config.Domain,
		local: map[string]string{masterkey.EnvVar: key}}
	// Remote mode authenticates as a client allowed team.admin that holds
	// every permission; alpha has one alike, which gets a token too, so
	// that both teams have made their signing key.
	for _, team := range []string{"alpha", "beta"} {
		c, secret := s.Client(t, team, client.NewClient{Name: "automation", Scopes: []string{scope.TeamAdmin, "audit.log:read"}})
		s.Grant(t, team, "client:"+c.ID, "*", "*")
		env := map[string]string{"GATEHOUSE_CLIENT_ID": c.ID, "GATEHOUSE_CLIENT_SECRET": secret}
		if r := gatehouse(t, env, "", "admin", "--url", "http://"+team+"."+s.Config.Domain, "team", "show"); r.code != 0 {
			t.Fatalf("remote team show of %s: %+v", team, r)
		}
		if team == "beta" {
			m.remote = env
		}
	}
	return m
}

// run runs the command in one mode: local on alpha, remote on beta.
func (m *modes) run(remote bool, stdin string, args ...string) result {
	m.t.Helper()
	if remote {
		return gatehouse(m.t, m.remote, stdin, append([]string{"admin", "--url", m.url}, args...)...)
	}
	return gatehouse(m.t, m.local, stdin, append(append([]string{"--data-dir", m.dir, "admin"}, args...), "--team", "alpha")...)
}

var (
	secretRE  = regexp.MustCompile(`[A-Za-z0-9+/=_-]{40,}`)
	uuidAnyRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	timeRE    = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`)
	teamRE    = regexp.MustCompile(`\b(alpha|beta)\b`)
)

// normal replaces what differs between two teams made alike: secrets,
// IDs, times and the team's name.
func normal(s string) string {
	s = secretRE.ReplaceAllString(s, "<secret>")
	s = uuidAnyRE.ReplaceAllString(s, "<uuid>")
	s = timeRE.ReplaceAllString(s, "<time>")
	return teamRE.ReplaceAllString(s, "<team>")
}

// TestLocalAndRemoteModesAgree runs every admin command of a team, on
// success and on failure, in local and remote mode, and compares what
// they print and how they exit. Arguments in braces are values an earlier
// command of the same mode printed.
func TestLocalAndRemoteModesAgree(t *testing.T) {
	m := newModes(t)
	const pw = "correct horse battery staple\n"
	steps := []struct {
		stdin string
		args  []string
		code  int
		// capture names the value to keep from the JSON output's field.
		capture, field string
		// unordered: the listing is in the order of IDs, which differ
		// between the teams; its lines are compared as sets.
		unordered bool
	}{
		{args: []string{"scopes", "list"}},
		{args: []string{"scopes", "list", "--json"}},

		{stdin: pw, args: []string{"user", "create", "--email", "ada@example.com", "--name", "Ada", "--password-stdin"}},
		{stdin: pw, args: []string{"user", "create", "--email", "ada@example.com", "--password-stdin"}, code: 1},
		{stdin: pw, args: []string{"user", "create", "--email", "not-an-email", "--password-stdin"}, code: 1},
		{stdin: "short\n", args: []string{"user", "create", "--email", "bob@example.com", "--password-stdin"}, code: 1},
		{args: []string{"user", "create", "--email", "bob@example.com"}, code: 2},
		{stdin: pw, args: []string{"user", "create", "--email", "eve@example.com", "--password-stdin", "--json"}},
		{args: []string{"user", "list"}},
		{args: []string{"user", "list", "--json"}},
		{stdin: pw, args: []string{"user", "set-password", "ada@example.com", "--password-stdin"}},
		{stdin: "short\n", args: []string{"user", "set-password", "ada@example.com", "--password-stdin"}, code: 1},
		{args: []string{"user", "disable", "ada@example.com"}},
		{args: []string{"user", "enable", "ada@example.com", "--json"}},
		{args: []string{"user", "sign-out", "ada@example.com"}},
		{args: []string{"user", "sign-out", "ada@example.com", "--json"}},
		{args: []string{"user", "delete", "nobody@example.com"}, code: 1},
		{args: []string{"user", "delete", "eve@example.com"}},

		{args: []string{"group", "create", "Sales"}},
		{args: []string{"group", "create", "Sales"}, code: 1},
		{args: []string{"group", "create", "eng", "--json"}},
		{args: []string{"group", "add-member", "eng", "ada@example.com"}},
		{args: []string{"group", "add-member", "eng", "nobody@example.com"}, code: 1},
		{args: []string{"group", "list"}},
		{args: []string{"group", "list", "--json"}},
		{args: []string{"group", "remove-member", "eng", "ada@example.com", "--json"}},
		{args: []string{"group", "delete", "Sales"}},
		{args: []string{"group", "delete", "Sales"}, code: 1},

		{args: []string{"app", "create", "etl", "--json"}},
		{args: []string{"app", "create", "etl"}, code: 1},
		{args: []string{"app", "create", "scratch"}},
		{args: []string{"app", "list"}},
		{args: []string{"app", "list", "--json"}},
		{args: []string{"app", "delete", "scratch"}},
		{args: []string{"app", "delete", "scratch"}, code: 1},

		{args: []string{"permission", "grant", "--principal", "app:etl", "--action", "read", "--resource", "audit-log"}},
		{args: []string{"permission", "grant", "--principal", "app:etl", "--action", "push", "--resource", "data-pools/7", "--json"}},
		{args: []string{"permission", "grant", "--principal", "group:eng", "--action", "read", "--resource", "users"}},
		{args: []string{"permission", "grant", "--principal", "bogus", "--action", "read", "--resource", "users"}, code: 1},
		{args: []string{"permission", "grant", "--principal", "app:nope", "--action", "read", "--resource", "users"}, code: 1},
		{args: []string{"permission", "grant", "--principal", "app:etl"}, code: 2},
		{args: []string{"permission", "list"}},
		{args: []string{"permission", "list", "--principal", "app:etl", "--json"}},
		{args: []string{"permission", "revoke", "--principal", "group:eng", "--action", "read", "--resource", "users"}},
		{args: []string{"permission", "revoke", "--principal", "group:eng", "--action", "read", "--resource", "users"}, code: 1},

		{args: []string{"client", "create", "--name", "Reporting", "--grant-type", "client_credentials", "--auth-method", "client_secret_basic",
			"--scope", "audit.log:read", "--access-token-ttl", "5m", "--json"}, capture: "client", field: "client_id"},
		{args: []string{"client", "create", "--name", "Reporting", "--grant-type", "client_credentials", "--auth-method", "client_secret_basic",
			"--scope", "audit.log:read"}, code: 1},
		{args: []string{"client", "create", "--name", "Web", "--grant-type", "authorization_code", "--auth-method", "client_secret_post",
			"--scope", "audit.log:read", "--redirect-uri", "ftp://example.com/cb"}, code: 1},
		{args: []string{"client", "create", "--name", "Web", "--grant-type", "client_credentials", "--auth-method", "client_secret_post",
			"--scope", "no.such:scope"}, code: 1},
		{args: []string{"client", "create", "--name", "Web"}, code: 2},
		{args: []string{"client", "create", "--name", "Web", "--grant-type", "authorization_code", "--auth-method", "client_secret_post",
			"--scope", "audit.log:read team.user-group-info:read", "--redirect-uri", "https://app.example.com/cb"}},
		{args: []string{"client", "list"}},
		{args: []string{"client", "list", "--json"}},
		{args: []string{"client", "show", "{client}"}},
		{args: []string{"client", "show", "{client}", "--json"}},
		{args: []string{"client", "show", "00000000-0000-4000-8000-000000000000"}, code: 1},
		{args: []string{"client", "regenerate-secret", "{client}", "--grace", "1h"}},
		{args: []string{"client", "regenerate-secret", "{client}", "--grace", "1000h"}, code: 1},
		{args: []string{"client", "regenerate-secret", "{client}", "--json"}},
		{args: []string{"client", "delete", "{client}"}},
		{args: []string{"client", "delete", "{client}"}, code: 1},

		{args: []string{"team", "show"}},
		{args: []string{"team", "set", "--access-token-ttl", "1h", "--json"}},
		// Not --signing-alg: remote mode's own tokens would make the new
		// algorithm's key in one team only.
		{args: []string{"team", "set", "--token-scope-format", "string"}},
		{args: []string{"team", "set", "--signing-alg", "HS256"}, code: 1},
		{args: []string{"team", "set", "--token-scope-format", "list"}, code: 1},
		{args: []string{"team", "set", "--access-token-ttl", "30s"}, code: 1},
		{args: []string{"team", "set"}, code: 2},
		{args: []string{"team", "set", "--access-token-ttl", "0", "--token-scope-format", ""}},
		{args: []string{"team", "show", "--json"}},

		{args: []string{"key", "create", "--user", "ada@example.com", "--json"}, capture: "key", field: "id"},
		{args: []string{"key", "create", "--app", "etl", "--expires-in", "720h", "--json"}, capture: "appkey", field: "id"},
		{args: []string{"key", "create", "--app", "nope"}, code: 1},
		{args: []string{"key", "create", "--user", "ada@example.com", "--app", "etl"}, code: 2},
		{args: []string{"key", "create", "--app", "etl", "--expires-in", "-1h"}, code: 2},
		{args: []string{"key", "list"}, unordered: true},
		{args: []string{"key", "list", "--json"}, unordered: true},

		{args: []string{"static-keys", "policy"}},
		{args: []string{"static-keys", "policy", "--deprecated-since", "2020-01-01T00:00:00Z", "--sunset-at", "2999-01-01T00:00:00Z",
			"--link", "https://docs.example.com/oauth", "--json"}},
		{args: []string{"static-keys", "policy", "--sunset-at", "2019-01-01T00:00:00Z"}, code: 1},
		{args: []string{"static-keys", "policy", "--sunset-at", "soon"}, code: 2},
		{args: []string{"static-keys", "policy", "--clear", "--link", "x"}, code: 2},
		{args: []string{"static-keys", "policy"}},
		{args: []string{"static-keys", "report"}, unordered: true},
		{args: []string{"static-keys", "report", "--json"}, unordered: true},
		{args: []string{"static-keys", "migrate", "{appkey}", "--json"}},
		{args: []string{"static-keys", "migrate", "{appkey}"}, code: 1},
		{args: []string{"static-keys", "migrate", "{key}", "--auth-method", "private_key_jwt"}, code: 1},
		{args: []string{"static-keys", "policy", "--clear", "--json"}},
		{args: []string{"key", "delete", "{key}"}},
		{args: []string{"key", "delete", "{key}"}, code: 1},

		{args: []string{"signing-keys", "list"}},
		{args: []string{"signing-keys", "rotate", "--alg", "ES256", "--json"}},
		{args: []string{"signing-keys", "rotate", "--alg", "HS256"}, code: 1},
		{args: []string{"signing-keys", "list", "--json"}},

		{args: []string{"group", "delete", "eng"}},
		{args: []string{"app", "delete", "etl", "--json"}},
		{args: []string{"user", "delete", "ada@example.com"}},
		{args: []string{"user", "list", "--json"}},
	}
	captured := map[bool]map[string]string{false: {}, true: {}}
	for _, st := range steps {
		var got [2]result
		for i, remote := range []bool{false, true} {
			args := make([]string, len(st.args))
			for j, a := range st.args {
				if strings.HasPrefix(a, "{") {
					v, ok := captured[remote][strings.Trim(a, "{}")]
					if !ok {
						t.Fatalf("%s: nothing captured as %s", strings.Join(st.args, " "), a)
					}
					a = v
				}
				args[j] = a
			}
			got[i] = m.run(remote, st.stdin, args...)
			if st.capture != "" && got[i].code == 0 {
				var v map[string]any
				if err := json.Unmarshal([]byte(got[i].stdout), &v); err != nil {
					t.Fatalf("%s: %v in %q", strings.Join(args, " "), err, got[i].stdout)
				}
				captured[remote][st.capture] = fmt.Sprint(v[st.field])
			}
		}
		name := strings.Join(st.args, " ")
		local, remote := got[0], got[1]
		if local.code != st.code || remote.code != st.code {
			t.Errorf("%s: exit %d locally (%s), %d remotely (%s); want %d", name, local.code, local.stderr, remote.code, remote.stderr, st.code)
		}
		a, b := normal(local.stdout), normal(remote.stdout)
		if st.unordered {
			a, b = sortedLines(a), sortedLines(b)
		}
		if a != b {
			t.Errorf("%s: the modes print differently:\nlocal:\n%s\nremote:\n%s", name, a, b)
		}
		if a, b := normal(local.stderr), normal(remote.stderr); a != b {
			t.Errorf("%s: the modes' errors differ:\nlocal:  %s\nremote: %s", name, a, b)
		}
		if st.code == 0 && local.stdout == "" {
			t.Errorf("%s: printed nothing", name)
		}
		if st.code != 0 && local.stderr == "" {
			t.Errorf("%s: failed without a word", name)
		}
	}
}

func sortedLines(s string) string {
	lines := strings.Split(s, "\n")
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// TestRemoteMode covers what only remote mode has: where the URL and the
// credential come from, and what it refuses.
func TestRemoteMode(t *testing.T) {
	m := newModes(t)
	id, secret := m.remote["GATEHOUSE_CLIENT_ID"], m.remote["GATEHOUSE_CLIENT_SECRET"]
	token := func(scopes string) string {
		t.Helper()
		form := url.Values{"grant_type": {"client_credentials"}, "scope": {scopes}}
		req, _ := http.NewRequest("POST", m.url+"/oauth2/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(id, secret)
		resp, err := (&http.Client{Transport: adminclient.LoopbackTransport()}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
			t.Fatalf("token: %d %v", resp.StatusCode, err)
		}
		return tok.AccessToken
	}
	adminToken := token("team.admin")
	otherToken := token("audit.log:read")
	// A user who holds no permission, with an API key (static keys carry
	// every scope).
	if r := m.run(true, "correct horse battery staple\n", "user", "create", "--email", "nobody@example.com", "--password-stdin"); r.code != 0 {
		t.Fatal(r)
	}
	r := m.run(true, "", "key", "create", "--user", "nobody@example.com", "--json")
	var key struct{ Key string }
	if err := json.Unmarshal([]byte(r.stdout), &key); err != nil || key.Key == "" {
		t.Fatalf("key create: %+v", r)
	}

	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string // in stdout on success, else in stderr
	}{
		{"client credentials", m.remote, []string{"--url", m.url, "user", "list"}, 0, "nobody@example.com"},
		{"GATEHOUSE_URL", map[string]string{"GATEHOUSE_URL": m.url, "GATEHOUSE_CLIENT_ID": id, "GATEHOUSE_CLIENT_SECRET": secret},
			[]string{"user", "list"}, 0, "nobody@example.com"},
		{"--url over GATEHOUSE_URL", map[string]string{"GATEHOUSE_URL": "http://alpha.invalid", "GATEHOUSE_TOKEN": adminToken},
			[]string{"--url", m.url, "app", "list", "--json"}, 0, "[]"},
		{"access token", map[string]string{"GATEHOUSE_TOKEN": adminToken}, []string{"--url", m.url, "team", "show"}, 0, "team:               beta"},
		{"--team of the URL", map[string]string{"GATEHOUSE_TOKEN": adminToken}, []string{"--url", m.url, "team", "show", "--team", "beta"}, 0, "beta"},
		{"trailing slash", map[string]string{"GATEHOUSE_TOKEN": adminToken}, []string{"--url", m.url + "/", "group", "list", "--json"}, 0, "[]"},

		{"--team of another team", map[string]string{"GATEHOUSE_TOKEN": adminToken}, []string{"--url", m.url, "team", "show", "--team", "alpha"}, 2, "is team beta's"},
		{"no credential", nil, []string{"--url", m.url, "user", "list"}, 2, "GATEHOUSE_TOKEN"},
		{"half a client", map[string]string{"GATEHOUSE_CLIENT_ID": id}, []string{"--url", m.url, "user", "list"}, 2, "GATEHOUSE_CLIENT_SECRET"},
		{"two credentials", map[string]string{"GATEHOUSE_TOKEN": adminToken, "GATEHOUSE_CLIENT_ID": id, "GATEHOUSE_CLIENT_SECRET": secret},
			[]string{"--url", m.url, "user", "list"}, 2, "not both"},
		{"not a team URL", map[string]string{"GATEHOUSE_TOKEN": adminToken}, []string{"--url", m.url + "/api/admin", "user", "list"}, 2, "want the team's URL"},
		{"not http", map[string]string{"GATEHOUSE_TOKEN": adminToken}, []string{"--url", "ftp://beta.example.com", "user", "list"}, 2, "want the team's URL"},
		{"team create", map[string]string{"GATEHOUSE_TOKEN": adminToken}, []string{"--url", m.url, "team", "create", "gamma"}, 2, "acts on the installation"},
		{"team list", map[string]string{"GATEHOUSE_TOKEN": adminToken}, []string{"--url", m.url, "team", "list"}, 2, "acts on the installation"},
		{"team delete", map[string]string{"GATEHOUSE_TOKEN": adminToken}, []string{"--url", m.url, "team", "delete", "beta"}, 2, "acts on the installation"},
		{"--routes", map[string]string{"GATEHOUSE_TOKEN": adminToken}, []string{"--url", m.url, "static-keys", "migrate", "x", "--routes", "r.yaml"}, 2, "--routes"},

		{"bad secret", map[string]string{"GATEHOUSE_CLIENT_ID": id, "GATEHOUSE_CLIENT_SECRET": "wrong"}, []string{"--url", m.url, "user", "list"}, 1, "get a token"},
		{"bad token", map[string]string{"GATEHOUSE_TOKEN": "not-a-token"}, []string{"--url", m.url, "user", "list"}, 1, ""},
		{"no team.admin scope", map[string]string{"GATEHOUSE_TOKEN": otherToken}, []string{"--url", m.url, "user", "list"}, 1, "team.admin"},
		{"no permission", map[string]string{"GATEHOUSE_TOKEN": key.Key}, []string{"--url", m.url, "user", "list"}, 1, "read"},
		{"unknown team", map[string]string{"GATEHOUSE_TOKEN": adminToken}, []string{"--url", strings.Replace(m.url, "beta.", "gamma.", 1), "user", "list"}, 1, ""},
		{"no server", map[string]string{"GATEHOUSE_TOKEN": adminToken}, []string{"--url", "http://beta.localhost:1", "user", "list"}, 1, "connect"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := gatehouse(t, tc.env, "", append([]string{"admin"}, tc.args...)...)
			out := r.stdout
			if tc.code != 0 {
				out = r.stderr
			}
			t.Logf("stderr: %s", r.stderr)
			if r.code != tc.code || !strings.Contains(out, tc.want) {
				t.Errorf("exit %d, want %d with %q:\nstdout: %s\nstderr: %s", r.code, tc.code, tc.want, r.stdout, r.stderr)
			}
			if tc.code != 0 && strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
				t.Errorf("the error takes more than one line: %q", r.stderr)
			}
		})
	}
}
