package statickey_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/audittest"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/poll"
	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/statickey"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/testclock"
)

var start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

var cheap = secret.PasswordParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// countingStore counts every store call Authenticate and the flusher could
// make, reads and writes.
type countingStore struct {
	store.Store
	mu    sync.Mutex
	calls map[string]int
	uses  [][]store.KeyUse
}

func (s *countingStore) count(m string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls == nil {
		s.calls = map[string]int{}
	}
	s.calls[m]++
}

func (s *countingStore) counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

func (s *countingStore) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls, s.uses = nil, nil
}

func (s *countingStore) Key(ctx context.Context, team, id string) (store.StaticKey, error) {
	s.count("Key")
	return s.Store.Key(ctx, team, id)
}

func (s *countingStore) ListKeys(ctx context.Context, team string) ([]store.StaticKey, error) {
	s.count("ListKeys")
	return s.Store.ListKeys(ctx, team)
}

func (s *countingStore) Team(ctx context.Context, name string) (store.Team, error) {
	s.count("Team")
	return s.Store.Team(ctx, name)
}

func (s *countingStore) User(ctx context.Context, team, id string) (store.User, error) {
	s.count("User")
	return s.Store.User(ctx, team, id)
}

func (s *countingStore) App(ctx context.Context, team, name string) (store.Application, error) {
	s.count("App")
	return s.Store.App(ctx, team, name)
}

func (s *countingStore) RecordKeyUse(ctx context.Context, team string, uses []store.KeyUse) error {
	s.count("RecordKeyUse")
	s.mu.Lock()
	s.uses = append(s.uses, append([]store.KeyUse(nil), uses...))
	s.mu.Unlock()
	return s.Store.RecordKeyUse(ctx, team, uses)
}

func (s *countingStore) AppendAudit(ctx context.Context, events ...store.AuditEvent) error {
	s.count("AppendAudit")
	return s.Store.AppendAudit(ctx, events...)
}

func (s *countingStore) Tx(ctx context.Context, fn func(q store.Queries) error) error {
	s.count("Tx")
	return s.Store.Tx(ctx, fn)
}

// fixture is a SQLite store with teams acme and beta; in acme, user ada
// (member of group ops), team admin root, disabled user eve and
// application etl; in beta, application etl. The key service has an
// injected clock.
type fixture struct {
	st     *countingStore
	raw    *sqlstore.DB
	clock  *testclock.Clock
	hasher *secret.Hasher
	adm    *admin.Service
	svc    *statickey.Service
	users  map[string]store.User
}

func setup(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	raw, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "gatehouse.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	h, err := secret.NewHasher(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: &countingStore{Store: raw}, raw: raw, clock: testclock.New(start), hasher: h,
		adm: &admin.Service{Store: raw, Password: cheap}, users: map[string]store.User{}}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, team := range []string{"acme", "beta"} {
		_, err := f.adm.CreateTeam(ctx, kernel.CLI, team)
		must(err)
		_, err = f.adm.CreateApp(ctx, kernel.CLI, team, "etl")
		must(err)
	}
	for _, u := range []admin.NewUser{
		{Email: "ada@example.com", Password: "correct horse battery"},
		{Email: "root@example.com", Password: "correct horse battery", TeamAdmin: true},
		{Email: "eve@example.com", Password: "correct horse battery"},
	} {
		got, err := f.adm.CreateUser(ctx, kernel.CLI, "acme", u)
		must(err)
		f.users[u.Email] = got
	}
	eve := f.users["eve@example.com"]
	eve.Disabled = true
	must(raw.UpdateUser(ctx, eve))
	_, err = f.adm.CreateGroup(ctx, kernel.CLI, "acme", "ops")
	must(err)
	must(f.adm.AddMember(ctx, kernel.CLI, "acme", "ops", "ada@example.com"))
	f.svc = f.service(f.st)
	return f
}

// service is another Service (another node) on st.
func (f *fixture) service(st store.Store) *statickey.Service {
	cat, _ := scope.New(nil)
	return &statickey.Service{Store: st, Hasher: f.hasher, Now: f.clock.Now,
		Clients: &client.Service{Store: st, Hasher: f.hasher, Now: f.clock.Now, Scopes: cat}}
}

func (f *fixture) create(t *testing.T, team, kind, owner string, expiresIn time.Duration) (statickey.Key, string) {
	t.Helper()
	k, key, err := f.svc.Create(context.Background(), kernel.CLI, team, statickey.NewKey{Kind: kind, Owner: owner, ExpiresIn: expiresIn})
	if err != nil {
		t.Fatalf("create %s key of %s in %s: %v", kind, owner, team, err)
	}
	return k, key.Reveal()
}

