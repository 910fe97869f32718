package teamapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/internal/access"
	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/compose"
	"github.com/gatehouse/gatehouse/internal/edge"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/masterkey"
	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/team"
	"github.com/gatehouse/gatehouse/internal/teamapi"
	"github.com/gatehouse/gatehouse/internal/token"
)

const domain = "gatehouse.test"

// t0 is the time of the first audit and login event the tests append.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// allScopes are the scopes of the team APIs.
var allScopes = []string{scope.AuditLogRead, scope.TeamUserGroupInfoRead, scope.TeamLoginHistoryRead}

// route is a team API route with what it requires.
type route struct {
	path, scope, resource string
	key                   string // the JSON field that identifies an item
}

var routes = []route{
	{"/api/team/audit-log", scope.AuditLogRead, "audit-log", "id"},
	{"/api/team/users", scope.TeamUserGroupInfoRead, "users", "id"},
	{"/api/team/groups", scope.TeamUserGroupInfoRead, "users", "name"},
	{"/api/team/login-history", scope.TeamLoginHistoryRead, "login-history", "id"},
}

// env is a running HTTP server with the team APIs of teams acme and beta
// on domain gatehouse.test, built as the server builds them, and the
// principals of the tests.
type env struct {
	st     store.Store
	http   *http.Client
	issuer *token.Issuer

	reader   store.Client // client of acme holding read on the three resources
	noPerm   store.Client // client of acme holding no permission
	beta     store.Client // client of beta holding read on the three resources
	ada      store.User   // in group auditors, which holds read on the three resources
	bob      store.User   // no permission, in group ops
	carol    store.User   // in group ops
	dave     store.User   // disabled
	root     store.User   // team admin, no permission of its own
	betaUser store.User
}

// cheap keeps password hashing fast in tests.
var cheap = secret.PasswordParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func newEnv(t *testing.T) *env {
	return newEnvWith(t, func(st store.Store) teamapi.Reader { return st })
}

// newEnvWith serves the team APIs over the reader wrap makes of the store.
func newEnvWith(t *testing.T, wrap func(store.Store) teamapi.Reader) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "gatehouse.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key, err := masterkey.New(bytes.Repeat([]byte{7}, masterkey.Size))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := compose.New(compose.Options{Store: st, MasterKey: key})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{st: st, issuer: svc.Tokens}
	e.populate(t, &admin.Service{Store: st, Password: cheap}, svc.Clients)

	// The guard as internal/server builds it. Everything is written
	// before the first request, so no change hub is needed to keep the
	// checker's cache true.
	g := &access.Guard{Keys: svc.Signing, Denylist: svc.Denylist, Checker: svc.Checker}
	mux := http.NewServeMux()
	teamapi.Register(mux, g, wrap(st))
	ts := httptest.NewServer(withTeam(st, slog.New(slog.NewTextHandler(t.Output(), nil)), mux))
	t.Cleanup(ts.Close)
	addr := ts.Listener.Addr().String()
	e.http = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
	return e
}

// withTeam is the server's team resolution, minimally: the request's
// Info for the team of its host, or 404.
func withTeam(st store.Store, log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := team.FromHost(r.Host, domain)
		if !ok {
			edge.Error(w, http.StatusNotFound, "unknown_team", "no team is served at this host")
			return
		}
		tm, err := st.Team(r.Context(), name)
		if err != nil {
			edge.Error(w, http.StatusNotFound, "unknown_team", "no team is served at this host")
			return
		}
		info := &edge.Info{RequestID: "req-1", Team: tm, TeamURL: team.URL("http", name, domain),
			TeamHost: team.Host(name, domain), Log: log}
		next.ServeHTTP(w, r.WithContext(edge.WithInfo(r.Context(), info)))
	})
}

