package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/compose"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/masterkey"
	"github.com/gatehouse/gatehouse/internal/poll"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/statickey"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/teamapi"
)

// skEnv is a running server (servertest, on a shifted clock) with teams
// acme and beta, and the services that the CLI uses to make its users,
// keys and policies, on the same database.
type skEnv struct {
	*liveEnv
	path string
	key  masterkey.Key
	keys *statickey.Service
	adm  *admin.Service
}

func startSKEnv(t *testing.T, opts ...servertest.Option) *skEnv {
	t.Helper()
	h := servertest.Start(t, opts...)
	return &skEnv{
		liveEnv: liveOf(h),
		path:    h.DBPath,
		key:     h.Key,
		keys:    &statickey.Service{Store: h.DB, Hasher: h.Clients.Hasher, Clients: h.Clients, Now: h.Clock.Now},
		adm:     h.Admin,
	}
}

func (e *skEnv) user(t *testing.T, team, email string, teamAdmin bool) store.User {
	t.Helper()
	return e.h.User(t, team, admin.NewUser{Email: email, Password: "correct horse battery", TeamAdmin: teamAdmin})
}

func (e *skEnv) app(t *testing.T, team, name string) {
	t.Helper()
	e.h.App(t, team, name)
}

func (e *skEnv) newKey(t *testing.T, team, kind, owner string) (statickey.Key, string) {
	t.Helper()
	k, raw, err := e.keys.Create(context.Background(), kernel.CLI, team, statickey.NewKey{Kind: kind, Owner: owner})
	if err != nil {
		t.Fatal(err)
	}
	return k, raw.Reveal()
}

// skCall sends method path to team's host with a JSON body (if any) and
// the Authorization values given.
func (e *skEnv) skCall(t *testing.T, team, method, path, body string, auth ...string) reply {
	t.Helper()
	req, err := http.NewRequest(method, teamURL(team, path), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "etl-job/2.1")
	for _, a := range auth {
		req.Header.Add("Authorization", a)
	}
	resp, err := e.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: raw}
	json.Unmarshal(raw, &r.body)
	return r
}

