package storetest

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/internal/store"
)

// fixture is one team with one record or more of every kind, for the
// isolation and cascade tests. Teams built by newFixture have records of
// the same names (users ann and bob, groups staff and ops, app billing)
// and different IDs; an extra fixture also has user carl, group solo and
// app solo, which other teams lack.
type fixture struct {
	team       store.Team
	users      []store.User // ann, bob[, carl]
	groups     []store.Group
	apps       []store.Application
	client     store.Client
	keys       []store.StaticKey // user key of ann, AppKey of billing
	perms      []store.Permission
	consent    store.Consent
	code       store.AuthCode
	refresh    store.RefreshToken
	signingKey store.SigningKey
	revoked    []store.RevokedToken // denylist entries
	cutoffs    []store.GrantRevocation
	sessions   []store.Session // one of ann's, one of bob's
}

func (f fixture) ann() store.User { return f.users[0] }
func (f fixture) bob() store.User { return f.users[1] }

func newFixture(team string, extra bool) fixture {
	f := fixture{team: store.Team{Name: team, CreatedAt: t0, Settings: store.TeamSettings{
		AccessTokenTTL: 7 * time.Minute,
		ScopeFormat:    "string",
		StaticKeysLink: "https://" + team + ".example.com/oauth",
	}}}
	user := func(email string, admin bool) store.User {
		return store.User{
			Team: team, ID: uuid.NewString(), Email: email, Name: team + " " + email,
			PasswordHash: "hash " + team, TeamAdmin: admin, CreatedAt: at(time.Minute), UpdatedAt: at(time.Minute),
		}
	}
	f.users = []store.User{user("ann@example.com", true), user("bob@example.com", false)}
	f.groups = []store.Group{
		{Team: team, ID: uuid.NewString(), Name: "staff", CreatedAt: at(2 * time.Minute), UpdatedAt: at(2 * time.Minute), Members: []string{f.ann().ID}},
		{Team: team, ID: uuid.NewString(), Name: "ops", ExternalID: "ext-ops", CreatedAt: at(2 * time.Minute), UpdatedAt: at(2 * time.Minute), Members: []string{f.ann().ID, f.bob().ID}},
	}
	f.apps = []store.Application{{Team: team, Name: "billing", CreatedAt: at(3 * time.Minute)}}
	f.client = store.Client{
		Team: team, ID: uuid.NewString(), Name: "web", GrantTypes: []string{"authorization_code"},
		AuthMethod: "client_secret_basic", Scopes: []string{"audit.log:read"},
		RedirectURIs: []string{"https://web." + team + ".example.com/cb"}, CreatedAt: at(4 * time.Minute),
		Secrets: []store.ClientSecret{mkSecret(team)},
	}
	key := func(kind, owner string) store.StaticKey {
		id := uuid.NewString()
		return store.StaticKey{Team: team, ID: id, Kind: kind, Owner: owner, Hash: []byte("key " + id), CreatedAt: at(6 * time.Minute)}
	}
	f.keys = []store.StaticKey{key(store.KeyKindUser, f.ann().ID), key(store.KeyKindApp, "billing")}
	perm := func(principal, action, resource string) store.Permission {
		return store.Permission{Team: team, Principal: principal, Action: action, Resource: resource, CreatedAt: at(7 * time.Minute)}
	}
	f.perms = []store.Permission{
		perm("user:ann@example.com", "read", "audit-log"),
		perm("group:ops", "push", "data-pools/*"),
		perm("app:billing", "read", "packages/42"),
		perm("client:"+f.client.ID, "read", "users"),
	}
	f.consent = store.Consent{
		Team: team, UserID: f.ann().ID, ClientID: f.client.ID, Scopes: []string{"audit.log:read"},
		CreatedAt: at(8 * time.Minute), UpdatedAt: at(8 * time.Minute),
	}
	f.code = store.AuthCode{
		Team: team, Hash: []byte("code " + uuid.NewString()), ClientID: f.client.ID, UserID: f.ann().ID,
		RedirectURI: f.client.RedirectURIs[0], Scopes: []string{"audit.log:read"},
		CodeChallenge: "challenge", CodeChallengeMethod: "S256",
		CreatedAt: at(9 * time.Minute), ExpiresAt: at(48 * time.Hour),
	}
	f.refresh = store.RefreshToken{
		Team: team, Hash: []byte("refresh " + uuid.NewString()), FamilyID: uuid.NewString(),
		ClientID: f.client.ID, UserID: f.ann().ID, Scopes: []string{"audit.log:read"},
		CreatedAt: at(10 * time.Minute), ExpiresAt: at(48 * time.Hour), FamilyExpiresAt: at(96 * time.Hour),
	}
	kid := uuid.NewString()
	f.signingKey = store.SigningKey{
		Team: team, ID: kid, Alg: "ES384", PublicJWK: []byte(`{"kty":"EC","crv":"P-384","x":"eA","y":"eQ"}`),
		PrivateSealed: []byte("sealed " + kid), CreatedAt: at(11 * time.Minute), ActivateAt: at(12 * time.Minute),
	}
	f.revoked = []store.RevokedToken{{Team: team, JTI: uuid.NewString(), ExpiresAt: at(48 * time.Hour)}}
	f.cutoffs = []store.GrantRevocation{{Team: team, UserID: f.ann().ID, ClientID: f.client.ID,
		RevokedAt: at(13 * time.Minute), ExpiresAt: at(48 * time.Hour)}}
	for _, u := range f.users[:2] {
		f.sessions = append(f.sessions, mkSessionOf(team, u.ID, at(14*time.Minute)))
	}

	if extra {
		carl := user("carl@example.com", false)
		f.users = append(f.users, carl)
		f.groups = append(f.groups, store.Group{Team: team, ID: uuid.NewString(), Name: "solo", CreatedAt: at(2 * time.Minute), UpdatedAt: at(2 * time.Minute), Members: []string{carl.ID}})
		f.apps = append(f.apps, store.Application{Team: team, Name: "solo", CreatedAt: at(3 * time.Minute)})
		f.perms = append(f.perms, perm("group:solo", "manage", "team"))
	}
	return f
}