func (e *env) populate(t *testing.T, adm *admin.Service, clients *client.Service) {
	t.Helper()
	ctx := context.Background()
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"acme", "beta"} {
		_, err := adm.CreateTeam(ctx, kernel.CLI, name)
		check(err)
	}
	newUser := func(tm, email string, teamAdmin bool) store.User {
		u, err := adm.CreateUser(ctx, kernel.CLI, tm, admin.NewUser{Email: email, Name: strings.ToUpper(email[:1]) + email[1:strings.IndexByte(email, '@')],
			Password: "correct horse battery staple", TeamAdmin: teamAdmin})
		check(err)
		return u
	}
	e.ada = newUser("acme", "ada@example.com", false)
	e.bob = newUser("acme", "bob@example.com", false)
	e.carol = newUser("acme", "carol@example.com", false)
	e.dave = newUser("acme", "dave@example.com", false)
	e.root = newUser("acme", "root@example.com", true)
	e.betaUser = newUser("beta", "ada@example.com", false)
	e.dave.Disabled = true
	check(e.st.UpdateUser(ctx, e.dave))
	for _, g := range []struct {
		team, name string
		members    []string
	}{
		{"acme", "auditors", []string{"ada@example.com"}},
		{"acme", "empty", nil},
		{"acme", "ops", []string{"carol@example.com", "bob@example.com"}},
		{"beta", "auditors", []string{"ada@example.com"}},
	} {
		_, err := adm.CreateGroup(ctx, kernel.CLI, g.team, g.name)
		check(err)
		for _, m := range g.members {
			check(adm.AddMember(ctx, kernel.CLI, g.team, g.name, m))
		}
	}
	newClient := func(tm, name string) store.Client {
		c, _, err := clients.Create(ctx, kernel.CLI, tm, client.NewClient{Name: name,
			GrantTypes: []string{client.GrantClientCredentials}, AuthMethod: client.AuthSecretBasic, Scopes: allScopes})
		check(err)
		return c
	}
	e.reader, e.noPerm, e.beta = newClient("acme", "reports"), newClient("acme", "no permissions"), newClient("beta", "reports")
	for _, holder := range []struct{ team, principal string }{
		{"acme", "client:" + e.reader.ID},
		{"acme", "group:auditors"},
		{"beta", "client:" + e.beta.ID},
		{"beta", "group:auditors"},
	} {
		for _, res := range []string{"audit-log", "users", "login-history"} {
			check(e.st.GrantPermission(ctx, store.Permission{Team: holder.team, Principal: holder.principal,
				Action: "read", Resource: res, CreatedAt: time.Now()}))
		}
	}

	// Audit events on top of those the admin changes above wrote, and
	// login attempts; both teams, so that a leak would show.
	for _, tm := range []string{"acme", "beta"} {
		var audit []store.AuditEvent
		for i, a := range []struct{ actor, action, target string }{
			{"cli", "user.create", "user:ada@example.com"},
			{"user:root@example.com", "group.create", "group:ops"},
			{"user:root@example.com", "user.create", "user:bob@example.com"},
			{"cli", "client.create", "client:c1"},
			{"client:c1", "token.issue", "client:c1"},
			{"user:root@example.com", "user.delete", "user:bob@example.com"},
			{"cli", "user.create", "user:bob@example.com"},
		} {
			audit = append(audit, store.AuditEvent{Team: tm, At: t0.Add(time.Duration(i) * time.Hour), Actor: a.actor,
				Action: a.action, Target: a.target, IP: fmt.Sprintf("192.0.2.%d", i), UserAgent: "agent/" + tm,
				Detail: map[string]string{"n": fmt.Sprint(i)}})
		}
		// Two events at the same instant: the cursor must tell them apart.
		audit = append(audit, store.AuditEvent{Team: tm, At: t0.Add(3 * time.Hour), Actor: "cli", Action: "team.update", Target: tm})
		check(e.st.AppendAudit(ctx, audit...))
		for i, l := range []struct {
			email   string
			user    string
			success bool
			reason  string
		}{
			{"ada@example.com", e.ada.ID, true, ""},
			{"ada@example.com", e.ada.ID, false, "bad_password"},
			{"nobody@example.com", "", false, "unknown_user"},
			{"bob@example.com", e.bob.ID, true, ""},
			{"ada@example.com", e.ada.ID, true, ""},
			{"bob@example.com", e.bob.ID, false, "bad_password"},
			{"carol@example.com", e.carol.ID, true, ""},
		} {
			check(e.st.AppendLogin(ctx, store.LoginEvent{Team: tm, At: t0.Add(time.Duration(i) * time.Hour),
				Email: l.email, UserID: l.user, Success: l.success, Reason: l.reason,
				IP: "198.51.100.1", UserAgent: "browser/" + tm}))
		}
	}
}

