// Package storetest is the conformance suite of the store contract: every
// backend's test file calls Run with a function that opens a fresh, empty,
// migrated store, and the suite checks each method of store.Store against
// it, including that nothing of one team can be read, changed or deleted
// through another.
package storetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Run runs the conformance suite. open must return a new, empty, migrated
// store each time it is called; the suite calls it once per top-level
// case, and open is responsible for closing what it opened (for example
// with t.Cleanup).
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Teams", testTeams},
		{"Users", testUsers},
		{"ListUsersPages", testListUsersPages},
		{"Groups", testGroups},
		{"ListGroupsPages", testListGroupsPages},
		{"Apps", testApps},
		{"Clients", testClients},
		{"ClientSecrets", testClientSecrets},
		{"Keys", testKeys},
		{"Permissions", testPermissions},
		{"Consents", testConsents},
		{"Sessions", testSessions},
		{"AuthCodes", testAuthCodes},
		{"RefreshTokens", testRefreshTokens},
		{"SigningKeys", testSigningKeys},
		{"RevokedTokens", testRevokedTokens},
		{"GrantRevocations", testGrantRevocations},
		{"Audit", testAudit},
		{"AuditEventIDs", testAuditEventIDs},
		{"Logins", testLogins},
		{"Failures", testFailures},
		{"FailuresConcurrent", testFailuresConcurrent},
		{"Find", testFind},
		{"QueryUsers", testQueryUsers},
		{"QueryBounds", testQueryBounds},
		{"DirectoryGroups", testDirectoryGroups},
		{"DirectoryCounts", testDirectoryCounts},
		{"Invalid", testInvalid},
		{"MissingTeam", testMissingTeam},
		{"DeleteTeamCascades", testDeleteTeamCascades},
		{"isolation", testIsolation},
		{"Tx", testTx},
		{"LockTeam", testLockTeam},
		{"Purge", testPurge},
		{"PurgeHistory", testPurgeHistory},
		{"PurgeBatch", testPurgeBatch},
		{"Watch", testWatch},
		{"Health", testHealth},
		{"Close", testClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

// t0 is the suite's clock: records carry fixed times so that comparisons are
// exact. Backends keep at least microseconds, so no time here is finer.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// at returns t0 plus d.
func at(d time.Duration) time.Time { return t0.Add(d) }

func ptr[T any](v T) *T { return &v }

// Comparison options. Times compare with time.Time.Equal (go-cmp uses the
// Equal method), so a backend may return any location. Empty and nil
// slices and maps are equal. Where the contract defines no order, sort.
var (
	equateEmpty = cmpopts.EquateEmpty()

	// jsonEqual compares PublicJWK as parsed JSON: a backend may store it
	// as a JSON column that normalises the text.
	jsonEqual = cmp.FilterPath(func(p cmp.Path) bool {
		sf, ok := p.Last().(cmp.StructField)
		return ok && sf.Name() == "PublicJWK"
	}, cmp.Comparer(func(a, b []byte) bool {
		if bytes.Equal(a, b) {
			return true
		}
		var x, y any
		if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
			return false
		}
		return cmp.Equal(x, y)
	}))

	// unordered sorts every list whose order the contract leaves open. The
	// string slices of records (scopes, grant types, redirect URIs, group
	// members) are sets.
	unordered = cmp.Options{
		cmpopts.SortSlices(func(a, b string) bool { return a < b }),
		cmpopts.SortSlices(func(a, b store.Team) bool { return a.Name < b.Name }),
		cmpopts.SortSlices(func(a, b store.User) bool { return a.ID < b.ID }),
		cmpopts.SortSlices(func(a, b store.Group) bool { return a.Name < b.Name }),
		cmpopts.SortSlices(func(a, b store.Application) bool { return a.Name < b.Name }),
		cmpopts.SortSlices(func(a, b store.Client) bool { return a.ID < b.ID }),
		cmpopts.SortSlices(func(a, b store.ClientSecret) bool { return a.ID < b.ID }),
		cmpopts.SortSlices(func(a, b store.StaticKey) bool { return a.ID < b.ID }),
		cmpopts.SortSlices(func(a, b store.Permission) bool { return permKey(a) < permKey(b) }),
		cmpopts.SortSlices(func(a, b store.Consent) bool { return a.UserID+" "+a.ClientID < b.UserID+" "+b.ClientID }),
		cmpopts.SortSlices(func(a, b store.SigningKey) bool { return a.ID < b.ID }),
		cmpopts.SortSlices(func(a, b store.RevokedToken) bool { return a.JTI < b.JTI }),
		cmpopts.SortSlices(func(a, b store.Membership) bool { return a.UserID+" "+a.Group < b.UserID+" "+b.Group }),
		cmpopts.SortSlices(func(a, b store.GrantRevocation) bool {
			return a.UserID+" "+a.ClientID < b.UserID+" "+b.ClientID
		}),
	}

	// opts is what record comparisons use.
	opts = cmp.Options{equateEmpty, jsonEqual, unordered}

	// eventOpts compares audit and login events, whose IDs the store
	// assigns; lists of events keep their order (newest first).
	eventOpts = cmp.Options{
		equateEmpty,
		cmpopts.IgnoreFields(store.AuditEvent{}, "ID"),
		cmpopts.IgnoreFields(store.LoginEvent{}, "ID"),
	}
)