// createFixture writes f through q.
func createFixture(t *testing.T, q store.Queries, f fixture) {
	t.Helper()
	c := t.Context()
	must(t, "create team", q.CreateTeam(c, f.team))
	for _, u := range f.users {
		must(t, "create user", q.CreateUser(c, u))
	}
	for _, g := range f.groups {
		bare := g
		bare.Members = nil
		must(t, "create group", q.CreateGroup(c, bare))
		for _, m := range g.Members {
			must(t, "add member", q.AddGroupMember(c, g.Team, g.Name, m))
		}
	}
	for _, a := range f.apps {
		must(t, "create app", q.CreateApp(c, a))
	}
	bare := f.client
	bare.Secrets = nil
	must(t, "create client", q.CreateClient(c, bare))
	for _, s := range f.client.Secrets {
		must(t, "add client secret", q.AddClientSecret(c, f.client.Team, f.client.ID, s, nil))
	}
	for _, k := range f.keys {
		must(t, "create key", q.CreateKey(c, k))
	}
	for _, p := range f.perms {
		must(t, "grant permission", q.GrantPermission(c, p))
	}
	must(t, "upsert consent", q.UpsertConsent(c, f.consent))
	must(t, "create auth code", q.CreateAuthCode(c, f.code))
	must(t, "create refresh token", q.CreateRefreshToken(c, f.refresh))
	must(t, "create signing key", q.CreateSigningKey(c, f.signingKey))
	for _, r := range f.revoked {
		must(t, "revoke token", q.RevokeToken(c, r))
	}
	for _, r := range f.cutoffs {
		must(t, "revoke grant", q.RevokeGrant(c, r))
	}
	for _, s := range f.sessions {
		must(t, "create session", q.CreateSession(c, s, 0))
	}
}