// token issues an access token of team for clientID and subject (the
// client_id for a client's own token, a user's ID for a user's).
func (e *env) token(t *testing.T, tm, clientID, subject string, scopes ...string) string {
	t.Helper()
	tok, err := e.issuer.Issue(context.Background(), token.Request{Team: tm, IssuerURL: team.URL("http", tm, domain),
		TeamHost: team.Host(tm, domain), ClientID: clientID, Subject: subject, Scopes: scopes})
	if err != nil {
		t.Fatal(err)
	}
	return "Bearer " + tok.Raw.Reveal()
}

// get requests path on team acme's host with the Authorization header
// auth ("" for none).
func (e *env) get(t *testing.T, path, auth string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://acme."+domain+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := e.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// listing is a page as the tests read it; NextCursor is nil when absent.
type listing struct {
	Items      []map[string]any `json:"items"`
	NextCursor *string          `json:"next_cursor"`
}

// list gets one page, which must be a 200 listing.
func (e *env) list(t *testing.T, path, auth string) listing {
	t.Helper()
	resp, body := e.get(t, path, auth)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET %s: Content-Type %q", path, ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("GET %s: Cache-Control %q", path, cc)
	}
	var l listing
	if err := json.Unmarshal(body, &l); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, body)
	}
	if l.Items == nil {
		t.Fatalf("GET %s: items is not an array: %s", path, body)
	}
	return l
}

// all walks every page of path with limit, checking the page sizes, and
// returns the items in order.
func (e *env) all(t *testing.T, path, auth string, limit int) []map[string]any {
	t.Helper()
	var out []map[string]any
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatalf("GET %s: the cursor never ends", path)
		}
		q := url.Values{}
		if limit > 0 {
			q.Set("limit", fmt.Sprint(limit))
		}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		l := e.list(t, path+sep+q.Encode(), auth)
		out = append(out, l.Items...)
		if l.NextCursor == nil {
			if limit > 0 && len(l.Items) > limit {
				t.Errorf("GET %s: last page of %d items, limit %d", path, len(l.Items), limit)
			}
			return out
		}
		if *l.NextCursor == "" {
			t.Fatalf("GET %s: next_cursor is \"\"; it must be omitted on the last page", path)
		}
		if limit > 0 && len(l.Items) != limit {
			t.Errorf("GET %s: page of %d items before the last, limit %d", path, len(l.Items), limit)
		}
		cursor = *l.NextCursor
	}
}

// keys returns the field key of every item, as text.
func keys(items []map[string]any, key string) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, fmt.Sprint(it[key]))
	}
	return out
}

// Every route answers a client holding the scope and the permission, a
// user holding them through a group, and a team admin holding no
// permission of its own.
func TestRoutesAllowed(t *testing.T) {
	e := newEnv(t)
	principals := []struct {
		name string
		auth string
	}{
		{"client", e.token(t, "acme", e.reader.ID, e.reader.ID, allScopes...)},
		{"user via group", e.token(t, "acme", e.noPerm.ID, e.ada.ID, allScopes...)},
		{"team admin", e.token(t, "acme", e.noPerm.ID, e.root.ID, allScopes...)},
	}
	for _, rt := range routes {
		for _, p := range principals {
			t.Run(rt.path+"/"+p.name, func(t *testing.T) {
				l := e.list(t, rt.path, p.auth)
				if len(l.Items) == 0 {
					t.Errorf("no items")
				}
			})
		}
	}
}