func permKey(p store.Permission) string {
	return p.Principal + " " + p.Action + " " + p.Resource
}

// diff reports a difference between want and got, in go-cmp's -want +got
// form.
func diff(t *testing.T, what string, want, got any, o ...cmp.Option) {
	t.Helper()
	if d := cmp.Diff(want, got, o...); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

// wantErr checks that err matches want: nil means success, otherwise
// errors.Is(err, want).
func wantErr(t *testing.T, what string, err, want error) bool {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Errorf("%s: unexpected error: %v", what, err)
		return false
	case want != nil && !errors.Is(err, want):
		t.Errorf("%s: error = %v, want %v", what, err, want)
		return false
	}
	return true
}

// must fails the test at once when a setup step fails.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// notFoundOrEmpty checks a listing through the wrong team: it must give
// ErrNotFound or nothing.
func notFoundOrEmpty[T any](t *testing.T, what string, got []T, err error) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: error = %v, want nil or %v", what, err, store.ErrNotFound)
		}
		return
	}
	if len(got) != 0 {
		t.Errorf("%s = %+v, want nothing", what, got)
	}
}

// Record makers. Each creates the record through q (a Store or a
// transaction), fails the test if it can't, and returns the record as
// created, so that tests can compare it with what the store reads back.

func mkTeam(t *testing.T, q store.Queries, name string) store.Team {
	t.Helper()
	tm := store.Team{Name: name, CreatedAt: t0}
	must(t, "create team "+name, q.CreateTeam(t.Context(), tm))
	return tm
}

func mkUser(t *testing.T, q store.Queries, team, email string) store.User {
	t.Helper()
	u := store.User{
		Team:         team,
		ID:           uuid.NewString(),
		Email:        email,
		Name:         "Name of " + email,
		PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$" + email,
		CreatedAt:    at(time.Minute),
		UpdatedAt:    at(time.Minute),
	}
	must(t, "create user "+email, q.CreateUser(t.Context(), u))
	return u
}

// mkGroup creates group name and adds the members (user IDs).
func mkGroup(t *testing.T, q store.Queries, team, name string, members ...string) store.Group {
	t.Helper()
	g := store.Group{Team: team, ID: uuid.NewString(), Name: name, CreatedAt: at(2 * time.Minute), UpdatedAt: at(2 * time.Minute)}
	must(t, "create group "+name, q.CreateGroup(t.Context(), g))
	for _, m := range members {
		must(t, "add member to "+name, q.AddGroupMember(t.Context(), team, name, m))
	}
	g.Members = members
	return g
}

func mkApp(t *testing.T, q store.Queries, team, name string) store.Application {
	t.Helper()
	a := store.Application{Team: team, Name: name, CreatedAt: at(3 * time.Minute)}
	must(t, "create app "+name, q.CreateApp(t.Context(), a))
	return a
}

// mkClient creates a client without secrets and then gives it one
// through AddClientSecret.
func mkClient(t *testing.T, q store.Queries, team, name string) store.Client {
	t.Helper()
	c := store.Client{
		Team:           team,
		ID:             uuid.NewString(),
		Name:           name,
		GrantTypes:     []string{"authorization_code", "client_credentials"},
		AuthMethod:     "client_secret_basic",
		Scopes:         []string{"audit.log:read", "team.user-group-info:read"},
		RedirectURIs:   []string{"https://" + name + ".example.com/callback"},
		AccessTokenTTL: 10 * time.Minute,
		CreatedAt:      at(4 * time.Minute),
	}
	must(t, "create client "+name, q.CreateClient(t.Context(), c))
	s := mkSecret("first")
	must(t, "add secret to client "+name, q.AddClientSecret(t.Context(), team, c.ID, s, nil))
	c.Secrets = []store.ClientSecret{s}
	return c
}