// Every way of presenting, or mispresenting, a static key.
func TestStaticKeyAuthentication(t *testing.T) {
	e := startSKEnv(t)
	ctx := context.Background()
	e.user(t, "acme", "ada@example.com", false)
	e.user(t, "acme", "bob@example.com", false)
	carl := e.user(t, "acme", "carl@example.com", false)
	e.app(t, "acme", "etl")
	e.app(t, "beta", "etl")
	e.grant(t, "acme", "user:ada@example.com", "read", "audit-log")
	e.grant(t, "acme", "user:carl@example.com", "read", "audit-log")
	e.grant(t, "acme", "app:etl", "read", "audit-log")
	e.grant(t, "beta", "app:etl", "read", "audit-log")

	_, ada := e.newKey(t, "acme", statickey.KindUser, "ada@example.com")
	_, bob := e.newKey(t, "acme", statickey.KindUser, "bob@example.com")
	_, carlKey := e.newKey(t, "acme", statickey.KindUser, "carl@example.com")
	_, etl := e.newKey(t, "acme", statickey.KindApp, "etl")
	_, betaEtl := e.newKey(t, "beta", statickey.KindApp, "etl")
	gone, goneKey := e.newKey(t, "acme", statickey.KindApp, "etl")
	if err := e.keys.Delete(ctx, kernel.CLI, "acme", gone.ID); err != nil {
		t.Fatal(err)
	}
	past := &statickey.Service{Store: e.st, Hasher: e.clients.Hasher, Now: func() time.Time { return time.Now().Add(-2 * time.Hour) }}
	_, expired, err := past.Create(ctx, kernel.CLI, "acme", statickey.NewKey{Kind: statickey.KindApp, Owner: "etl", ExpiresIn: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	e.user(t, "acme", "dave@example.com", false)
	_, daveKey := e.newKey(t, "acme", statickey.KindUser, "dave@example.com")
	if err := e.adm.DeleteUser(ctx, kernel.CLI, "acme", "dave@example.com"); err != nil {
		t.Fatal(err)
	}
	carl.Disabled = true
	if err := e.st.UpdateUser(ctx, carl); err != nil {
		t.Fatal(err)
	}

	const realm = `realm="acme.gatehouse.test"`
	for _, tc := range []struct {
		name      string
		auth      []string
		status    int
		challenge string // the WWW-Authenticate prefix
		problem   string // in error_description
	}{
		{"user key as Bearer", []string{"Bearer " + ada}, 200, "", ""},
		{"AppKey as AppKey", []string{"AppKey " + etl}, 200, "", ""},
		{"scheme is case-insensitive", []string{"appkey " + etl}, 200, "", ""},
		{"user key as AppKey", []string{"AppKey " + ada}, 401, `AppKey ` + realm + `, error="invalid_token"`, "send it as Authorization: Bearer"},
		{"AppKey as Bearer", []string{"Bearer " + etl}, 401, `Bearer ` + realm + `, error="invalid_token"`, "send it as Authorization: AppKey"},
		{"key of another team", []string{"AppKey " + betaEtl}, 401, `AppKey ` + realm + `, error="invalid_token"`, "not valid"},
		{"deleted key", []string{"AppKey " + goneKey}, 401, `AppKey ` + realm + `, error="invalid_token"`, "not valid"},
		{"expired key", []string{"AppKey " + expired.Reveal()}, 401, `AppKey ` + realm + `, error="invalid_token"`, "expired"},
		{"malformed key", []string{"Bearer bm90LWEtand0Cg=="}, 401, `Bearer ` + realm + `, error="invalid_token"`, "malformed"},
		{"garbage AppKey", []string{"AppKey %%%not-base64"}, 401, `AppKey ` + realm + `, error="invalid_token"`, "malformed"},
		{"empty AppKey", []string{"AppKey "}, 400, `AppKey ` + realm + `, error="invalid_request"`, "empty"},
		{"owner without the permission", []string{"Bearer " + bob}, 403, "", "may not read audit-log"},
		{"disabled user", []string{"Bearer " + carlKey}, 401, `Bearer ` + realm + `, error="invalid_token"`, "no longer exists or is disabled"},
		{"deleted user", []string{"Bearer " + daveKey}, 401, `Bearer ` + realm + `, error="invalid_token"`, "not valid"},
		{"a JWT-shaped Bearer is never a static key", []string{"Bearer eyJhbGciOiJFUzM4NCJ9.e30.AAAA"}, 401, `Bearer ` + realm + `, error="invalid_token"`, "access token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.skCall(t, "acme", "GET", "/api/team/audit-log", "", tc.auth...)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.raw)
			}
			if ch := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(ch, tc.challenge) || tc.challenge == "" && ch != "" {
				t.Errorf("WWW-Authenticate %q, want prefix %q", ch, tc.challenge)
			}
			if desc, _ := r.body["error_description"].(string); !strings.Contains(desc, tc.problem) {
				t.Errorf("error_description %q, want %q", desc, tc.problem)
			}
			if r.header.Get("Deprecation") != "" {
				t.Errorf("Deprecation header without a policy")
			}
		})
	}

	// Credentials in the URL or the body are ignored, as the Celonis guide says.
	r := e.skCall(t, "acme", "GET", "/api/team/audit-log?access_token="+url.QueryEscape(ada)+"&api_key="+url.QueryEscape(etl), "")
	if r.status != 401 || r.body["error"] != "unauthorized" {
		t.Errorf("key in the URL: %d %s, want 401 unauthorized", r.status, r.raw)
	}
	f := send(t, e.http, "POST", teamURL("acme", "/api/authz/check"), url.Values{"access_token": {ada}, "Authorization": {"AppKey " + etl}}, nil)
	if f.status != 401 || f.body["error"] != "unauthorized" {
		t.Errorf("key in the body: %d %s, want 401 unauthorized", f.status, f.raw)
	}
}