// checkFixture reads every record of f back and reports each difference:
// nothing of f's team was lost or changed, and its listings hold nothing
// of another team. It does not use the auth code, which can be read only
// once.
func checkFixture(t *testing.T, s store.Queries, f fixture) {
	t.Helper()
	c := t.Context()
	team := f.team.Name
	if got, err := s.Team(c, team); wantErr(t, "Team", err, nil) {
		diff(t, "Team("+team+")", f.team, got, opts)
	}
	for _, u := range f.users {
		if got, err := s.User(c, team, u.ID); wantErr(t, "User", err, nil) {
			diff(t, "User("+team+", "+u.Email+")", u, got, opts)
		}
		if got, err := s.UserByEmail(c, team, u.Email); wantErr(t, "UserByEmail", err, nil) {
			diff(t, "UserByEmail("+team+", "+u.Email+")", u, got, opts)
		}
	}
	if got, _, err := s.ListUsers(c, team, store.Page{Limit: 100}); wantErr(t, "ListUsers", err, nil) {
		diff(t, "ListUsers("+team+")", f.users, got, opts)
	}
	for _, g := range f.groups {
		if got, err := s.Group(c, team, g.Name); wantErr(t, "Group", err, nil) {
			diff(t, "Group("+team+", "+g.Name+")", g, got, opts)
		}
	}
	if got, _, err := s.ListGroups(c, team, store.Page{Limit: 100}); wantErr(t, "ListGroups", err, nil) {
		diff(t, "ListGroups("+team+")", f.groups, got, opts)
	}
	for _, u := range f.users {
		var want []string
		for _, g := range f.groups {
			for _, m := range g.Members {
				if m == u.ID {
					want = append(want, g.Name)
				}
			}
		}
		if got, err := s.UserGroups(c, team, u.ID); wantErr(t, "UserGroups", err, nil) {
			diff(t, "UserGroups("+team+", "+u.Email+")", want, got, opts)
		}
	}
	for _, a := range f.apps {
		if got, err := s.App(c, team, a.Name); wantErr(t, "App", err, nil) {
			diff(t, "App("+team+", "+a.Name+")", a, got, opts)
		}
	}
	if got, err := s.ListApps(c, team); wantErr(t, "ListApps", err, nil) {
		diff(t, "ListApps("+team+")", f.apps, got, opts)
	}
	if got, err := s.Client(c, team, f.client.ID); wantErr(t, "Client", err, nil) {
		diff(t, "Client("+team+")", f.client, got, opts)
	}
	if got, err := s.ListClients(c, team); wantErr(t, "ListClients", err, nil) {
		diff(t, "ListClients("+team+")", []store.Client{f.client}, got, opts)
	}
	for _, k := range f.keys {
		if got, err := s.Key(c, team, k.ID); wantErr(t, "Key", err, nil) {
			diff(t, "Key("+team+", "+k.Kind+")", k, got, opts)
		}
	}
	if got, err := s.ListKeys(c, team); wantErr(t, "ListKeys", err, nil) {
		diff(t, "ListKeys("+team+")", f.keys, got, opts)
	}
	if got, err := s.ListPermissions(c, team, ""); wantErr(t, "ListPermissions", err, nil) {
		diff(t, "ListPermissions("+team+")", f.perms, got, opts)
	}
	if got, err := s.Consent(c, team, f.consent.UserID, f.consent.ClientID); wantErr(t, "Consent", err, nil) {
		diff(t, "Consent("+team+")", f.consent, got, opts)
	}
	if got, err := s.ListConsents(c, team, f.ann().ID); wantErr(t, "ListConsents", err, nil) {
		diff(t, "ListConsents("+team+", ann)", []store.Consent{f.consent}, got, opts)
	}
	if got, err := s.RefreshToken(c, team, f.refresh.Hash); wantErr(t, "RefreshToken", err, nil) {
		diff(t, "RefreshToken("+team+")", f.refresh, got, opts)
	}
	if got, err := s.ListSigningKeys(c, team); wantErr(t, "ListSigningKeys", err, nil) {
		diff(t, "ListSigningKeys("+team+")", []store.SigningKey{f.signingKey}, got, opts)
	}
	if got, err := s.ListRevokedTokens(c, team, t0); wantErr(t, "ListRevokedTokens", err, nil) {
		diff(t, "ListRevokedTokens("+team+")", f.revoked, got, opts)
	}
	if got, err := s.ListGrantRevocations(c, team, t0); wantErr(t, "ListGrantRevocations", err, nil) {
		diff(t, "ListGrantRevocations("+team+")", f.cutoffs, got, opts)
	}
	for _, want := range f.sessions {
		if got, err := s.Session(c, team, want.Hash); wantErr(t, "Session", err, nil) {
			diff(t, "Session("+team+")", want, got, opts)
		}
		if got, err := s.ListSessions(c, team, want.UserID); wantErr(t, "ListSessions", err, nil) {
			diff(t, "ListSessions("+team+")", []store.Session{want}, got, opts)
		}
	}
}