func mkSecret(label string) store.ClientSecret {
	return store.ClientSecret{
		ID:        uuid.NewString(),
		Hash:      []byte("hash of secret " + label + " " + uuid.NewString()),
		CreatedAt: at(5 * time.Minute),
	}
}

// mkKey creates a static key of kind (store.KeyKindUser or KeyKindApp)
// owned by owner (a user ID or an application name).
func mkKey(t *testing.T, q store.Queries, team, kind, owner string) store.StaticKey {
	t.Helper()
	id := uuid.NewString()
	k := store.StaticKey{
		Team:      team,
		ID:        id,
		Kind:      kind,
		Owner:     owner,
		Hash:      []byte("hash of key " + id),
		CreatedAt: at(6 * time.Minute),
	}
	must(t, "create key", q.CreateKey(t.Context(), k))
	return k
}

func mkPermission(t *testing.T, q store.Queries, team, principal, action, resource string) store.Permission {
	t.Helper()
	p := store.Permission{Team: team, Principal: principal, Action: action, Resource: resource, CreatedAt: at(7 * time.Minute)}
	must(t, "grant "+permKey(p), q.GrantPermission(t.Context(), p))
	return p
}

func mkConsent(t *testing.T, q store.Queries, team, userID, clientID string, scopes ...string) store.Consent {
	t.Helper()
	c := store.Consent{
		Team:      team,
		UserID:    userID,
		ClientID:  clientID,
		Scopes:    scopes,
		CreatedAt: at(8 * time.Minute),
		UpdatedAt: at(8 * time.Minute),
	}
	must(t, "upsert consent", q.UpsertConsent(t.Context(), c))
	return c
}

func mkAuthCode(t *testing.T, q store.Queries, team, clientID, userID string, expiresAt time.Time) store.AuthCode {
	t.Helper()
	c := store.AuthCode{
		Team:                team,
		Hash:                []byte("hash of code " + uuid.NewString()),
		ClientID:            clientID,
		UserID:              userID,
		RedirectURI:         "https://app.example.com/callback",
		Scopes:              []string{"audit.log:read", "team.login-history:read"},
		CodeChallenge:       "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256",
		CreatedAt:           at(9 * time.Minute),
		ExpiresAt:           expiresAt,
	}
	must(t, "create auth code", q.CreateAuthCode(t.Context(), c))
	return c
}

func mkRefresh(t *testing.T, q store.Queries, team, familyID, clientID, userID string, expiresAt time.Time) store.RefreshToken {
	t.Helper()
	r := store.RefreshToken{
		Team:            team,
		Hash:            []byte("hash of refresh token " + uuid.NewString()),
		FamilyID:        familyID,
		ClientID:        clientID,
		UserID:          userID,
		Scopes:          []string{"audit.log:read"},
		CreatedAt:       at(10 * time.Minute),
		ExpiresAt:       expiresAt,
		FamilyExpiresAt: expiresAt.Add(30 * 24 * time.Hour),
	}
	must(t, "create refresh token", q.CreateRefreshToken(t.Context(), r))
	return r
}

func mkRevoked(t *testing.T, q store.Queries, team string, expiresAt time.Time) store.RevokedToken {
	t.Helper()
	r := store.RevokedToken{Team: team, JTI: uuid.NewString(), ExpiresAt: expiresAt}
	must(t, "revoke token", q.RevokeToken(t.Context(), r))
	return r
}

// pager is one page of a listing.
type pager[T any] func(p store.Page) ([]T, string, error)

// walk reads every page of a listing with the given limit and returns the
// records in the order read. It fails the test if a page is longer than
// the limit, if an empty page is not the last, or if the walk does not end.
func walk[T any](t *testing.T, limit int, list pager[T]) []T {
	t.Helper()
	var all []T
	cursor := ""
	for i := 0; ; i++ {
		if i > 1000 {
			t.Fatalf("limit %d: more than 1000 pages; the cursor does not advance", limit)
		}
		page, next, err := list(store.Page{Limit: limit, Cursor: cursor})
		if err != nil {
			t.Fatalf("limit %d, page %d: %v", limit, i, err)
		}
		if len(page) > limit {
			t.Fatalf("limit %d, page %d: got %d records", limit, i, len(page))
		}
		if len(page) == 0 && next != "" {
			t.Fatalf("limit %d, page %d: empty page with cursor %q", limit, i, next)
		}
		all = append(all, page...)
		if next == "" {
			return all
		}
		if next == cursor {
			t.Fatalf("limit %d, page %d: cursor %q did not change", limit, i, next)
		}
		cursor = next
	}
}