func TestDenials(t *testing.T) {
	e := newEnv(t)
	for _, rt := range routes {
		t.Run(rt.path, func(t *testing.T) {
			// The route's scope missing: every other scope, and the
			// permission held.
			others := slices.DeleteFunc(slices.Clone(allScopes), func(s string) bool { return s == rt.scope })
			cases := []struct {
				name      string
				auth      string
				status    int
				challenge string // the WWW-Authenticate header; "" for none
				body      map[string]any
			}{
				{name: "no credential", status: 401,
					challenge: `Bearer realm="acme.gatehouse.test"`},
				{name: "garbage token", auth: "Bearer eyJhbGciOiJFUzM4NCJ9.eyJzdWIiOiJ4In0.c2ln", status: 401,
					challenge: `Bearer realm="acme.gatehouse.test", error="invalid_token", error_description="the access token is not valid"`,
					body:      map[string]any{"error": "invalid_token", "error_description": "the access token is not valid"}},
				{name: "garbage", auth: "Bearer garbage", status: 401, body: map[string]any{"error": "invalid_token"}},
				{name: "beta's token", auth: e.token(t, "beta", e.beta.ID, e.beta.ID, allScopes...), status: 401,
					body: map[string]any{"error": "invalid_token"}},
				{name: "beta's user token", auth: e.token(t, "beta", e.beta.ID, e.betaUser.ID, allScopes...), status: 401,
					body: map[string]any{"error": "invalid_token"}},
				{name: "scope missing", auth: e.token(t, "acme", e.reader.ID, e.reader.ID, others...), status: 403,
					challenge: fmt.Sprintf(`Bearer realm="acme.gatehouse.test", error="insufficient_scope", error_description="the access token lacks scope %s", scope="%s"`, rt.scope, rt.scope),
					body: map[string]any{"error": "insufficient_scope", "error_description": "this call requires scope " + rt.scope,
						"scope": rt.scope}},
				{name: "team admin, scope missing", auth: e.token(t, "acme", e.reader.ID, e.root.ID, others...), status: 403,
					body: map[string]any{"error": "insufficient_scope", "error_description": "this call requires scope " + rt.scope,
						"scope": rt.scope}},
				{name: "client without permission", auth: e.token(t, "acme", e.noPerm.ID, e.noPerm.ID, allScopes...), status: 403,
					body: map[string]any{"error": "forbidden", "action": "read", "resource": rt.resource,
						"error_description": fmt.Sprintf("client:%s may not read %s", e.noPerm.ID, rt.resource)}},
				{name: "user without permission", auth: e.token(t, "acme", e.reader.ID, e.bob.ID, allScopes...), status: 403,
					body: map[string]any{"error": "forbidden", "action": "read", "resource": rt.resource,
						"error_description": "user:bob@example.com may not read " + rt.resource}},
				{name: "disabled user", auth: e.token(t, "acme", e.reader.ID, e.dave.ID, allScopes...), status: 401,
					body: map[string]any{"error": "invalid_token"}},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					resp, body := e.get(t, rt.path, tc.auth)
					if resp.StatusCode != tc.status {
						t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
					}
					got := resp.Header.Get("WWW-Authenticate")
					switch {
					case tc.challenge != "" && got != tc.challenge:
						t.Errorf("WWW-Authenticate %q, want %q", got, tc.challenge)
					case tc.status == 401 && !strings.HasPrefix(got, `Bearer realm="acme.gatehouse.test"`):
						t.Errorf("WWW-Authenticate %q", got)
					case tc.status == 401 && tc.body != nil && !strings.Contains(got, `error="invalid_token"`):
						t.Errorf("WWW-Authenticate %q lacks invalid_token", got)
					case tc.body != nil && tc.body["error"] == "forbidden" && got != "":
						t.Errorf("a missing permission has no challenge, got %q", got)
					}
					var m map[string]any
					if err := json.Unmarshal(body, &m); err != nil {
						t.Fatalf("body %s: %v", body, err)
					}
					if strings.Contains(string(body), "items") {
						t.Errorf("a denial carries data: %s", body)
					}
					for k, want := range tc.body {
						if m[k] != want {
							t.Errorf("%s = %v, want %v (body %s)", k, m[k], want, body)
						}
					}
				})
			}
		})
	}
}