func (f *fixture) team(t *testing.T, name string) store.Team {
	t.Helper()
	tm, err := f.raw.Team(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func (f *fixture) grant(t *testing.T, principal, action, resource string) {
	t.Helper()
	if _, err := f.adm.Grant(context.Background(), kernel.CLI, store.Permission{Team: "acme", Principal: principal, Action: action, Resource: resource}); err != nil {
		t.Fatal(err)
	}
}

func TestParse(t *testing.T) {
	const id = "0890ed49-630d-487b-924b-23f33164f3b0"
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	gotID, gotSecret, err := statickey.Parse(statickey.Format(id, "HMQTLR+8Hhz4xAcmUrOFigdznkc0kozt7NzYC4lijs3"))
	if err != nil || gotID != id || gotSecret != "HMQTLR+8Hhz4xAcmUrOFigdznkc0kozt7NzYC4lijs3" {
		t.Errorf("Parse(Format(...)) = %q, %q, %v", gotID, gotSecret, err)
	}
	for _, tc := range []struct{ name, key string }{
		{"empty", ""},
		{"not base64", "not base64!"},
		{"base64url", strings.NewReplacer("+", "-", "/", "_").Replace(b64(id + ":??>>??>>"))},
		{"unpadded", strings.TrimRight(b64(id+":abcd"), "=")},
		{"no colon", b64(id + "abcd")},
		{"no secret", b64(id + ":")},
		{"id not a UUID", b64("0890ed49-630d-487b-924b-23f33164f3bz:abcd")},
		{"upper-case id", b64(strings.ToUpper(id) + ":abcd")},
		{"short id", b64("0890ed49:abcd")},
		{"secret with a space", b64(id + ":ab cd")},
		{"secret with a colon", b64(id + ":ab:cd")},
		{"too long", b64(id + ":" + strings.Repeat("a", 65))},
		{"a JWT", "eyJhbGciOiJFUzM4NCJ9.e30.AAAA"},
	} {
		if _, _, err := statickey.Parse(tc.key); !errors.Is(err, statickey.ErrInvalidKey) {
			t.Errorf("%s: Parse(%q) = %v, want ErrInvalidKey", tc.name, tc.key, err)
		}
	}
}

func TestCreate(t *testing.T) {
	f := setup(t)
	k, key := f.create(t, "acme", statickey.KindUser, "Ada@Example.com", 0)
	id, sec, err := statickey.Parse(key)
	if err != nil || id != k.ID || len(sec) != secret.TokenLen {
		t.Fatalf("key %q: id %q secret of %d characters, err %v; want id %s and a %d-character secret", key, id, len(sec), err, k.ID, secret.TokenLen)
	}
	stored, err := f.raw.Key(context.Background(), "acme", k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Owner != f.users["ada@example.com"].ID || stored.Kind != statickey.KindUser || stored.ExpiresAt != nil ||
		bytes.Contains(stored.Hash, []byte(sec)) || len(stored.Hash) != secret.HashSize || k.OwnerName != "ada@example.com" || k.Hash != nil {
		t.Errorf("stored %+v, returned %+v", stored, k)
	}
	exp, _ := f.create(t, "acme", statickey.KindApp, "etl", time.Hour)
	if exp.ExpiresAt == nil || !exp.ExpiresAt.Equal(start.Add(time.Hour)) {
		t.Errorf("ExpiresAt %v, want %v", exp.ExpiresAt, start.Add(time.Hour))
	}

	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		team  string
		in    statickey.NewKey
		want  error
		inMsg string
	}{
		{"unknown user", "acme", statickey.NewKey{Kind: statickey.KindUser, Owner: "bob@example.com"}, store.ErrNotFound, "bob@example.com"},
		{"user of another team", "beta", statickey.NewKey{Kind: statickey.KindUser, Owner: "ada@example.com"}, store.ErrNotFound, "ada@example.com"},
		{"bad email", "acme", statickey.NewKey{Kind: statickey.KindUser, Owner: "ada"}, kernel.ErrInvalid, "email"},
		{"unknown app", "acme", statickey.NewKey{Kind: statickey.KindApp, Owner: "nope"}, store.ErrNotFound, "nope"},
		{"no app", "acme", statickey.NewKey{Kind: statickey.KindApp}, kernel.ErrInvalid, "application name"},
		{"bad kind", "acme", statickey.NewKey{Kind: "root", Owner: "etl"}, kernel.ErrInvalid, "kind"},
		{"negative expiry", "acme", statickey.NewKey{Kind: statickey.KindApp, Owner: "etl", ExpiresIn: -time.Hour}, kernel.ErrInvalid, "expires"},
		{"unknown team", "nope", statickey.NewKey{Kind: statickey.KindApp, Owner: "etl"}, store.ErrNotFound, "nope"},
	} {
		_, _, err := f.svc.Create(ctx, kernel.CLI, tc.team, tc.in)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.inMsg) {
			t.Errorf("%s: %v, want %v naming %q", tc.name, err, tc.want, tc.inMsg)
		}
	}

	events, _, err := f.raw.ListAudit(ctx, "acme", store.AuditFilter{Action: "key.create"}, store.Page{Limit: 10})
	if err != nil || len(events) != 2 {
		t.Fatalf("key.create events %v, %v; want 2", events, err)
	}
}

func TestAuthenticate(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	userKey, userRaw := f.create(t, "acme", statickey.KindUser, "ada@example.com", 0)
	appKey, appRaw := f.create(t, "acme", statickey.KindApp, "etl", 0)
	_, betaRaw := f.create(t, "beta", statickey.KindApp, "etl", 0)
	deleted, deletedRaw := f.create(t, "acme", statickey.KindApp, "etl", 0)
	if err := f.svc.Delete(ctx, kernel.CLI, "acme", deleted.ID); err != nil {
		t.Fatal(err)
	}
	_, expiringRaw := f.create(t, "acme", statickey.KindApp, "etl", time.Hour)
	id, _, _ := statickey.Parse(appRaw)
	wrongSecret := statickey.Format(id, "x"+strings.Repeat("A", 42))

	acme := f.team(t, "acme")
	for _, tc := range []struct {
		name    string
		kind    string
		key     string
		at      time.Time
		want    authz.Subject
		problem string // the Reason of a refusal
	}{
		{"user key as Bearer", statickey.KindUser, userRaw, start, authz.Subject{Team: "acme", Principal: authz.Principal{Kind: authz.User},
			UserID: f.users["ada@example.com"].ID, AllScopes: true, Credential: "user_api_key", TokenID: userKey.ID}, ""},
		{"AppKey as AppKey", statickey.KindApp, appRaw, start, authz.Subject{Team: "acme", Principal: authz.Principal{Kind: authz.App, Name: "etl"},
			AllScopes: true, Credential: "app_key", TokenID: appKey.ID}, ""},
		{"user key as AppKey", statickey.KindApp, userRaw, start, authz.Subject{}, "this is a user API key: send it as Authorization: Bearer <key>"},
		{"AppKey as Bearer", statickey.KindUser, appRaw, start, authz.Subject{}, "this is an AppKey: send it as Authorization: AppKey <key>"},
		{"key of another team", statickey.KindApp, betaRaw, start, authz.Subject{}, "the static key is not valid"},
		{"deleted key", statickey.KindApp, deletedRaw, start, authz.Subject{}, "the static key is not valid"},
		{"wrong secret", statickey.KindApp, wrongSecret, start, authz.Subject{}, "the static key is not valid"},
		{"before expiry", statickey.KindApp, expiringRaw, start.Add(time.Hour - time.Second), authz.Subject{Team: "acme",
			Principal: authz.Principal{Kind: authz.App, Name: "etl"}, AllScopes: true, Credential: "app_key"}, ""},
		{"expired", statickey.KindApp, expiringRaw, start.Add(time.Hour), authz.Subject{}, "the static key expired"},
		{"malformed", statickey.KindUser, "bm90LWEtand0Cg==", start, authz.Subject{}, "the static key is malformed: want base64 of <key id>:<secret>"},
		{"garbage", statickey.KindApp, "%%%", start, authz.Subject{}, "the static key is malformed: want base64 of <key id>:<secret>"},
		{"unknown id", statickey.KindApp, statickey.Format("0890ed49-630d-487b-924b-23f33164f3b0", "abc"), start, authz.Subject{}, "the static key is not valid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sub, notice, err := f.svc.Authenticate(ctx, acme, tc.kind, tc.key, statickey.Use{At: tc.at, IP: "192.0.2.1", UserAgent: "test"})
			if notice.Active() {
				t.Errorf("notice %+v without a policy", notice)
			}
			if tc.problem != "" {
				if !errors.Is(err, statickey.ErrInvalidKey) || statickey.Reason(err) != tc.problem {
					t.Fatalf("err %v (reason %q), want ErrInvalidKey with %q", err, statickey.Reason(err), tc.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.want.TokenID == "" {
				tc.want.TokenID = sub.TokenID
			}
			if diff := cmp.Diff(tc.want, sub); diff != "" {
				t.Errorf("subject (-want +got):\n%s", diff)
			}
		})
	}
}

// Warm, Authenticate neither reads nor writes the store; the last use
// reaches it through the flusher, at most once a minute per key.
func TestWarmAuthenticateAndLastUse(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	k, raw := f.create(t, "acme", statickey.KindApp, "etl", 0)
	other, otherRaw := f.create(t, "acme", statickey.KindUser, "ada@example.com", 0)
	acme := f.team(t, "acme")
	use := func(key, kind string, at time.Time, ip string) {
		t.Helper()
		if _, _, err := f.svc.Authenticate(ctx, acme, kind, key, statickey.Use{At: at, IP: ip, UserAgent: "etl/1.0"}); err != nil {
			t.Fatal(err)
		}
	}
	use(raw, statickey.KindApp, start, "192.0.2.1") // cold: reads the key
	use(otherRaw, statickey.KindUser, start, "192.0.2.9")
	f.st.reset()
	for i := range 100 {
		use(raw, statickey.KindApp, start.Add(time.Duration(i)*300*time.Millisecond), "192.0.2.1")
	}
	use(raw, statickey.KindApp, start.Add(30*time.Second), "192.0.2.2")
	if c := f.st.counts(); len(c) != 0 {
		t.Fatalf("warm Authenticate called the store: %v", c)
	}

	flushAt := func(at time.Time, force bool) [][]store.KeyUse {
		t.Helper()
		f.clock.Set(at)
		f.st.reset()
		var err error
		if force {
			err = f.svc.Flush(ctx)
		} else {
			err = f.svc.FlushDue(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
		f.st.mu.Lock()
		defer f.st.mu.Unlock()
		return f.st.uses
	}
	sortUses := func(us [][]store.KeyUse) {
		for _, u := range us {
			if len(u) == 2 && u[0].ID > u[1].ID {
				u[0], u[1] = u[1], u[0]
			}
		}
	}
	got := flushAt(start.Add(31*time.Second), false)
	sortUses(got)
	want := [][]store.KeyUse{{
		{ID: k.ID, At: start.Add(30 * time.Second), IP: "192.0.2.2", UserAgent: "etl/1.0"},
		{ID: other.ID, At: start, IP: "192.0.2.9", UserAgent: "etl/1.0"},
	}}
	sortUses(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("first flush (-want +got):\n%s", diff)
	}
	// Within the minute: used again, but not written.
	use(raw, statickey.KindApp, start.Add(50*time.Second), "192.0.2.3")
	if got := flushAt(start.Add(60*time.Second), false); len(got) != 0 {
		t.Errorf("written again within a minute: %v", got)
	}
	if got := flushAt(start.Add(90*time.Second), false); len(got) != 0 {
		t.Errorf("written again within a minute: %v", got)
	}
	// A minute after the last write: written.
	got = flushAt(start.Add(91*time.Second), false)
	if diff := cmp.Diff([][]store.KeyUse{{{ID: k.ID, At: start.Add(50 * time.Second), IP: "192.0.2.3", UserAgent: "etl/1.0"}}}, got); diff != "" {
		t.Errorf("flush a minute later (-want +got):\n%s", diff)
	}
	// Shutdown writes what is pending, due or not.
	use(raw, statickey.KindApp, start.Add(100*time.Second), "192.0.2.4")
	if got := flushAt(start.Add(101*time.Second), true); len(got) != 1 || len(got[0]) != 1 || got[0][0].IP != "192.0.2.4" {
		t.Errorf("Flush wrote %v, want the pending use", got)
	}
	if got := flushAt(start.Add(200*time.Second), true); len(got) != 0 {
		t.Errorf("Flush with nothing pending wrote %v", got)
	}
	stored, err := f.raw.Key(ctx, "acme", k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.LastUsedAt == nil || !stored.LastUsedAt.Equal(start.Add(100*time.Second)) || stored.LastUsedIP != "192.0.2.4" || stored.LastUsedUA != "etl/1.0" {
		t.Errorf("stored last use %v %q %q", stored.LastUsedAt, stored.LastUsedIP, stored.LastUsedUA)
	}
}

// Run writes due uses in the background.
func TestRun(t *testing.T) {
	f := setup(t)
	f.svc.FlushInterval = 10 * time.Millisecond
	_, raw := f.create(t, "acme", statickey.KindApp, "etl", 0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.svc.Run(ctx); close(done) }()
	if _, _, err := f.svc.Authenticate(ctx, f.team(t, "acme"), statickey.KindApp, raw, statickey.Use{IP: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	poll.Until(5*time.Second, func() bool { return f.st.counts()["RecordKeyUse"] > 0 })
	cancel()
	<-done
	if n := f.st.counts()["RecordKeyUse"]; n != 1 {
		t.Errorf("RecordKeyUse called %d times, want 1", n)
	}
}

// A change made through another store handle reaches the cache through
// Invalidate.
func TestInvalidate(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	acme := f.team(t, "acme")
	k, raw := f.create(t, "acme", statickey.KindApp, "etl", 0)
	uk, uraw := f.create(t, "acme", statickey.KindUser, "ada@example.com", 0)
	auth := func(kind, key string) error {
		_, _, err := f.svc.Authenticate(ctx, acme, kind, key, statickey.Use{})
		return err
	}
	if auth(statickey.KindApp, raw) != nil || auth(statickey.KindUser, uraw) != nil {
		t.Fatal("keys refused")
	}
	if err := f.raw.DeleteKey(ctx, "acme", k.ID); err != nil { // "another node"
		t.Fatal(err)
	}
	if err := auth(statickey.KindApp, raw); err != nil {
		t.Fatalf("cached key refused before the change arrived: %v", err)
	}
	f.svc.Invalidate(store.Change{Team: "beta", Kind: store.KindKey, Key: k.ID})
	f.svc.Invalidate(store.Change{Team: "acme", Kind: store.KindPermission})
	if err := auth(statickey.KindApp, raw); err != nil {
		t.Fatalf("unrelated changes dropped the key: %v", err)
	}
	f.svc.Invalidate(store.Change{Team: "acme", Kind: store.KindKey, Key: k.ID})
	if err := auth(statickey.KindApp, raw); !errors.Is(err, statickey.ErrInvalidKey) {
		t.Errorf("deleted key after its change: %v", err)
	}
	// Deleting the user deletes its keys; the user's change drops them.
	if err := f.raw.DeleteUser(ctx, "acme", uk.Owner); err != nil {
		t.Fatal(err)
	}
	f.svc.Invalidate(store.Change{Team: "acme", Kind: store.KindUser, Key: uk.Owner})
	if err := auth(statickey.KindUser, uraw); !errors.Is(err, statickey.ErrInvalidKey) {
		t.Errorf("key of a deleted user: %v", err)
	}
}

func TestPolicy(t *testing.T) {
	dep, sun := start.Add(24*time.Hour), start.Add(48*time.Hour)
	full := statickey.Policy{DeprecatedSince: &dep, SunsetAt: &sun, Link: "https://docs.example.com/oauth"}
	onlySunset := statickey.Policy{SunsetAt: &sun}
	for _, tc := range []struct {
		name   string
		p      statickey.Policy
		at     time.Time
		status string
		notice statickey.Notice
	}{
		{"none", statickey.Policy{}, sun, statickey.StatusActive, statickey.Notice{}},
		{"before deprecation", full, dep.Add(-time.Second), statickey.StatusActive, statickey.Notice{}},
		{"at deprecation", full, dep, statickey.StatusDeprecated, statickey.Notice{DeprecatedSince: &dep, SunsetAt: &sun, Link: full.Link}},
		{"at sunset", full, sun, statickey.StatusSunset, statickey.Notice{DeprecatedSince: &dep, SunsetAt: &sun, Link: full.Link}},
		{"sunset only, before", onlySunset, dep, statickey.StatusActive, statickey.Notice{}},
		{"sunset only, at", onlySunset, sun, statickey.StatusSunset, statickey.Notice{DeprecatedSince: &sun, SunsetAt: &sun}},
	} {
		if got := tc.p.Status(tc.at); got != tc.status {
			t.Errorf("%s: Status = %q, want %q", tc.name, got, tc.status)
		}
		if diff := cmp.Diff(tc.notice, tc.p.Notice(tc.at)); diff != "" {
			t.Errorf("%s: Notice (-want +got):\n%s", tc.name, diff)
		}
	}

	for _, tc := range []struct {
		name string
		p    statickey.Policy
		want string // "" for valid
	}{
		{"full", full, ""},
		{"equal dates", statickey.Policy{DeprecatedSince: &dep, SunsetAt: &dep}, ""},
		{"sunset before deprecation", statickey.Policy{DeprecatedSince: &sun, SunsetAt: &dep}, "must not be before deprecated-since"},
		{"relative link", statickey.Policy{Link: "/docs/oauth"}, "absolute"},
		{"ftp link", statickey.Policy{Link: "ftp://docs.example.com/"}, "absolute"},
		{"link with a quote", statickey.Policy{Link: `https://docs.example.com/"x`}, "percent-encoded"},
		{"link with >", statickey.Policy{Link: `https://docs.example.com/>; rel="x"`}, "percent-encoded"},
		{"link with a space", statickey.Policy{Link: `https://docs.example.com/a b`}, "percent-encoded"},
	} {
		err := tc.p.Validate()
		if tc.want == "" && err != nil || tc.want != "" && (!errors.Is(err, kernel.ErrInvalid) || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: Validate() = %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestAuthenticateUnderPolicy(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	dep, sun := start.Add(24*time.Hour), start.Add(48*time.Hour)
	f.svc.Default = statickey.Policy{DeprecatedSince: &dep, SunsetAt: &sun, Link: "https://docs.example.com/oauth"}
	_, raw := f.create(t, "acme", statickey.KindApp, "etl", 0)
	_, betaRaw := f.create(t, "beta", statickey.KindApp, "etl", 0)
	teamDep := start.Add(time.Hour)
	if _, own, err := f.svc.SetPolicy(ctx, kernel.CLI, "beta", statickey.PolicyChange{SetDeprecatedSince: true, DeprecatedSince: &teamDep,
		SetSunsetAt: true, Link: ptrS("")}); err != nil || !own {
		t.Fatalf("SetPolicy: own %v, %v", own, err)
	}
	acme, beta := f.team(t, "acme"), f.team(t, "beta")
	for _, tc := range []struct {
		name    string
		team    store.Team
		key     string
		at      time.Time
		notice  statickey.Notice
		problem string
	}{
		{"server's, before deprecation", acme, raw, dep.Add(-time.Second), statickey.Notice{}, ""},
		{"server's, deprecated", acme, raw, dep, statickey.Notice{DeprecatedSince: &dep, SunsetAt: &sun, Link: "https://docs.example.com/oauth"}, ""},
		{"server's, sunset", acme, raw, sun, statickey.Notice{DeprecatedSince: &dep, SunsetAt: &sun, Link: "https://docs.example.com/oauth"},
			"static keys were retired on 2026-03-03T12:00:00Z: authenticate with an OAuth 2.0 access token from an OAuth client instead (POST /oauth2/token); see https://docs.example.com/oauth"},
		{"server's, sunset, garbage key", acme, "%%%", sun, statickey.Notice{DeprecatedSince: &dep, SunsetAt: &sun, Link: "https://docs.example.com/oauth"},
			"static keys were retired on 2026-03-03T12:00:00Z: authenticate with an OAuth 2.0 access token from an OAuth client instead (POST /oauth2/token); see https://docs.example.com/oauth"},
		{"team's, before its deprecation", beta, betaRaw, teamDep.Add(-time.Second), statickey.Notice{}, ""},
		{"team's, deprecated", beta, betaRaw, teamDep, statickey.Notice{DeprecatedSince: &teamDep}, ""},
		{"team's, past the server's sunset", beta, betaRaw, sun.Add(time.Hour), statickey.Notice{DeprecatedSince: &teamDep}, ""},
		{"malformed key still gets the notice", beta, "bm90LWEtand0Cg==", teamDep, statickey.Notice{DeprecatedSince: &teamDep}, "the static key is malformed: want base64 of <key id>:<secret>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, notice, err := f.svc.Authenticate(ctx, tc.team, statickey.KindApp, tc.key, statickey.Use{At: tc.at})
			if diff := cmp.Diff(tc.notice, notice); diff != "" {
				t.Errorf("notice (-want +got):\n%s", diff)
			}
			if tc.problem == "" && err != nil || tc.problem != "" && (!errors.Is(err, statickey.ErrInvalidKey) || statickey.Reason(err) != tc.problem) {
				t.Errorf("err %v, want %q", err, tc.problem)
			}
		})
	}
}

func ptrS(s string) *string { return &s }
func ptrB(b bool) *bool     { return &b }

func TestSetPolicy(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	dep, sun := start.Add(24*time.Hour), start.Add(48*time.Hour)
	f.svc.Default = statickey.Policy{DeprecatedSince: &dep, SunsetAt: &sun}

	p, own, err := f.svc.Policy(ctx, "acme")
	if err != nil || own || !p.DeprecatedSince.Equal(dep) {
		t.Fatalf("Policy before any change: %+v own %v %v", p, own, err)
	}
	// The first change copies the server's policy.
	p, own, err = f.svc.SetPolicy(ctx, kernel.CLI, "acme", statickey.PolicyChange{Link: ptrS("https://docs.example.com/oauth")})
	want := statickey.Policy{DeprecatedSince: &dep, SunsetAt: &sun, Link: "https://docs.example.com/oauth"}
	if err != nil || !own || !cmp.Equal(want, p) {
		t.Fatalf("SetPolicy(link) = %+v own %v %v, want %+v", p, own, err, want)
	}
	// A sunset before the deprecation is refused, and changes nothing.
	early := dep.Add(-time.Hour)
	if _, _, err := f.svc.SetPolicy(ctx, kernel.CLI, "acme", statickey.PolicyChange{SetSunsetAt: true, SunsetAt: &early}); !errors.Is(err, kernel.ErrInvalid) ||
		!strings.Contains(err.Error(), "sunset-at") {
		t.Errorf("sunset before deprecation: %v", err)
	}
	late := sun.Add(time.Hour)
	if _, _, err := f.svc.SetPolicy(ctx, kernel.CLI, "acme", statickey.PolicyChange{SetDeprecatedSince: true, DeprecatedSince: &late}); !errors.Is(err, kernel.ErrInvalid) {
		t.Errorf("deprecation after sunset: %v", err)
	}
	if _, _, err := f.svc.SetPolicy(ctx, kernel.CLI, "acme", statickey.PolicyChange{Link: ptrS("javascript:alert(1)")}); !errors.Is(err, kernel.ErrInvalid) {
		t.Errorf("bad link: %v", err)
	}
	if p, _, _ := f.svc.Policy(ctx, "acme"); !cmp.Equal(want, p) {
		t.Errorf("policy after refused changes %+v, want %+v", p, want)
	}
	// Unsetting a date, setting refuse-new.
	p, _, err = f.svc.SetPolicy(ctx, kernel.CLI, "acme", statickey.PolicyChange{SetSunsetAt: true, RefuseNew: ptrB(true)})
	want = statickey.Policy{DeprecatedSince: &dep, Link: "https://docs.example.com/oauth", RefuseNew: true}
	if err != nil || !cmp.Equal(want, p) {
		t.Errorf("unset sunset: %+v %v, want %+v", p, err, want)
	}
	// Clear: the server's again.
	if p, own, err := f.svc.SetPolicy(ctx, kernel.CLI, "acme", statickey.PolicyChange{Clear: true}); err != nil || own || !cmp.Equal(f.svc.Default, p) {
		t.Errorf("clear: %+v own %v %v", p, own, err)
	}
	for _, c := range []statickey.PolicyChange{{}, {Clear: true, RefuseNew: ptrB(true)}} {
		if _, _, err := f.svc.SetPolicy(ctx, kernel.CLI, "acme", c); !errors.Is(err, kernel.ErrInvalid) {
			t.Errorf("SetPolicy(%+v) = %v, want ErrInvalid", c, err)
		}
	}
	if _, _, err := f.svc.SetPolicy(ctx, kernel.CLI, "nope", statickey.PolicyChange{RefuseNew: ptrB(true)}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown team: %v", err)
	}
	events, _, _ := f.raw.ListAudit(ctx, "acme", store.AuditFilter{Action: "static-keys.policy"}, store.Page{Limit: 10})
	if len(events) != 3 {
		t.Errorf("%d static-keys.policy events, want 3", len(events))
	}
}

func TestRefuseNew(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	dep := start.Add(time.Hour)
	f.svc.Default = statickey.Policy{DeprecatedSince: &dep, RefuseNew: true}
	newKey := func(team string) error {
		_, _, err := f.svc.Create(ctx, kernel.CLI, team, statickey.NewKey{Kind: statickey.KindApp, Owner: "etl"})
		return err
	}
	if err := newKey("acme"); err != nil {
		t.Errorf("before deprecation: %v", err)
	}
	f.clock.Set(dep)
	if err := newKey("acme"); !errors.Is(err, statickey.ErrRefusedNew) || !strings.Contains(err.Error(), "OAuth 2.0") {
		t.Errorf("once deprecated: %v, want ErrRefusedNew", err)
	}
	// A team policy without refuse-new overrides the server's.
	if _, _, err := f.svc.SetPolicy(ctx, kernel.CLI, "beta", statickey.PolicyChange{RefuseNew: ptrB(false)}); err != nil {
		t.Fatal(err)
	}
	if err := newKey("beta"); err != nil {
		t.Errorf("team without refuse-new: %v", err)
	}
	// Refuse-new without a date refuses at once.
	if _, _, err := f.svc.SetPolicy(ctx, kernel.CLI, "beta", statickey.PolicyChange{SetDeprecatedSince: true, RefuseNew: ptrB(true)}); err != nil {
		t.Fatal(err)
	}
	if err := newKey("beta"); !errors.Is(err, statickey.ErrRefusedNew) {
		t.Errorf("refuse-new without a date: %v", err)
	}
}

func TestDeprecatedUseAudited(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	dep, sun := start.Add(time.Hour), start.Add(10*time.Hour)
	f.svc.Default = statickey.Policy{DeprecatedSince: &dep, SunsetAt: &sun}
	mem := &audittest.Trail{}
	f.svc.Audit = mem
	k1, raw1 := f.create(t, "acme", statickey.KindApp, "etl", 0)
	k2, raw2 := f.create(t, "acme", statickey.KindUser, "ada@example.com", 0)
	acme := f.team(t, "acme")
	var refused, unavailable atomic.Int64
	use := func(kind, raw string, at time.Time) {
		_, _, err := f.svc.Authenticate(ctx, acme, kind, raw, statickey.Use{At: at, IP: "192.0.2.1", UserAgent: "ua"})
		switch {
		case errors.Is(err, store.ErrUnavailable):
			unavailable.Add(1)
		case err != nil:
			refused.Add(1)
		}
	}
	for i := range 50 { // before deprecation: nothing
		use(statickey.KindApp, raw1, start.Add(time.Duration(i)*time.Minute/50))
	}
	// The audit trail refuses: the use that must be audited is refused
	// as unavailable, and the next one tries again.
	mem.SetFail(true)
	use(statickey.KindApp, raw1, dep)
	mem.SetFail(false)
	for i := range 100 { // the first hour of deprecation: one event per key
		at := dep.Add(time.Duration(i) * 30 * time.Second)
		use(statickey.KindApp, raw1, at)
		use(statickey.KindUser, raw2, at)
	}
	use(statickey.KindApp, raw1, dep.Add(time.Hour)) // an hour later: one more
	use(statickey.KindApp, raw1, sun)                // refused after sunset, audited
	use(statickey.KindApp, raw1, sun.Add(time.Minute))
	if n := refused.Load(); n != 2 {
		t.Errorf("%d uses refused, want the 2 after sunset", n)
	}
	if n := unavailable.Load(); n != 1 {
		t.Errorf("%d uses refused as unavailable, want the 1 the audit trail refused", n)
	}
	type ev struct{ Target, At, Outcome string }
	var got []ev
	for _, e := range mem.Events() {
		if e.Action != "key.use.deprecated" || e.IP != "192.0.2.1" || e.UserAgent != "ua" {
			t.Errorf("event %+v", e)
		}
		got = append(got, ev{e.Target, e.At.Format(time.RFC3339), e.Detail["outcome"]})
	}
	want := []ev{
		{"key:" + k1.ID, dep.Format(time.RFC3339), "allowed"},
		{"key:" + k2.ID, dep.Format(time.RFC3339), "allowed"},
		{"key:" + k1.ID, dep.Add(time.Hour).Format(time.RFC3339), "allowed"},
		{"key:" + k1.ID, sun.Format(time.RFC3339), "refused"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("audit events (-want +got):\n%s", diff)
	}
}

func TestListAndReport(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	dep := start.Add(-time.Hour)
	f.svc.Default = statickey.Policy{DeprecatedSince: &dep}
	uk, uraw := f.create(t, "acme", statickey.KindUser, "ada@example.com", 0)
	ak, _ := f.create(t, "acme", statickey.KindApp, "etl", 2*time.Hour)
	if _, _, err := f.svc.Authenticate(ctx, f.team(t, "acme"), statickey.KindUser, uraw, statickey.Use{IP: "192.0.2.7", UserAgent: "curl/8"}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := f.svc.Report(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != statickey.StatusDeprecated || r.OwnPolicy || len(r.Keys) != 2 {
		t.Fatalf("report %+v", r)
	}
	byID := map[string]statickey.ReportEntry{}
	for _, e := range r.Keys {
		if e.Hash != nil {
			t.Errorf("report carries a hash")
		}
		byID[e.ID] = e
	}
	u, a := byID[uk.ID], byID[ak.ID]
	if u.OwnerName != "ada@example.com" || u.Kind != statickey.KindUser || u.LastUsedAt == nil || !u.LastUsedAt.Equal(start) ||
		u.LastUsedIP != "192.0.2.7" || u.LastUsedUA != "curl/8" || u.Status != statickey.StatusDeprecated {
		t.Errorf("user key in report %+v", u)
	}
	if a.OwnerName != "etl" || a.LastUsedAt != nil || a.ExpiresAt == nil || !a.ExpiresAt.Equal(start.Add(2*time.Hour)) {
		t.Errorf("AppKey in report %+v", a)
	}
	if ks, err := f.svc.List(ctx, "beta"); err != nil || len(ks) != 0 {
		t.Errorf("beta's keys %v %v", ks, err)
	}
	if err := f.svc.Delete(ctx, kernel.CLI, "beta", uk.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delete acme's key in beta: %v", err)
	}
	if err := f.svc.Delete(ctx, kernel.CLI, "acme", "not-a-uuid"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delete a malformed id: %v", err)
	}
}

var routes = []authz.Route{
	{Scope: "audit.log:read", Action: "read", Resource: "audit-log"},
	{Scope: "team.user-group-info:read", Action: "read", Resource: "users"},
	{Scope: "team.login-history:read", Action: "read", Resource: "login-history"},
	{Scope: "integration.data-pools:data_push", Action: "push", Resource: "data-pools/*"},
}

func TestMigrate(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	f.grant(t, "user:ada@example.com", "read", "audit-log")
	f.grant(t, "group:ops", "read", "audit-log") // the same, inherited
	f.grant(t, "group:ops", "push", "data-pools/7")
	f.grant(t, "user:ada@example.com", "check", "authz") // no scope needed
	f.grant(t, "app:etl", "read", "login-history")
	uk, _ := f.create(t, "acme", statickey.KindUser, "ada@example.com", 0)

	c, sec, err := f.svc.Migrate(ctx, kernel.CLI, "acme", uk.ID, "", routes)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "migrated from user API key of ada@example.com" || c.AuthMethod != client.AuthSecretBasic ||
		!cmp.Equal(c.GrantTypes, []string{client.GrantClientCredentials}) ||
		!cmp.Equal(c.Scopes, []string{"audit.log:read", "integration.data-pools:data_push"}) || len(sec.Reveal()) != secret.TokenLen {
		t.Errorf("client %+v", c)
	}
	if _, err := f.svc.Clients.Authenticate(ctx, "acme", c.ID, sec.Reveal()); err != nil {
		t.Errorf("the client's secret does not authenticate: %v", err)
	}
	ps, err := f.raw.ListPermissions(ctx, "acme", "client:"+c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range ps {
		got = append(got, p.Action+" "+p.Resource)
	}
	if diff := cmp.Diff([]string{"read audit-log", "check authz", "push data-pools/7"}, got, cmpSorted); diff != "" {
		t.Errorf("client permissions (-want +got):\n%s", diff)
	}
	k, _ := f.raw.Key(ctx, "acme", uk.ID)
	if k.MigratedTo != c.ID {
		t.Errorf("MigratedTo %q, want %q", k.MigratedTo, c.ID)
	}
	events, _, _ := f.raw.ListAudit(ctx, "acme", store.AuditFilter{Since: start}, store.Page{Limit: 100})
	actions := map[string]int{}
	for _, e := range events {
		actions[e.Action]++
	}
	if actions["key.migrate"] != 1 || actions["client.create"] != 1 {
		t.Errorf("audit actions %v", actions)
	}

	// Migrating again while the client exists is refused; once it is
	// deleted, allowed.
	if _, _, err := f.svc.Migrate(ctx, kernel.CLI, "acme", uk.ID, "", routes); !errors.Is(err, statickey.ErrCannotMigrate) || !strings.Contains(err.Error(), c.ID) {
		t.Errorf("second migration: %v", err)
	}
	if err := f.svc.Clients.Delete(ctx, kernel.CLI, "acme", c.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.Migrate(ctx, kernel.CLI, "acme", uk.ID, client.AuthSecretPost, routes); err != nil {
		t.Errorf("migration after the client was deleted: %v", err)
	}

	// An AppKey: the application's permissions only.
	ak, _ := f.create(t, "acme", statickey.KindApp, "etl", 0)
	c, _, err = f.svc.Migrate(ctx, kernel.CLI, "acme", ak.ID, client.AuthSecretPost, routes)
	if err != nil || c.Name != "migrated from AppKey of etl" || !cmp.Equal(c.Scopes, []string{"team.login-history:read"}) || c.AuthMethod != client.AuthSecretPost {
		t.Errorf("AppKey migration: %+v %v", c, err)
	}

	rootKey, _ := f.create(t, "acme", statickey.KindUser, "root@example.com", 0)
	eveKey, _ := f.create(t, "acme", statickey.KindUser, "eve@example.com", 0)
	if _, err := f.adm.CreateApp(ctx, kernel.CLI, "acme", "idle"); err != nil {
		t.Fatal(err)
	}
	f.grant(t, "app:idle", "check", "authz")
	idleKey, _ := f.create(t, "acme", statickey.KindApp, "idle", 0)
	ak2, _ := f.create(t, "acme", statickey.KindApp, "etl", 0)
	for _, tc := range []struct {
		name, id, method string
		want             error
		inMsg            string
	}{
		{"team admin", rootKey.ID, "", statickey.ErrCannotMigrate, "team admin"},
		{"disabled user", eveKey.ID, "", statickey.ErrCannotMigrate, "disabled"},
		{"no scoped permission", idleKey.ID, "", statickey.ErrCannotMigrate, "no route that needs a scope"},
		{"unknown key", "0890ed49-630d-487b-924b-23f33164f3b0", "", store.ErrNotFound, "0890ed49"},
		{"bad auth method", ak2.ID, "private_key_jwt", kernel.ErrInvalid, "auth method"},
	} {
		before, _ := f.raw.ListClients(ctx, "acme")
		if _, _, err := f.svc.Migrate(ctx, kernel.CLI, "acme", tc.id, tc.method, routes); !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.inMsg) {
			t.Errorf("%s: %v, want %v naming %q", tc.name, err, tc.want, tc.inMsg)
		}
		if after, _ := f.raw.ListClients(ctx, "acme"); len(after) != len(before) {
			t.Errorf("%s: a refused migration left a client", tc.name)
		}
	}

	// A long application name still makes a valid client name.
	long := strings.Repeat("a", 128)
	if _, err := f.adm.CreateApp(ctx, kernel.CLI, "acme", long); err != nil {
		t.Fatal(err)
	}
	f.grant(t, "app:"+long, "read", "users")
	lk, _ := f.create(t, "acme", statickey.KindApp, long, 0)
	if c, _, err := f.svc.Migrate(ctx, kernel.CLI, "acme", lk.ID, "", routes); err != nil || len(c.Name) != client.MaxNameLen {
		t.Errorf("long name: %q %v", c.Name, err)
	}
}

var cmpSorted = cmp.Transformer("sort", func(in []string) []string {
	out := append([]string(nil), in...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
})