// A key deleted by another process (the CLI) stops working on a running
// server within a second.
func TestStaticKeyDeletedElsewhereWithin1s(t *testing.T) {
	e := startSKEnv(t)
	e.app(t, "acme", "etl")
	e.grant(t, "acme", "app:etl", "read", "audit-log")
	k, raw := e.newKey(t, "acme", statickey.KindApp, "etl")
	if r := e.skCall(t, "acme", "GET", "/api/team/audit-log", "", "AppKey "+raw); r.status != 200 {
		t.Fatalf("before: %d %s", r.status, r.raw)
	}
	other := servertest.Open(t, "", e.path) // another process's handle
	cli := &statickey.Service{Store: other, Hasher: e.clients.Hasher}
	if err := cli.Delete(context.Background(), kernel.CLI, "acme", k.ID); err != nil {
		t.Fatal(err)
	}
	took, ok := poll.Until(time.Second, func() bool {
		return e.skCall(t, "acme", "GET", "/api/team/audit-log", "", "AppKey "+raw).status == 401
	})
	if !ok {
		t.Fatalf("the deleted key still works after %v", took)
	}
	t.Logf("the deletion took effect after %v", took)
}

// skCountingStore counts the store calls that authenticating a static key
// and resolving its owner could make, and the last-use writes.
type skCountingStore struct {
	store.Store
	mu    sync.Mutex
	calls map[string]int
}

func (s *skCountingStore) count(m string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[m]++
}

func (s *skCountingStore) snapshot(reset bool) map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.calls {
		out[k] = v
	}
	if reset {
		s.calls = map[string]int{}
	}
	return out
}

func (s *skCountingStore) Key(ctx context.Context, team, id string) (store.StaticKey, error) {
	s.count("Key")
	return s.Store.Key(ctx, team, id)
}
func (s *skCountingStore) ListKeys(ctx context.Context, team string) ([]store.StaticKey, error) {
	s.count("ListKeys")
	return s.Store.ListKeys(ctx, team)
}
func (s *skCountingStore) Team(ctx context.Context, name string) (store.Team, error) {
	s.count("Team")
	return s.Store.Team(ctx, name)
}
func (s *skCountingStore) User(ctx context.Context, team, id string) (store.User, error) {
	s.count("User")
	return s.Store.User(ctx, team, id)
}
func (s *skCountingStore) UserByEmail(ctx context.Context, team, email string) (store.User, error) {
	s.count("UserByEmail")
	return s.Store.UserByEmail(ctx, team, email)
}
func (s *skCountingStore) UserGroups(ctx context.Context, team, id string) ([]string, error) {
	s.count("UserGroups")
	return s.Store.UserGroups(ctx, team, id)
}
func (s *skCountingStore) App(ctx context.Context, team, name string) (store.Application, error) {
	s.count("App")
	return s.Store.App(ctx, team, name)
}
func (s *skCountingStore) ListPermissions(ctx context.Context, team, principal string) ([]store.Permission, error) {
	s.count("ListPermissions")
	return s.Store.ListPermissions(ctx, team, principal)
}
func (s *skCountingStore) AppendAudit(ctx context.Context, events ...store.AuditEvent) error {
	s.count("AppendAudit")
	return s.Store.AppendAudit(ctx, events...)
}
func (s *skCountingStore) RecordKeyUse(ctx context.Context, team string, uses []store.KeyUse) error {
	defer s.count("RecordKeyUse") // once written: a test that sees the count sees the write
	return s.Store.RecordKeyUse(ctx, team, uses)
}
func (s *skCountingStore) ListAudit(ctx context.Context, team string, f store.AuditFilter, p store.Page) ([]store.AuditEvent, string, error) {
	s.count("ListAudit") // the route's own read
	return s.Store.ListAudit(ctx, team, f, p)
}