// Walking every page with limit=2 gives every record of the team exactly
// once, in the listing's order, and nothing of beta.
func TestPagination(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	auth := e.token(t, "acme", e.reader.ID, e.reader.ID, allScopes...)

	audit, _, err := e.st.ListAudit(ctx, "acme", store.AuditFilter{}, store.Page{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	logins, _, err := e.st.ListLogins(ctx, "acme", store.LoginFilter{}, store.Page{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var auditIDs, loginIDs []string
	for _, a := range audit {
		auditIDs = append(auditIDs, fmt.Sprint(a.ID))
	}
	for _, l := range logins {
		loginIDs = append(loginIDs, fmt.Sprint(l.ID))
	}
	users := []string{e.ada.ID, e.bob.ID, e.carol.ID, e.dave.ID, e.root.ID} // by email
	want := map[string][]string{
		"/api/team/audit-log":     auditIDs,
		"/api/team/users":         users,
		"/api/team/groups":        {"auditors", "empty", "ops"},
		"/api/team/login-history": loginIDs,
	}
	if len(auditIDs) < 8 || len(loginIDs) != 7 {
		t.Fatalf("fixture: %d audit events, %d logins", len(auditIDs), len(loginIDs))
	}
	for _, rt := range routes {
		for _, limit := range []int{1, 2, 3, 1000, 0} {
			t.Run(fmt.Sprintf("%s/limit=%d", rt.path, limit), func(t *testing.T) {
				got := keys(e.all(t, rt.path, auth, limit), rt.key)
				if diff := cmp.Diff(want[rt.path], got); diff != "" {
					t.Errorf("items (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// The default page is 50 items and the largest 1000.
func TestPageSize(t *testing.T) {
	e := newEnv(t)
	var many []store.AuditEvent
	for i := range 1100 {
		many = append(many, store.AuditEvent{Team: "acme", At: t0.Add(-time.Duration(i+1) * time.Second), Actor: "cli", Action: "bulk"})
	}
	if err := e.st.AppendAudit(context.Background(), many...); err != nil {
		t.Fatal(err)
	}
	auth := e.token(t, "acme", e.reader.ID, e.reader.ID, allScopes...)
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"", 50},
		{"?limit=1000", 1000},
		{"?limit=7", 7},
	} {
		l := e.list(t, "/api/team/audit-log"+tc.query, auth)
		if len(l.Items) != tc.want || l.NextCursor == nil {
			t.Errorf("%q: %d items, next_cursor %v; want %d and a cursor", tc.query, len(l.Items), l.NextCursor, tc.want)
		}
	}
}

func TestAuditLogFilters(t *testing.T) {
	e := newEnv(t)
	auth := e.token(t, "acme", e.reader.ID, e.reader.ID, allScopes...)
	every := e.all(t, "/api/team/audit-log", auth, 1000)
	at := func(it map[string]any) time.Time {
		ts, err := time.Parse(time.RFC3339Nano, it["at"].(string))
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	for _, tc := range []struct {
		query string
		keep  func(map[string]any) bool
		n     int // how many the fixture has
	}{
		{"actor=user:root@example.com", func(it map[string]any) bool { return it["actor"] == "user:root@example.com" }, 3},
		{"action=user.create", func(it map[string]any) bool { return it["action"] == "user.create" }, 3 + 5}, // and the admin's
		{"target=user:bob@example.com", func(it map[string]any) bool { return it["target"] == "user:bob@example.com" }, 3 + 1},
		{"since=2026-01-01T02:00:00Z&until=2026-01-01T05:00:00Z", func(it map[string]any) bool {
			return !at(it).Before(t0.Add(2*time.Hour)) && at(it).Before(t0.Add(5*time.Hour))
		}, 4},
		{"since=2026-01-01T03:00:00.000000Z", func(it map[string]any) bool { return !at(it).Before(t0.Add(3 * time.Hour)) }, 0},
		{"until=2026-01-01T01:00:00Z", func(it map[string]any) bool { return at(it).Before(t0.Add(time.Hour)) }, 1},
		{"actor=cli&action=user.create&since=2026-01-01T00:00:01Z&until=2027-01-01T00:00:00Z", func(it map[string]any) bool {
			return it["actor"] == "cli" && it["action"] == "user.create" && at(it).After(t0) && at(it).Before(t0.AddDate(1, 0, 0))
		}, 0},
		{"actor=nobody", func(map[string]any) bool { return false }, 0},
	} {
		t.Run(tc.query, func(t *testing.T) {
			want := []string{}
			for _, it := range every {
				if tc.keep(it) {
					want = append(want, fmt.Sprint(it["id"]))
				}
			}
			if tc.n > 0 && len(want) != tc.n {
				t.Fatalf("fixture: %d matching events, want %d", len(want), tc.n)
			}
			if len(want) == len(every) {
				t.Fatalf("the filter keeps everything: it tests nothing")
			}
			got := keys(e.all(t, "/api/team/audit-log?"+tc.query, auth, 2), "id")
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("items (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAuditLogItem(t *testing.T) {
	e := newEnv(t)
	auth := e.token(t, "acme", e.reader.ID, e.reader.ID, allScopes...)
	l := e.list(t, "/api/team/audit-log?action=token.issue", auth)
	if len(l.Items) != 1 {
		t.Fatalf("%d items", len(l.Items))
	}
	it := l.Items[0]
	if _, ok := it["id"].(float64); !ok {
		t.Errorf("id %v is not a number", it["id"])
	}
	delete(it, "id")
	want := map[string]any{"at": "2026-01-01T04:00:00Z", "actor": "client:c1", "action": "token.issue", "target": "client:c1",
		"ip": "192.0.2.4", "user_agent": "agent/acme", "detail": map[string]any{"n": "4"}}
	if diff := cmp.Diff(want, it); diff != "" {
		t.Errorf("item (-want +got):\n%s", diff)
	}
	// An event without detail has an empty object.
	l = e.list(t, "/api/team/audit-log?action=team.update", auth)
	if len(l.Items) != 1 || !cmp.Equal(l.Items[0]["detail"], map[string]any{}) {
		t.Errorf("items %v", l.Items)
	}
}

func TestLoginHistory(t *testing.T) {
	e := newEnv(t)
	auth := e.token(t, "acme", e.reader.ID, e.reader.ID, allScopes...)
	every := e.all(t, "/api/team/login-history", auth, 0)
	if len(every) != 7 {
		t.Fatalf("%d logins", len(every))
	}
	newest := every[0]
	delete(newest, "id")
	want := map[string]any{"at": "2026-01-01T06:00:00Z", "email": "carol@example.com", "user_id": e.carol.ID, "success": true,
		"reason": "", "ip": "198.51.100.1", "user_agent": "browser/acme"}
	if diff := cmp.Diff(want, newest); diff != "" {
		t.Errorf("newest (-want +got):\n%s", diff)
	}
	type login struct {
		At      string
		Email   string
		Success bool
	}
	for _, tc := range []struct {
		query string
		want  []login // newest first
	}{
		{"user=ada@example.com", []login{
			{"2026-01-01T04:00:00Z", "ada@example.com", true},
			{"2026-01-01T01:00:00Z", "ada@example.com", false},
			{"2026-01-01T00:00:00Z", "ada@example.com", true}}},
		{"user=ADA@Example.com&result=success", []login{
			{"2026-01-01T04:00:00Z", "ada@example.com", true},
			{"2026-01-01T00:00:00Z", "ada@example.com", true}}},
		{"result=failure", []login{
			{"2026-01-01T05:00:00Z", "bob@example.com", false},
			{"2026-01-01T02:00:00Z", "nobody@example.com", false},
			{"2026-01-01T01:00:00Z", "ada@example.com", false}}},
		{"result=success&since=2026-01-01T03:00:00Z&until=2026-01-01T06:00:00Z", []login{
			{"2026-01-01T04:00:00Z", "ada@example.com", true},
			{"2026-01-01T03:00:00Z", "bob@example.com", true}}},
		{"since=2026-01-01T06:00:00Z", []login{{"2026-01-01T06:00:00Z", "carol@example.com", true}}},
		{"until=2026-01-01T00:00:01Z", []login{{"2026-01-01T00:00:00Z", "ada@example.com", true}}},
		{"user=nobody@nowhere.example", []login{}},
	} {
		t.Run(tc.query, func(t *testing.T) {
			got := []login{}
			for _, it := range e.all(t, "/api/team/login-history?"+tc.query, auth, 2) {
				got = append(got, login{it["at"].(string), it["email"].(string), it["success"].(bool)})
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("items (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUsersAndGroups(t *testing.T) {
	e := newEnv(t)
	auth := e.token(t, "acme", e.reader.ID, e.reader.ID, allScopes...)
	for _, path := range []string{"/api/team/users", "/api/team/groups", "/api/team/users?limit=1", "/api/team/groups?limit=1"} {
		resp, body := e.get(t, path, auth)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		low := strings.ToLower(string(body))
		for _, secret := range []string{"argon2", "password", "hash", "secret"} {
			if strings.Contains(low, secret) {
				t.Errorf("GET %s carries %q: %s", path, secret, body)
			}
		}
	}

	created := func(u store.User) string {
		stored, err := e.st.User(context.Background(), "acme", u.ID)
		if err != nil {
			t.Fatal(err)
		}
		return stored.CreatedAt.UTC().Format(time.RFC3339Nano)
	}
	wantUsers := []map[string]any{
		{"id": e.ada.ID, "email": "ada@example.com", "name": "Ada", "team_admin": false, "disabled": false,
			"created_at": created(e.ada), "groups": []any{"auditors"}},
		{"id": e.bob.ID, "email": "bob@example.com", "name": "Bob", "team_admin": false, "disabled": false,
			"created_at": created(e.bob), "groups": []any{"ops"}},
		{"id": e.carol.ID, "email": "carol@example.com", "name": "Carol", "team_admin": false, "disabled": false,
			"created_at": created(e.carol), "groups": []any{"ops"}},
		{"id": e.dave.ID, "email": "dave@example.com", "name": "Dave", "team_admin": false, "disabled": true,
			"created_at": created(e.dave), "groups": []any{}},
		{"id": e.root.ID, "email": "root@example.com", "name": "Root", "team_admin": true, "disabled": false,
			"created_at": created(e.root), "groups": []any{}},
	}
	if diff := cmp.Diff(wantUsers, e.all(t, "/api/team/users", auth, 2)); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}

	groups := e.all(t, "/api/team/groups", auth, 2)
	for _, g := range groups {
		if _, err := time.Parse(time.RFC3339Nano, g["created_at"].(string)); err != nil || !strings.HasSuffix(g["created_at"].(string), "Z") {
			t.Errorf("created_at %v is not RFC 3339 UTC", g["created_at"])
		}
		delete(g, "created_at")
	}
	wantGroups := []map[string]any{
		{"name": "auditors", "members": []any{map[string]any{"id": e.ada.ID, "email": "ada@example.com"}}},
		{"name": "empty", "members": []any{}},
		{"name": "ops", "members": []any{
			map[string]any{"id": e.bob.ID, "email": "bob@example.com"},
			map[string]any{"id": e.carol.ID, "email": "carol@example.com"}}},
	}
	if diff := cmp.Diff(wantGroups, groups); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
}

// Bad query parameters are a 400 invalid_request naming the parameter,
// never a 500.
func TestBadQuery(t *testing.T) {
	e := newEnv(t)
	auth := e.token(t, "acme", e.reader.ID, e.reader.ID, allScopes...)
	common := []struct{ query, param string }{
		{"limit=0", "limit"},
		{"limit=-1", "limit"},
		{"limit=1001", "limit"},
		{"limit=ten", "limit"},
		{"limit=", "limit"},
		{"limit=1&limit=2", "limit"},
		{"cursor=!!!", "cursor"},
		{"cursor=", "cursor"},
		{"cursor=a%20b", "cursor"},
		{"sort=name", "sort"},
		{"limit=%zz", "the query string"},
	}
	history := []struct{ query, param string }{
		{"since=yesterday", "since"},
		{"since=2026-01-01", "since"},
		{"until=2026-01-01T00:00:00", "until"},
		{"since=2026-01-01T00:00:00+01:00", "since"}, // an unescaped + is a space
		{"since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z", "until"},
		{"cursor=MTIz", "cursor"}, // base64url, but not a history cursor
	}
	byRoute := map[string][]struct{ query, param string }{
		"/api/team/audit-log":     append(slices.Clone(history), struct{ query, param string }{"user=ada@example.com", "user"}),
		"/api/team/users":         {{"since=2026-01-01T00:00:00Z", "since"}},
		"/api/team/groups":        {{"actor=cli", "actor"}},
		"/api/team/login-history": append(slices.Clone(history), struct{ query, param string }{"result=maybe", "result"}, struct{ query, param string }{"result=", "result"}, struct{ query, param string }{"actor=cli", "actor"}),
	}
	for _, rt := range routes {
		for _, tc := range append(slices.Clone(common), byRoute[rt.path]...) {
			t.Run(rt.path+"?"+tc.query, func(t *testing.T) {
				resp, body := e.get(t, rt.path+"?"+tc.query, auth)
				if resp.StatusCode != http.StatusBadRequest {
					t.Fatalf("status %d: %s", resp.StatusCode, body)
				}
				var eb edge.ErrorBody
				if err := json.Unmarshal(body, &eb); err != nil {
					t.Fatal(err)
				}
				if eb.Error != "invalid_request" || !strings.HasPrefix(eb.Description, tc.param) {
					t.Errorf("error %q, description %q; want invalid_request naming %s", eb.Error, eb.Description, tc.param)
				}
			})
		}
	}
	// The guard comes first: a bad query without a credential is a 401.
	if resp, body := e.get(t, "/api/team/users?limit=0", ""); resp.StatusCode != 401 {
		t.Errorf("no credential, bad query: %d %s", resp.StatusCode, body)
	}
}

// failingStore fails every read the team APIs make with err.
type failingStore struct {
	store.Store
	err error
}

var (
	errDatabase = errors.New("database on fire at 10.0.0.5")
	errDown     = fmt.Errorf("no answer from 10.0.0.5 within 750ms: %w", store.ErrUnavailable)
)

func (f failingStore) ListAudit(context.Context, string, store.AuditFilter, store.Page) ([]store.AuditEvent, string, error) {
	return nil, "", f.err
}
func (f failingStore) ListUsers(context.Context, string, store.Page) ([]store.User, string, error) {
	return nil, "", f.err
}
func (f failingStore) ListGroups(context.Context, string, store.Page) ([]store.Group, string, error) {
	return nil, "", f.err
}
func (f failingStore) ListLogins(context.Context, string, store.LoginFilter, store.Page) ([]store.LoginEvent, string, error) {
	return nil, "", f.err
}

// A database that cannot answer is a 503 temporarily_unavailable with
// Retry-After on every route; any other store failure is a 500 that names
// the request. Neither shows the failure itself.
func TestStoreFailure(t *testing.T) {
	for _, tc := range []struct {
		name       string
		err        error
		status     int
		code       string
		retryAfter bool
	}{
		{"database unavailable", errDown, 503, "temporarily_unavailable", true},
		{"another failure", errDatabase, 500, "server_error", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnvWith(t, func(st store.Store) teamapi.Reader { return failingStore{st, tc.err} })
			auth := e.token(t, "acme", e.reader.ID, e.reader.ID, allScopes...)
			for _, rt := range routes {
				resp, body := e.get(t, rt.path, auth)
				var eb edge.ErrorBody
				if err := json.Unmarshal(body, &eb); err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != tc.status || eb.Error != tc.code || (resp.Header.Get("Retry-After") != "") != tc.retryAfter ||
					(tc.status == 500 && !strings.Contains(eb.Description, "req-1")) || strings.Contains(string(body), "10.0.0.5") {
					t.Errorf("GET %s: %d %s (Retry-After %q)", rt.path, resp.StatusCode, body, resp.Header.Get("Retry-After"))
				}
			}
		})
	}
}
