package client_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/poll"
	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/testclock"
)

// countingStore counts the store's Client reads.
type countingStore struct {
	store.Store
	reads atomic.Int64
}

func (s *countingStore) Client(ctx context.Context, team, id string) (store.Client, error) {
	s.reads.Add(1)
	return s.Store.Client(ctx, team, id)
}

type fixture struct {
	dir    string
	store  *sqlstore.DB
	clock  *testclock.Clock
	hasher *secret.Hasher
	svc    *client.Service
}

var start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newHasher(t testing.TB) *secret.Hasher {
	h, err := secret.NewHasher(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func newCatalog(t testing.TB) *scope.Catalog {
	c, err := scope.New([]scope.Scope{{Name: "billing:read", Description: "Read invoices"}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func openStore(t testing.TB, dir string) *sqlstore.DB {
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(dir, "gatehouse.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// setup opens a SQLite store with teams "a" and "b" and a client service on
// it with an injected clock.
func setup(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir(), clock: testclock.New(start), hasher: newHasher(t)}
	f.store = openStore(t, f.dir)
	ad := &admin.Service{Store: f.store}
	for _, name := range []string{"a", "b"} {
		if _, err := ad.CreateTeam(context.Background(), kernel.CLI, name); err != nil {
			t.Fatal(err)
		}
	}
	f.svc = f.service(f.store)
	return f
}

// service is another Service (another node) on st.
func (f *fixture) service(st store.Store) *client.Service {
	return &client.Service{Store: st, Hasher: f.hasher, Now: f.clock.Now, Scopes: newCatalog(nil)}
}

func ccClient() client.NewClient {
	return client.NewClient{
		Name:       "Reporting job",
		GrantTypes: []string{client.GrantClientCredentials},
		AuthMethod: client.AuthSecretBasic,
		Scopes:     []string{"audit.log:read", "billing:read"},
	}
}

func (f *fixture) create(t testing.TB, team string, in client.NewClient) (store.Client, secret.Secret) {
	t.Helper()
	c, sec, err := f.svc.Create(context.Background(), kernel.CLI, team, in)
	if err != nil {
		t.Fatal(err)
	}
	return c, sec
}

func TestCreateValidation(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	code := func(in client.NewClient) client.NewClient {
		in.GrantTypes = []string{client.GrantAuthorizationCode}
		in.RedirectURIs = []string{"https://app.example.com/callback"}
		return in
	}
	for _, tc := range []struct {
		name   string
		change func(*client.NewClient)
		want   string // in the message
	}{
		{"empty name", func(in *client.NewClient) { in.Name = "" }, "name"},
		{"long name", func(in *client.NewClient) { in.Name = strings.Repeat("é", 129) }, "name"},
		{"name with newline", func(in *client.NewClient) { in.Name = "a\nb" }, "name"},
		{"name with leading space", func(in *client.NewClient) { in.Name = " a" }, "name"},
		{"no grant type", func(in *client.NewClient) { in.GrantTypes = nil }, "grant types"},
		{"unknown grant type", func(in *client.NewClient) { in.GrantTypes = []string{"password"} }, "grant type"},
		{"refresh_token grant", func(in *client.NewClient) { in.GrantTypes = []string{client.GrantRefreshToken} }, "grant type refresh_token"},
		{"implicit grant", func(in *client.NewClient) { in.GrantTypes = []string{"implicit"} }, "grant type"},
		{"repeated grant type", func(in *client.NewClient) {
			in.GrantTypes = []string{client.GrantClientCredentials, client.GrantClientCredentials}
		}, "listed twice"},
		{"no auth method", func(in *client.NewClient) { in.AuthMethod = "" }, "auth method"},
		{"unknown auth method", func(in *client.NewClient) { in.AuthMethod = "private_key_jwt" }, "auth method"},
		{"two auth methods", func(in *client.NewClient) { in.AuthMethod = "client_secret_basic client_secret_post" }, "auth method"},
		{"no scope", func(in *client.NewClient) { in.Scopes = nil }, "scopes"},
		{"unknown scope", func(in *client.NewClient) { in.Scopes = []string{"audit.log:read", "studio"} }, `scope "studio"`},
		{"empty scope", func(in *client.NewClient) { in.Scopes = []string{""} }, "scope"},
		{"repeated scope", func(in *client.NewClient) { in.Scopes = []string{"audit.log:read", "audit.log:read"} }, "listed twice"},
		{"redirect URI without code grant", func(in *client.NewClient) { in.RedirectURIs = []string{"https://app.example.com/cb"} }, "redirect URIs"},
		{"code grant without redirect URI", func(in *client.NewClient) { *in = code(*in); in.RedirectURIs = nil }, "redirect URIs"},
		{"relative redirect URI", func(in *client.NewClient) { *in = code(*in); in.RedirectURIs = []string{"/callback"} }, "redirect URI"},
		{"opaque redirect URI", func(in *client.NewClient) { *in = code(*in); in.RedirectURIs = []string{"https:app.example.com"} }, "redirect URI"},
		{"http redirect URI", func(in *client.NewClient) { *in = code(*in); in.RedirectURIs = []string{"http://app.example.com/cb"} }, "loopback"},
		{"http on a look-alike host", func(in *client.NewClient) {
			*in = code(*in)
			in.RedirectURIs = []string{"http://localhost.example.com/cb"}
		}, "loopback"},
		{"custom scheme", func(in *client.NewClient) { *in = code(*in); in.RedirectURIs = []string{"com.example.app:/cb"} }, "redirect URI"},
		{"fragment", func(in *client.NewClient) {
			*in = code(*in)
			in.RedirectURIs = []string{"https://app.example.com/cb#x"}
		}, "fragment"},
		{"empty fragment", func(in *client.NewClient) { *in = code(*in); in.RedirectURIs = []string{"https://app.example.com/cb#"} }, "fragment"},
		{"userinfo", func(in *client.NewClient) {
			*in = code(*in)
			in.RedirectURIs = []string{"https://user:pw@app.example.com/cb"}
		}, "userinfo"},
		{"space", func(in *client.NewClient) { *in = code(*in); in.RedirectURIs = []string{"https://app.example.com/a b"} }, "redirect URI"},
		{"non-ASCII", func(in *client.NewClient) { *in = code(*in); in.RedirectURIs = []string{"https://app.example.com/é"} }, "redirect URI"},
		{"no host", func(in *client.NewClient) { *in = code(*in); in.RedirectURIs = []string{"https:///cb"} }, "redirect URI"},
		{"empty redirect URI", func(in *client.NewClient) { *in = code(*in); in.RedirectURIs = []string{""} }, "redirect URI"},
		{"repeated redirect URI", func(in *client.NewClient) {
			*in = code(*in)
			in.RedirectURIs = []string{"https://app.example.com/cb", "https://app.example.com/cb"}
		}, "listed twice"},
		{"TTL too short", func(in *client.NewClient) { in.AccessTokenTTL = 59 * time.Second }, "access token TTL"},
		{"TTL too long", func(in *client.NewClient) { in.AccessTokenTTL = 24*time.Hour + time.Second }, "access token TTL"},
		{"negative TTL", func(in *client.NewClient) { in.AccessTokenTTL = -time.Minute }, "access token TTL"},
		// OpenID Connect's registration.
		{"unknown ID token algorithm", func(in *client.NewClient) { *in = code(*in); in.IDTokenAlg = "HS256" }, "ID token algorithm"},
		{"ID token algorithm none", func(in *client.NewClient) { *in = code(*in); in.IDTokenAlg = "none" }, "ID token algorithm"},
		{"ID token algorithm in lower case", func(in *client.NewClient) { *in = code(*in); in.IDTokenAlg = "rs256" }, "ID token algorithm"},
		{"ID token algorithm without code grant", func(in *client.NewClient) { in.IDTokenAlg = "ES256" }, "only the authorization_code grant"},
		{"post-logout URI without code grant", func(in *client.NewClient) {
			in.PostLogoutRedirectURIs = []string{"https://app.example.com/bye"}
		}, "post-logout redirect URIs"},
		{"http post-logout URI", func(in *client.NewClient) {
			*in = code(*in)
			in.PostLogoutRedirectURIs = []string{"http://app.example.com/bye"}
		}, "loopback"},
		{"post-logout URI with fragment", func(in *client.NewClient) {
			*in = code(*in)
			in.PostLogoutRedirectURIs = []string{"https://app.example.com/bye#x"}
		}, "fragment"},
		{"repeated post-logout URI", func(in *client.NewClient) {
			*in = code(*in)
			in.PostLogoutRedirectURIs = []string{"https://app.example.com/bye", "https://app.example.com/bye"}
		}, "listed twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := ccClient()
			tc.change(&in)
			_, sec, err := f.svc.Create(ctx, kernel.CLI, "a", in)
			if !errors.Is(err, kernel.ErrInvalid) {
				t.Fatalf("Create = %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q: want one line naming %q", err, tc.want)
			}
			if sec != "" {
				t.Error("a secret came back with the error")
			}
		})
	}
	cs, err := f.store.ListClients(ctx, "a")
	if err != nil || len(cs) != 0 {
		t.Fatalf("invalid registrations stored %d clients (%v)", len(cs), err)
	}
}

func TestCreateAccepts(t *testing.T) {
	f := setup(t)
	for _, tc := range []struct {
		name   string
		change func(*client.NewClient)
	}{
		{"client credentials, basic", func(*client.NewClient) {}},
		{"post", func(in *client.NewClient) { in.AuthMethod = client.AuthSecretPost }},
		{"both grants", func(in *client.NewClient) {
			in.GrantTypes = []string{client.GrantClientCredentials, client.GrantAuthorizationCode}
			in.RedirectURIs = []string{"https://app.example.com/cb?x=1"}
		}},
		{"loopback redirect URIs", func(in *client.NewClient) {
			in.GrantTypes = []string{client.GrantAuthorizationCode}
			in.RedirectURIs = []string{"http://127.0.0.1:8000/cb", "http://[::1]/cb", "http://localhost:3000/cb"}
		}},
		{"128-character name", func(in *client.NewClient) { in.Name = strings.Repeat("é", 128) }},
		{"TTL bounds", func(in *client.NewClient) { in.AccessTokenTTL = time.Minute }},
		{"TTL upper bound", func(in *client.NewClient) { in.AccessTokenTTL = 24 * time.Hour }},
		{"OpenID Connect", func(in *client.NewClient) {
			in.GrantTypes = []string{client.GrantAuthorizationCode}
			in.RedirectURIs = []string{"https://app.example.com/cb"}
			in.IDTokenAlg = "EdDSA"
			in.PostLogoutRedirectURIs = []string{"https://app.example.com/bye?x=1", "http://127.0.0.1:8000/bye"}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := ccClient()
			in.Name = tc.name // names are unique in a team
			tc.change(&in)
			c, _ := f.create(t, "a", in)
			got, err := f.svc.Get(context.Background(), "a", c.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := store.Client{Team: "a", ID: c.ID, Name: in.Name, GrantTypes: in.GrantTypes, AuthMethod: in.AuthMethod,
				Scopes: in.Scopes, RedirectURIs: in.RedirectURIs, AccessTokenTTL: in.AccessTokenTTL, CreatedAt: start,
				IDTokenAlg: in.IDTokenAlg, PostLogoutRedirectURIs: in.PostLogoutRedirectURIs}
			got.Secrets = nil
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("stored client (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCreateNeedsTheTeam(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	if _, _, err := f.svc.Create(ctx, kernel.CLI, "nope", ccClient()); !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), `team "nope"`) {
		t.Errorf("Create in a missing team = %v, want ErrNotFound naming it", err)
	}
	if _, _, err := f.svc.Create(ctx, kernel.CLI, "Not A Team", ccClient()); !errors.Is(err, kernel.ErrInvalid) {
		t.Errorf("Create in a malformed team = %v, want ErrInvalid", err)
	}
}

// A client's name is unique in its team, like an application's or a
// group's: a second "Reporting job" is refused, and writes nothing.
func TestCreateRefusesATakenName(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	f.create(t, "a", ccClient())
	_, _, err := f.svc.Create(ctx, kernel.CLI, "a", ccClient())
	if !errors.Is(err, store.ErrAlreadyExists) || err.Error() != `client name "Reporting job" already exists in team a` {
		t.Errorf("Create with a taken name = %v, want ErrAlreadyExists: client name \"Reporting job\" already exists in team a", err)
	}
	if cs, err := f.svc.List(ctx, "a"); err != nil || len(cs) != 1 {
		t.Errorf("clients after the refused create: %d, %v; want 1", len(cs), err)
	}
	events, _, err := f.store.ListAudit(ctx, "a", store.AuditFilter{}, store.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	creates := 0
	for _, e := range events {
		if e.Action == "client.create" {
			creates++
		}
	}
	if creates != 1 {
		t.Errorf("%d client.create events, want 1 (the refused create wrote none)", creates)
	}
	// Another team may have a client of that name.
	f.create(t, "b", ccClient())
}

// The secret is shown once: the store holds its hash only, and nothing in
// the database files contains it.
func TestSecretIsStoredAsItsHashOnly(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	c, sec := f.create(t, "a", ccClient())
	if len(sec.Reveal()) != secret.TokenLen {
		t.Fatalf("secret has %d characters, want %d", len(sec.Reveal()), secret.TokenLen)
	}
	if !validUUID(c.ID) {
		t.Errorf("client_id %q is not a UUID", c.ID)
	}
	got, err := f.store.Client(ctx, "a", c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Secrets) != 1 {
		t.Fatalf("stored %d secrets, want 1", len(got.Secrets))
	}
	s := got.Secrets[0]
	if !bytes.Equal(s.Hash, f.hasher.Hash(sec.Reveal())) || s.ExpiresAt != nil || !validUUID(s.ID) || !s.CreatedAt.Equal(start) {
		t.Errorf("stored secret %+v: want the keyed hash, a UUID, no expiry, created now", s)
	}
	// A second secret is regenerated so that its value is in no file either.
	sec2, err := f.svc.RegenerateSecret(ctx, kernel.CLI, "a", c.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(f.dir, "gatehouse.db*"))
	if len(files) == 0 {
		t.Fatal("no database files found")
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []secret.Secret{sec, sec2} {
			if bytes.Contains(data, []byte(v.Reveal())) {
				t.Errorf("%s contains a client secret", filepath.Base(file))
			}
		}
	}
	// The audit log has the creation and the regeneration, without secrets.
	evs, _, err := f.store.ListAudit(ctx, "a", store.AuditFilter{Target: "client:" + c.ID}, store.Page{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]store.AuditEvent{}
	for _, e := range evs {
		actions[e.Action] = e
	}
	if e, ok := actions["client.create"]; !ok || e.Actor != "cli" || e.Detail["scopes"] != "audit.log:read billing:read" {
		t.Errorf("client.create event = %+v", e)
	}
	if e, ok := actions["client.secret.regenerate"]; !ok || e.Detail["grace"] != "1h0m0s" {
		t.Errorf("client.secret.regenerate event = %+v", e)
	}
}

func validUUID(s string) bool {
	return len(s) == 36 && strings.Count(s, "-") == 4 && strings.ToLower(s) == s
}

func TestAuthenticate(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	c, sec := f.create(t, "a", ccClient())
	other, otherSec := f.create(t, "b", ccClient())
	for _, tc := range []struct {
		name, team, id, secret string
		ok                     bool
	}{
		{"right secret", "a", c.ID, sec.Reveal(), true},
		{"other team's client with its secret", "b", other.ID, otherSec.Reveal(), true},
		{"wrong secret", "a", c.ID, otherSec.Reveal(), false},
		{"empty secret", "a", c.ID, "", false},
		{"secret with a character more", "a", c.ID, sec.Reveal() + "x", false},
		{"same client_id at another team", "b", c.ID, sec.Reveal(), false},
		{"unknown team", "zzz", c.ID, sec.Reveal(), false},
		{"unknown client", "a", "6f1c1d57-8f5a-4a43-9d4e-5f2a8c3b7e10", sec.Reveal(), false},
		{"malformed client_id", "a", "not-a-uuid", sec.Reveal(), false},
		{"upper-case client_id", "a", strings.ToUpper(c.ID), sec.Reveal(), false},
		{"braced client_id", "a", "{" + c.ID + "}", sec.Reveal(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Twice: cold, then from the cache.
			for range 2 {
				got, err := f.svc.Authenticate(ctx, tc.team, tc.id, tc.secret)
				if !tc.ok {
					if !errors.Is(err, client.ErrInvalidClient) {
						t.Fatalf("Authenticate = %v, want ErrInvalidClient", err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("Authenticate: %v", err)
				}
				if got.ID != tc.id || got.Team != tc.team || got.Secrets != nil || len(got.Scopes) != 2 {
					t.Fatalf("Authenticate = %+v, want the client without secrets", got)
				}
			}
		})
	}
}

// A malformed client_id is refused without a store read.
func TestMalformedClientIDDoesNotReadTheStore(t *testing.T) {
	f := setup(t)
	cs := &countingStore{Store: f.store}
	svc := f.service(cs)
	for _, id := range []string{"", "x", strings.Repeat("a", 36), "6F1C1D57-8F5A-4A43-9D4E-5F2A8C3B7E10"} {
		if _, err := svc.Authenticate(context.Background(), "a", id, "s"); !errors.Is(err, client.ErrInvalidClient) {
			t.Errorf("Authenticate(%q) = %v", id, err)
		}
		if _, err := svc.Client(context.Background(), "a", id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Client(%q) = %v", id, err)
		}
	}
	if n := cs.reads.Load(); n != 0 {
		t.Errorf("%d store reads for malformed client_ids, want 0", n)
	}
}

func TestRegenerateWithoutGrace(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	c, old := f.create(t, "a", ccClient())
	if _, err := f.svc.Authenticate(ctx, "a", c.ID, old.Reveal()); err != nil {
		t.Fatal(err) // and warm the cache
	}
	sec, err := f.svc.RegenerateSecret(ctx, kernel.CLI, "a", c.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if sec == old || len(sec.Reveal()) != secret.TokenLen {
		t.Fatalf("new secret is not a fresh token")
	}
	if _, err := f.svc.Authenticate(ctx, "a", c.ID, old.Reveal()); !errors.Is(err, client.ErrInvalidClient) {
		t.Errorf("old secret after regeneration without grace: %v, want ErrInvalidClient", err)
	}
	if _, err := f.svc.Authenticate(ctx, "a", c.ID, sec.Reveal()); err != nil {
		t.Errorf("new secret: %v", err)
	}
	got, _ := f.store.Client(ctx, "a", c.ID)
	if len(got.Secrets) != 1 {
		t.Errorf("store holds %d secrets, want the new one only", len(got.Secrets))
	}
}

func TestRegenerateWithGrace(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	c, old := f.create(t, "a", ccClient())
	f.clock.Set(start.Add(time.Hour))
	const grace = 2 * time.Hour
	sec, err := f.svc.RegenerateSecret(ctx, kernel.CLI, "a", c.ID, grace)
	if err != nil {
		t.Fatal(err)
	}
	end := start.Add(time.Hour + grace)
	for _, tc := range []struct {
		at       time.Time
		oldWorks bool
	}{
		{start.Add(time.Hour), true},
		{end.Add(-time.Microsecond), true},
		{end, false},
		{end.Add(time.Hour), false},
	} {
		f.clock.Set(tc.at)
		_, err := f.svc.Authenticate(ctx, "a", c.ID, old.Reveal())
		if tc.oldWorks && err != nil {
			t.Errorf("old secret at %s: %v, want it to work until %s", tc.at, err, end)
		}
		if !tc.oldWorks && !errors.Is(err, client.ErrInvalidClient) {
			t.Errorf("old secret at %s: %v, want ErrInvalidClient from %s", tc.at, err, end)
		}
		if _, err := f.svc.Authenticate(ctx, "a", c.ID, sec.Reveal()); err != nil {
			t.Errorf("new secret at %s: %v", tc.at, err)
		}
	}

	// A second rotation leaves the first old secret's expiry alone and
	// gives the second one its own.
	f.clock.Set(start.Add(90 * time.Minute))
	third, err := f.svc.RegenerateSecret(ctx, kernel.CLI, "a", c.ID, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := f.svc.Get(ctx, "a", c.ID)
	var expiries []time.Time
	for _, s := range got.Secrets {
		if s.ExpiresAt != nil {
			expiries = append(expiries, *s.ExpiresAt)
		}
	}
	want := []time.Time{end, start.Add(100 * time.Minute)}
	if diff := cmp.Diff(want, expiries); diff != "" || len(got.Secrets) != 3 {
		t.Errorf("after a second rotation, %d secrets with expiries (-want +got):\n%s", len(got.Secrets), diff)
	}
	for _, s := range []secret.Secret{old, sec, third} {
		if _, err := f.svc.Authenticate(ctx, "a", c.ID, s.Reveal()); err != nil {
			t.Errorf("secret during both grace periods: %v", err)
		}
	}
}

func TestRegenerateRefuses(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	c, _ := f.create(t, "a", ccClient())
	for _, grace := range []time.Duration{-time.Second, client.MaxGrace + time.Nanosecond, 30 * 24 * time.Hour} {
		if _, err := f.svc.RegenerateSecret(ctx, kernel.CLI, "a", c.ID, grace); !errors.Is(err, kernel.ErrInvalid) || !strings.Contains(err.Error(), "grace") {
			t.Errorf("grace %s: %v, want ErrInvalid naming grace", grace, err)
		}
	}
	if _, err := f.svc.RegenerateSecret(ctx, kernel.CLI, "a", c.ID, client.MaxGrace); err != nil {
		t.Errorf("grace of exactly 7 days: %v", err)
	}
	if _, err := f.svc.RegenerateSecret(ctx, kernel.CLI, "b", c.ID, 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("regenerate another team's client: %v, want ErrNotFound", err)
	}
	if _, err := f.svc.RegenerateSecret(ctx, kernel.CLI, "a", "6f1c1d57-8f5a-4a43-9d4e-5f2a8c3b7e10", 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("regenerate an unknown client: %v, want ErrNotFound", err)
	}
}

func TestGetListDelete(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	c1, sec1 := f.create(t, "a", ccClient())
	in := ccClient()
	in.Name = "Another"
	c2, _ := f.create(t, "a", in)
	f.create(t, "b", ccClient())

	list, err := f.svc.List(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range list {
		ids = append(ids, c.ID)
	}
	if diff := cmp.Diff([]string{c2.ID, c1.ID}, ids); diff != "" {
		t.Errorf("List ids, by name (-want +got):\n%s", diff)
	}
	if _, err := f.svc.List(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("List of a missing team: %v", err)
	}

	if _, err := f.svc.Get(ctx, "b", c1.ID); !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), c1.ID) {
		t.Errorf("Get from another team: %v, want ErrNotFound naming the client", err)
	}
	if _, err := f.svc.Get(ctx, "a", "junk"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get of a malformed id: %v", err)
	}
	if err := f.svc.Delete(ctx, kernel.CLI, "b", c1.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Delete from another team: %v, want ErrNotFound", err)
	}

	// Warm the cache, then delete: this service forgets it at once.
	if _, err := f.svc.Authenticate(ctx, "a", c1.ID, sec1.Reveal()); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Delete(ctx, kernel.CLI, "a", c1.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Get(ctx, "a", c1.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get after Delete: %v", err)
	}
	if _, err := f.svc.Authenticate(ctx, "a", c1.ID, sec1.Reveal()); !errors.Is(err, client.ErrInvalidClient) {
		t.Errorf("Authenticate after Delete: %v", err)
	}
	if err := f.svc.Delete(ctx, kernel.CLI, "a", c1.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second Delete: %v", err)
	}
	evs, _, err := f.store.ListAudit(ctx, "a", store.AuditFilter{Action: "client.delete"}, store.Page{Limit: 10})
	if err != nil || len(evs) != 1 || evs[0].Target != "client:"+c1.ID {
		t.Errorf("client.delete events = %+v (%v), want one", evs, err)
	}
}

// Warm, Authenticate and Client read nothing from the store, for known and
// unknown clients alike; a client change drops the entry.
func TestWarmLookupsDoNotReadTheStore(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	c, sec := f.create(t, "a", ccClient())
	cs := &countingStore{Store: f.store}
	svc := f.service(cs)
	const unknown = "6f1c1d57-8f5a-4a43-9d4e-5f2a8c3b7e10"

	expectReads := func(want int64, what string) {
		t.Helper()
		if n := cs.reads.Swap(0); n != want {
			t.Errorf("%s: %d store reads, want %d", what, n, want)
		}
	}
	for range 100 {
		if _, err := svc.Authenticate(ctx, "a", c.ID, sec.Reveal()); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Authenticate(ctx, "a", c.ID, "wrong"); !errors.Is(err, client.ErrInvalidClient) {
			t.Fatal(err)
		}
		if _, err := svc.Client(ctx, "a", c.ID); err != nil {
			t.Fatal(err)
		}
	}
	expectReads(1, "100 rounds on a known client")
	for range 100 {
		if _, err := svc.Authenticate(ctx, "a", unknown, sec.Reveal()); !errors.Is(err, client.ErrInvalidClient) {
			t.Fatal(err)
		}
		if _, err := svc.Client(ctx, "a", unknown); !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
	}
	expectReads(1, "100 rounds on an unknown client")

	// Changes to other kinds, other clients or other teams keep the entries.
	for _, ch := range []store.Change{
		{Team: "a", Kind: store.KindUser},
		{Team: "a", Kind: store.KindClient, Key: "6f1c1d57-8f5a-4a43-9d4e-5f2a8c3b7e11"},
		{Team: "b", Kind: store.KindClient},
		{Team: "b"},
	} {
		svc.Invalidate(ch)
	}
	svc.Authenticate(ctx, "a", c.ID, sec.Reveal())
	svc.Authenticate(ctx, "a", unknown, sec.Reveal())
	expectReads(0, "after unrelated changes")

	// Each covering change drops the entries.
	for _, ch := range []store.Change{
		{Team: "a", Kind: store.KindClient, Key: c.ID},
		{Team: "a", Kind: store.KindClient},
		{Team: "a"},
		{},
	} {
		svc.Invalidate(ch)
		svc.Authenticate(ctx, "a", c.ID, sec.Reveal())
		svc.Authenticate(ctx, "a", c.ID, sec.Reveal())
		expectReads(1, "after change "+ch.Team+"/"+ch.Kind+"/"+ch.Key)
	}
}

// A secret regenerated by another node stops working here once the change
// arrives; until then this node's cache still answers (that is what makes
// it warm).
func TestInvalidateAcrossNodes(t *testing.T) {
	ctx := context.Background()

	t.Run("direct", func(t *testing.T) {
		f := setup(t)
		c, old := f.create(t, "a", ccClient())
		node1 := f.service(f.store)
		node2 := f.service(openStore(t, f.dir))
		if _, err := node1.Authenticate(ctx, "a", c.ID, old.Reveal()); err != nil {
			t.Fatal(err)
		}
		sec, err := node2.RegenerateSecret(ctx, kernel.CLI, "a", c.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := node1.Authenticate(ctx, "a", c.ID, old.Reveal()); err != nil {
			t.Fatalf("before the change arrives, node 1's cache should still answer: %v", err)
		}
		node1.Invalidate(store.Change{Team: "a", Kind: store.KindClient, Key: c.ID})
		if _, err := node1.Authenticate(ctx, "a", c.ID, old.Reveal()); !errors.Is(err, client.ErrInvalidClient) {
			t.Errorf("old secret after the change: %v, want ErrInvalidClient", err)
		}
		if _, err := node1.Authenticate(ctx, "a", c.ID, sec.Reveal()); err != nil {
			t.Errorf("new secret on node 1: %v", err)
		}
	})

	t.Run("watch", func(t *testing.T) {
		f := setup(t)
		c, old := f.create(t, "a", ccClient())
		second := ccClient()
		second.Name = "Another job"
		other, _ := f.create(t, "a", second)
		node1 := f.service(f.store)
		node2 := f.service(openStore(t, f.dir))
		wctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		var heard atomic.Bool
		go func() {
			defer close(done)
			f.store.Watch(wctx, func(ch store.Change) { heard.Store(true); node1.Invalidate(ch) })
		}()
		t.Cleanup(func() { cancel(); <-done })
		// The watcher runs: it has heard a change made after it started
		// (one made before its first look would count as history).
		probe := ccClient()
		probe.Name = "Probe"
		if _, ok := poll.Until(5*time.Second, func() bool {
			probe.Name += "."
			f.create(t, "a", probe)
			return heard.Load()
		}); !ok {
			t.Fatal("the watcher heard no change within 5 s")
		}

		if _, err := node1.Authenticate(ctx, "a", c.ID, old.Reveal()); err != nil {
			t.Fatal(err)
		}
		// Deleting a client makes a known-missing client too.
		if err := node2.Delete(ctx, kernel.CLI, "a", other.ID); err != nil {
			t.Fatal(err)
		}
		sec, err := node2.RegenerateSecret(ctx, kernel.CLI, "a", c.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		var authErr error
		if _, ok := poll.Until(2*time.Second, func() bool {
			_, authErr = node1.Authenticate(ctx, "a", c.ID, old.Reveal())
			return errors.Is(authErr, client.ErrInvalidClient)
		}); !ok {
			t.Fatalf("old secret still accepted 2 s after the regeneration (%v)", authErr)
		}
		if _, err := node1.Authenticate(ctx, "a", c.ID, sec.Reveal()); err != nil {
			t.Errorf("new secret on node 1: %v", err)
		}
		if _, err := node1.Client(ctx, "a", other.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleted client on node 1: %v", err)
		}
	})

	t.Run("created after a miss", func(t *testing.T) {
		// A client_id that was looked up before it existed is found once
		// the creation's change arrives.
		f := setup(t)
		gen := secret.Generator{Rand: bytes.NewReader(bytes.Repeat([]byte{1}, 1024))}
		node2 := f.service(openStore(t, f.dir))
		node2.Gen = gen
		id, _ := secret.Generator{Rand: bytes.NewReader(bytes.Repeat([]byte{1}, 1024))}.UUID()
		node1 := f.service(f.store)
		if _, err := node1.Client(ctx, "a", id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("before creation: %v", err)
		}
		c, sec, err := node2.Create(ctx, kernel.CLI, "a", ccClient())
		if err != nil || c.ID != id {
			t.Fatalf("Create = %s, %v; want id %s", c.ID, err, id)
		}
		node1.Invalidate(store.Change{Team: "a", Kind: store.KindClient, Key: id})
		if _, err := node1.Authenticate(ctx, "a", id, sec.Reveal()); err != nil {
			t.Errorf("after the creation's change: %v", err)
		}
	})
}

// Many goroutines authenticating while changes arrive: run with -race.
func TestAuthenticateConcurrently(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	c, sec := f.create(t, "a", ccClient())
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				if i%4 == 0 {
					f.svc.Invalidate(store.Change{Team: "a", Kind: store.KindClient, Key: c.ID})
				}
				if _, err := f.svc.Authenticate(ctx, "a", c.ID, sec.Reveal()); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkAuthenticateWarm(b *testing.B) {
	f := setup(b)
	ctx := context.Background()
	c, sec := f.create(b, "a", ccClient())
	if _, err := f.svc.Authenticate(ctx, "a", c.ID, sec.Reveal()); err != nil {
		b.Fatal(err)
	}
	s := sec.Reveal()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := f.svc.Authenticate(ctx, "a", c.ID, s); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// slowStore answers Client only once released, or with the error of its
// caller's context if that ends first: a database slower than a caller's
// patience.
type slowStore struct {
	store.Store
	rec     store.Client
	release chan struct{}
}

func (s *slowStore) Client(ctx context.Context, team, id string) (store.Client, error) {
	select {
	case <-ctx.Done():
		return store.Client{}, ctx.Err()
	case <-s.release:
		return s.rec, nil
	}
}

// A cold lookup is shared by the callers that miss the client meanwhile;
// when the caller that started it goes away (its request's context is
// cancelled), the others still get the client, not its cancellation.
func TestSharedLookupOutlivesItsCaller(t *testing.T) {
	f := setup(t)
	c, sec := f.create(t, "a", ccClient())
	rec, err := f.store.Client(context.Background(), "a", c.ID)
	if err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		slow := &slowStore{Store: f.store, rec: rec, release: make(chan struct{})}
		svc := f.service(slow) // another node: its cache is cold
		first, leave := context.WithCancel(context.Background())
		errs := make(chan error, 2)
		go func() { _, err := svc.Authenticate(first, "a", c.ID, sec.Reveal()); errs <- err }()
		synctest.Wait() // the first caller's lookup waits in the store
		go func() { _, err := svc.Authenticate(context.Background(), "a", c.ID, sec.Reveal()); errs <- err }()
		synctest.Wait() // the second waits for the same lookup
		leave()
		synctest.Wait()
		close(slow.release)
		for range 2 {
			if err := <-errs; err != nil {
				t.Errorf("Authenticate after the first caller went away: %v", err)
			}
		}
	})
}

// A client's OpenID Connect registration changes like the rest of it:
// validated, versioned (so that a stale If-Match is refused), audited.
func TestUpdateOpenIDConnect(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	in := ccClient()
	in.GrantTypes, in.RedirectURIs = []string{client.GrantAuthorizationCode}, []string{"https://app.example.com/cb"}
	c, _ := f.create(t, "a", in)
	if got := client.IDTokenAlg(c); got != "RS256" {
		t.Errorf("IDTokenAlg of a client that registered none = %s, want RS256", got)
	}
	before := client.Version(c)

	alg, uris := "ES384", []string{"https://app.example.com/signed-out"}
	got, err := f.svc.Update(ctx, kernel.CLI, "a", c.ID, client.Change{IDTokenAlg: &alg, PostLogoutRedirectURIs: &uris, IfVersion: before})
	if err != nil {
		t.Fatal(err)
	}
	if got.IDTokenAlg != "ES384" || client.IDTokenAlg(got) != "ES384" || !slices.Equal(got.PostLogoutRedirectURIs, uris) {
		t.Errorf("updated client %+v", got)
	}
	if client.Version(got) == before {
		t.Error("the version did not change with the OpenID Connect registration")
	}
	// Against the old version: refused, nothing changed.
	other := "EdDSA"
	if _, err := f.svc.Update(ctx, kernel.CLI, "a", c.ID, client.Change{IDTokenAlg: &other, IfVersion: before}); !errors.Is(err, kernel.ErrStale) {
		t.Errorf("update against a stale version: %v, want ErrStale", err)
	}
	bad := "HS256"
	if _, err := f.svc.Update(ctx, kernel.CLI, "a", c.ID, client.Change{IDTokenAlg: &bad}); !errors.Is(err, kernel.ErrInvalid) {
		t.Errorf("update to HS256: %v, want ErrInvalid", err)
	}
	stored, err := f.svc.Get(ctx, "a", c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.IDTokenAlg != "ES384" {
		t.Errorf("stored alg %q after refused updates, want ES384", stored.IDTokenAlg)
	}
	evs, _, err := f.store.ListAudit(ctx, "a", store.AuditFilter{Action: "client.update"}, store.Page{Limit: 10})
	if err != nil || len(evs) != 1 || evs[0].Detail["changed"] != "id_token_signed_response_alg post_logout_redirect_uris" {
		t.Errorf("audit events %+v (%v), want one naming the two fields", evs, err)
	}
}

// The algorithms in use are those of the clients that can get ID tokens,
// RS256 for one that registered none.
func TestIDTokenAlgsInUse(t *testing.T) {
	f := setup(t)
	mk := func(name, alg string, scopes ...string) {
		in := ccClient()
		in.Name, in.Scopes, in.IDTokenAlg = name, scopes, alg
		in.GrantTypes, in.RedirectURIs = []string{client.GrantAuthorizationCode}, []string{"https://app.example.com/cb"}
		f.create(t, "a", in)
	}
	got, err := f.svc.IDTokenAlgsInUse(context.Background(), "a")
	if err != nil || len(got) != 0 {
		t.Fatalf("no clients: %v, %v; want none", got, err)
	}
	mk("plain OAuth", "ES256", "audit.log:read")
	mk("default", "", "openid")
	mk("eddsa", "EdDSA", "openid", "email")
	mk("eddsa too", "EdDSA", "openid")
	f.create(t, "a", ccClient()) // client credentials
	got, err = f.svc.IDTokenAlgsInUse(context.Background(), "a")
	slices.Sort(got)
	if err != nil || !slices.Equal(got, []string{"EdDSA", "RS256"}) {
		t.Errorf("IDTokenAlgsInUse = %v, %v; want EdDSA and RS256", got, err)
	}
}