// checkGone reports each record of f that can still be read.
func checkGone(t *testing.T, s store.Queries, f fixture) {
	t.Helper()
	c := t.Context()
	team := f.team.Name
	_, err := s.Team(c, team)
	wantErr(t, "Team", err, store.ErrNotFound)
	for _, u := range f.users {
		_, err := s.User(c, team, u.ID)
		wantErr(t, "User("+u.Email+")", err, store.ErrNotFound)
		_, err = s.UserByEmail(c, team, u.Email)
		wantErr(t, "UserByEmail("+u.Email+")", err, store.ErrNotFound)
		groups, err := s.UserGroups(c, team, u.ID)
		notFoundOrEmpty(t, "UserGroups("+u.Email+")", groups, err)
	}
	users, _, err := s.ListUsers(c, team, store.Page{Limit: 100})
	notFoundOrEmpty(t, "ListUsers", users, err)
	for _, g := range f.groups {
		_, err := s.Group(c, team, g.Name)
		wantErr(t, "Group("+g.Name+")", err, store.ErrNotFound)
	}
	groups, _, err := s.ListGroups(c, team, store.Page{Limit: 100})
	notFoundOrEmpty(t, "ListGroups", groups, err)
	for _, a := range f.apps {
		_, err := s.App(c, team, a.Name)
		wantErr(t, "App("+a.Name+")", err, store.ErrNotFound)
	}
	apps, err := s.ListApps(c, team)
	notFoundOrEmpty(t, "ListApps", apps, err)
	_, err = s.Client(c, team, f.client.ID)
	wantErr(t, "Client", err, store.ErrNotFound)
	clients, err := s.ListClients(c, team)
	notFoundOrEmpty(t, "ListClients", clients, err)
	for _, k := range f.keys {
		_, err := s.Key(c, team, k.ID)
		wantErr(t, "Key("+k.Kind+")", err, store.ErrNotFound)
	}
	keys, err := s.ListKeys(c, team)
	notFoundOrEmpty(t, "ListKeys", keys, err)
	perms, err := s.ListPermissions(c, team, "")
	notFoundOrEmpty(t, "ListPermissions", perms, err)
	_, err = s.Consent(c, team, f.consent.UserID, f.consent.ClientID)
	wantErr(t, "Consent", err, store.ErrNotFound)
	consents, err := s.ListConsents(c, team, f.ann().ID)
	notFoundOrEmpty(t, "ListConsents", consents, err)
	_, err = s.RefreshToken(c, team, f.refresh.Hash)
	wantErr(t, "RefreshToken", err, store.ErrNotFound)
	_, err = s.UseAuthCode(c, team, f.code.ClientID, f.code.Hash, at(time.Hour))
	wantErr(t, "UseAuthCode", err, store.ErrNotFound)
	sks, err := s.ListSigningKeys(c, team)
	notFoundOrEmpty(t, "ListSigningKeys", sks, err)
	revoked, err := s.ListRevokedTokens(c, team, t0)
	notFoundOrEmpty(t, "ListRevokedTokens", revoked, err)
	cutoffs, err := s.ListGrantRevocations(c, team, t0)
	notFoundOrEmpty(t, "ListGrantRevocations", cutoffs, err)
	for _, ss := range f.sessions {
		_, err := s.Session(c, team, ss.Hash)
		wantErr(t, "Session", err, store.ErrNotFound)
		sessions, err := s.ListSessions(c, team, ss.UserID)
		notFoundOrEmpty(t, "ListSessions", sessions, err)
	}
}