// Warm, a static key costs no store read or write on the request path;
// its last use is written in the background at most once a minute, and the
// report shows it.
func TestStaticKeyWarmAndLastUse(t *testing.T) {
	var cs *skCountingStore
	e := startSKEnv(t, servertest.WithStore(func(db store.Store) store.Store {
		cs = &skCountingStore{Store: db, calls: map[string]int{}}
		return cs
	}), servertest.WithServices(func(svc *compose.Services) {
		svc.StaticKeys.FlushInterval = time.Hour // the test runs the writer's ticks itself, when it means to
	}))
	flushTick := func() { // one tick of the last-use writer, at once
		t.Helper()
		if err := e.srv.Services().StaticKeys.FlushDue(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	e.app(t, "acme", "etl")
	e.grant(t, "acme", "app:etl", "read", "login-history")
	e.user(t, "acme", "ada@example.com", false)
	e.grant(t, "acme", "user:ada@example.com", "read", "login-history")
	ak, appKey := e.newKey(t, "acme", statickey.KindApp, "etl")
	uk, userKey := e.newKey(t, "acme", statickey.KindUser, "ada@example.com")
	call := func(auth string) {
		t.Helper()
		if r := e.skCall(t, "acme", "GET", "/api/team/login-history", "", auth); r.status != 200 {
			t.Fatalf("%d %s", r.status, r.raw)
		}
	}
	// Let the changes of the writes above reach the server's caches before
	// warming them.
	e.h.SyncChanges(t)
	call("AppKey " + appKey) // cold
	call("Bearer " + userKey)
	flushTick()
	if cs.snapshot(false)["RecordKeyUse"] == 0 {
		t.Fatal("the first uses were not written")
	}
	cs.snapshot(true)
	// Warm requests, before and after the uses' one-second resolution, and
	// a tick of the writer: none reaches the store.
	n := 0
	for i := range 40 {
		if i == 20 {
			e.clock.Advance(1500 * time.Millisecond)
		}
		call("AppKey " + appKey)
		call("Bearer " + userKey)
		n++
	}
	flushTick()
	got := cs.snapshot(true)
	delete(got, "ListLogins")
	if diff := cmp.Diff(map[string]int{}, got); diff != "" {
		t.Fatalf("%d warm requests of each key called the store (-want +got):\n%s", n, diff)
	}

	// A minute later, the next use is written, once per key.
	e.clock.Advance(61 * time.Second)
	call("AppKey " + appKey)
	call("Bearer " + userKey)
	flushTick()
	flushTick() // another tick writes nothing more
	if c := cs.snapshot(false); c["RecordKeyUse"] != 1 {
		t.Errorf("RecordKeyUse called %d times for two keys a minute later, want 1 batch", c["RecordKeyUse"])
	}

	r, err := e.keys.Report(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range r.Keys {
		if k.ID != ak.ID && k.ID != uk.ID {
			continue
		}
		if k.LastUsedAt == nil || k.LastUsedIP != "127.0.0.1" || k.LastUsedUA != "etl-job/2.1" {
			t.Errorf("key %s last use %v %q %q", k.ID, k.LastUsedAt, k.LastUsedIP, k.LastUsedUA)
		} else if d := e.clock.Now().Sub(*k.LastUsedAt); d < 0 || d > 10*time.Second {
			t.Errorf("key %s last used %v, %v ago", k.ID, k.LastUsedAt, d)
		}
	}
}

// The sunset policy: no headers before deprecation; exact Deprecation,
// Sunset and Link headers on every answer after it; 401 after the sunset;
// a team's policy overrides the server's; deprecated uses are audited once
// an hour per key.
func TestStaticKeySunset(t *testing.T) {
	t0 := time.Now().UTC().Truncate(time.Second)
	dep, sun := t0.Add(time.Hour), t0.Add(3*time.Hour)
	const link = "https://docs.example.com/oauth"
	e := startSKEnv(t, servertest.WithConfig(func(c *config.Config) {
		c.StaticKeysDeprecatedSince = dep.Format(time.RFC3339)
		c.StaticKeysSunsetAt = sun.Format(time.RFC3339)
		c.StaticKeysLink = link
	}))
	ctx := context.Background()
	e.user(t, "acme", "ada@example.com", false)
	e.user(t, "acme", "bob@example.com", false)
	e.grant(t, "acme", "user:ada@example.com", "read", "audit-log")
	e.app(t, "beta", "etl")
	e.grant(t, "beta", "app:etl", "read", "audit-log")
	ak, ada := e.newKey(t, "acme", statickey.KindUser, "ada@example.com")
	_, bob := e.newKey(t, "acme", statickey.KindUser, "bob@example.com")
	_, betaKey := e.newKey(t, "beta", statickey.KindApp, "etl")
	// beta's own policy: deprecated much later.
	later := t0.Add(100 * time.Hour)
	if _, _, err := e.keys.SetPolicy(ctx, kernel.CLI, "beta", statickey.PolicyChange{SetDeprecatedSince: true, DeprecatedSince: &later, SetSunsetAt: true}); err != nil {
		t.Fatal(err)
	}
	// A sunset before the deprecation is refused.
	if _, _, err := e.keys.SetPolicy(ctx, kernel.CLI, "beta", statickey.PolicyChange{SetSunsetAt: true, SunsetAt: &t0}); err == nil {
		t.Error("a sunset before the deprecation was accepted")
	}
	c := e.register(t, "acme", "client_secret_basic", 0, "audit.log:read")
	e.grant(t, "acme", "client:"+c.ID, "read", "audit-log")
	token := func() string { tok, _ := mustToken(t, e.http, "acme", c, ""); return tok }

	headers := func(r reply) [3]string {
		return [3]string{r.header.Get("Deprecation"), r.header.Get("Sunset"), r.header.Get("Link")}
	}
	none := [3]string{}
	want := [3]string{"@" + strconv.FormatInt(dep.Unix(), 10), sun.Format(http.TimeFormat), "<" + link + `>; rel="deprecation"`}
	if !strings.HasSuffix(want[1], " GMT") {
		t.Fatalf("Sunset %q is not an IMF-fixdate", want[1])
	}
	get := func(team string, auth ...string) reply {
		return e.skCall(t, team, "GET", "/api/team/audit-log", "", auth...)
	}
	step := func(name string, r reply, status int, hdr [3]string) {
		t.Helper()
		if r.status != status || headers(r) != hdr {
			t.Errorf("%s: %d %q, want %d %q (%s)", name, r.status, headers(r), status, hdr, r.raw)
		}
	}

	step("before deprecation", get("acme", "Bearer "+ada), 200, none)
	step("before deprecation, 403", get("acme", "Bearer "+bob), 403, none)

	e.clock.Advance(time.Hour)
	step("deprecated, 200", get("acme", "Bearer "+ada), 200, want)
	step("deprecated, 403", get("acme", "Bearer "+bob), 403, want)
	step("deprecated, wrong scheme", get("acme", "AppKey "+ada), 401, want)
	step("deprecated, an access token", get("acme", "Bearer "+token()), 200, none)
	step("deprecated, the team's own policy", get("beta", "AppKey "+betaKey), 200, none)
	for range 20 {
		get("acme", "Bearer "+ada)
	}
	e.clock.Advance(time.Hour)
	step("deprecated an hour later", get("acme", "Bearer "+ada), 200, want)

	e.clock.Advance(time.Hour)
	r := get("acme", "Bearer "+ada)
	step("sunset", r, 401, want)
	desc, _ := r.body["error_description"].(string)
	if ch := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(ch, `Bearer realm="acme.gatehouse.test", error="invalid_token"`) ||
		!strings.Contains(desc, "OAuth 2.0") || !strings.Contains(desc, link) || !strings.Contains(ch, desc) {
		t.Errorf("sunset: WWW-Authenticate %q, description %q", ch, desc)
	}
	step("sunset, the team's own policy", get("beta", "AppKey "+betaKey), 200, none)
	step("sunset, an access token", get("acme", "Bearer "+token()), 200, none)

	// One key.use.deprecated event per key per hour: the first hour, the
	// next, and the refused use after the sunset.
	// The batcher writes events in the order it was handed them: once the
	// second token's token.issue is written, so is every event before it.
	poll.Must(t, 3*time.Second, "the audit events of the requests", func() bool {
		issued, _, err := e.st.ListAudit(ctx, "acme", store.AuditFilter{Action: "token.issue"}, store.Page{Limit: 100})
		return err == nil && len(issued) >= 2
	})
	events, _, _ := e.st.ListAudit(ctx, "acme", store.AuditFilter{Action: "key.use.deprecated"}, store.Page{Limit: 100})
	var outcomes []string
	for _, ev := range events {
		if ev.Target != "key:"+ak.ID && ev.Target != "key:"+mustKeyID(t, bob) {
			t.Errorf("event for %s", ev.Target)
		}
		if ev.Target == "key:"+ak.ID {
			outcomes = append(outcomes, ev.Detail["outcome"])
		}
	}
	if diff := cmp.Diff([]string{"refused", "allowed", "allowed"}, outcomes); diff != "" { // newest first
		t.Errorf("ada's key.use.deprecated events (-want +got):\n%s", diff)
	}
}

func mustKeyID(t *testing.T, key string) string {
	t.Helper()
	id, _, err := statickey.Parse(key)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// The Done-when: the migrated client, with a client-credentials
// token, reaches exactly what the key reached: the same status codes over
// every built-in route.
func TestMigratedClientReachesWhatTheKeyReached(t *testing.T) {
	e := startSKEnv(t)
	ctx := context.Background()
	e.app(t, "acme", "etl")
	e.grant(t, "acme", "app:etl", "read", "audit-log")
	e.grant(t, "acme", "app:etl", "check", "authz")
	e.user(t, "acme", "ada@example.com", false)
	if _, err := e.adm.CreateGroup(ctx, kernel.CLI, "acme", "ops"); err != nil {
		t.Fatal(err)
	}
	if err := e.adm.AddMember(ctx, kernel.CLI, "acme", "ops", "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	e.grant(t, "acme", "group:ops", "read", "login-history")
	e.grant(t, "acme", "group:ops", "read", "users")
	e.grant(t, "acme", "user:ada@example.com", "read", "users") // also directly

	routes := []struct{ method, path, body string }{
		{"GET", "/api/team/audit-log", ""},
		{"GET", "/api/team/users", ""},
		{"GET", "/api/team/groups", ""},
		{"GET", "/api/team/login-history", ""},
		{"POST", "/api/authz/check", `{"principal":"app:etl","action":"read","resource":"audit-log","scope":""}`},
	}
	statuses := func(auth string) []int {
		var out []int
		for _, rt := range routes {
			out = append(out, e.skCall(t, "acme", rt.method, rt.path, rt.body, auth).status)
		}
		return out
	}
	for _, tc := range []struct {
		name, kind, owner, scheme string
		want                      []int
	}{
		{"AppKey", statickey.KindApp, "etl", "AppKey", []int{200, 403, 403, 403, 200}},
		{"user key with group permissions", statickey.KindUser, "ada@example.com", "Bearer", []int{403, 200, 200, 200, 403}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, raw := e.newKey(t, "acme", tc.kind, tc.owner)
			byKey := statuses(tc.scheme + " " + raw)
			if diff := cmp.Diff(tc.want, byKey); diff != "" {
				t.Fatalf("the key's statuses (-want +got):\n%s", diff)
			}
			c, sec, err := e.keys.Migrate(ctx, kernel.CLI, "acme", k.ID, "", teamapi.Routes())
			if err != nil {
				t.Fatal(err)
			}
			tok, _ := mustToken(t, e.http, "acme", creds{c, sec.Reveal()}, "")
			if diff := cmp.Diff(byKey, statuses("Bearer "+tok)); diff != "" {
				t.Errorf("the migrated client's statuses differ from the key's (-key +client):\n%s", diff)
			}
			if diff := cmp.Diff(byKey, statuses(tc.scheme+" "+raw)); diff != "" {
				t.Errorf("the key after migration (-before +after):\n%s", diff)
			}
		})
	}
}
