package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// testIsolation gives teams alpha and beta records of the same names, and
// alpha some that beta lacks, and then calls every read, update and delete
// method as team beta with alpha's keys: reads find nothing of alpha's,
// writes give ErrNotFound or change nothing of alpha's. After each case
// every record of alpha is read back through alpha.
func testIsolation(t *testing.T, s store.Store) {
	alpha := newFixture("alpha", true)
	beta := newFixture("beta", false)
	createFixture(t, s, alpha)
	createFixture(t, s, beta)
	alphaAudit, betaAudit := auditEvents("alpha"), auditEvents("beta")[:2]
	must(t, "AppendAudit", s.AppendAudit(t.Context(), append(alphaAudit, betaAudit...)...))
	alphaLogins, betaLogins := loginEvents("alpha"), loginEvents("beta")[:2]
	for _, e := range append(alphaLogins, betaLogins...) {
		must(t, "AppendLogin", s.AppendLogin(t.Context(), e))
	}
	newest := func(events []store.AuditEvent) []store.AuditEvent {
		var out []store.AuditEvent
		for i := len(events) - 1; i >= 0; i-- {
			out = append(out, events[i])
		}
		return out
	}
	newestLogins := func(events []store.LoginEvent) []store.LoginEvent {
		var out []store.LoginEvent
		for i := len(events) - 1; i >= 0; i-- {
			out = append(out, events[i])
		}
		return out
	}

	a, b := alpha, beta // a's keys, asked through team b
	const B = "beta"
	carl := a.users[2]
	tests := []struct {
		name string
		fn   func(t *testing.T)
	}{
		// Teams.
		{"Team", func(t *testing.T) {
			got, err := s.Team(t.Context(), B)
			if wantErr(t, "Team(beta)", err, nil) {
				diff(t, "Team(beta)", b.team, got, opts)
			}
		}},
		{"UpdateTeamSettings", func(t *testing.T) {
			settings := store.TeamSettings{AccessTokenTTL: time.Hour, SigningAlg: "ES256"}
			must(t, "UpdateTeamSettings(beta)", s.UpdateTeamSettings(t.Context(), B, settings))
			b.team.Settings = settings
			got, err := s.Team(t.Context(), B)
			if wantErr(t, "Team(beta)", err, nil) {
				diff(t, "Team(beta)", b.team, got, opts)
			}
		}},

		// Users.
		{"User", func(t *testing.T) {
			for _, u := range a.users {
				_, err := s.User(t.Context(), B, u.ID)
				wantErr(t, "User(beta, alpha's "+u.Email+")", err, store.ErrNotFound)
			}
		}},
		{"UserByEmail", func(t *testing.T) {
			_, err := s.UserByEmail(t.Context(), B, carl.Email)
			wantErr(t, "UserByEmail(beta, carl)", err, store.ErrNotFound)
			got, err := s.UserByEmail(t.Context(), B, "ann@example.com")
			if wantErr(t, "UserByEmail(beta, ann)", err, nil) {
				diff(t, "UserByEmail(beta, ann)", b.ann(), got, opts)
			}
		}},
		{"ListUsers", func(t *testing.T) {
			got := walk(t, 1, func(p store.Page) ([]store.User, string, error) {
				return s.ListUsers(t.Context(), B, p)
			})
			diff(t, "ListUsers(beta)", b.users, got, opts)
		}},
		{"UpdateUser", func(t *testing.T) {
			u := a.ann()
			u.Team = B
			u.Name = "changed through beta"
			u.TeamAdmin = false
			u.PasswordHash = "attacker's hash"
			err := s.UpdateUser(t.Context(), u)
			wantErr(t, "UpdateUser(beta, alpha's ann)", err, store.ErrNotFound)
		}},
		{"DeleteUser", func(t *testing.T) {
			for _, u := range a.users {
				err := s.DeleteUser(t.Context(), B, u.ID)
				wantErr(t, "DeleteUser(beta, alpha's "+u.Email+")", err, store.ErrNotFound)
			}
		}},

		// Groups.
		{"Group", func(t *testing.T) {
			_, err := s.Group(t.Context(), B, "solo")
			wantErr(t, "Group(beta, solo)", err, store.ErrNotFound)
			got, err := s.Group(t.Context(), B, "ops")
			if wantErr(t, "Group(beta, ops)", err, nil) {
				diff(t, "Group(beta, ops)", b.groups[1], got, opts)
			}
		}},
		{"ListGroups", func(t *testing.T) {
			got := walk(t, 1, func(p store.Page) ([]store.Group, string, error) {
				return s.ListGroups(t.Context(), B, p)
			})
			diff(t, "ListGroups(beta)", b.groups, got, opts)
		}},
		{"DeleteGroup", func(t *testing.T) {
			err := s.DeleteGroup(t.Context(), B, "solo")
			wantErr(t, "DeleteGroup(beta, solo)", err, store.ErrNotFound)
		}},
		{"AddGroupMember", func(t *testing.T) {
			err := s.AddGroupMember(t.Context(), B, "staff", a.bob().ID)
			wantErr(t, "AddGroupMember(beta, staff, alpha's bob)", err, store.ErrNotFound)
			err = s.AddGroupMember(t.Context(), B, "solo", b.bob().ID)
			wantErr(t, "AddGroupMember(beta, solo, beta's bob)", err, store.ErrNotFound)
			err = s.AddGroupMember(t.Context(), B, "solo", carl.ID)
			wantErr(t, "AddGroupMember(beta, solo, alpha's carl)", err, store.ErrNotFound)
		}},
		{"RemoveGroupMember", func(t *testing.T) {
			err := s.RemoveGroupMember(t.Context(), B, "staff", a.ann().ID)
			wantErr(t, "RemoveGroupMember(beta, staff, alpha's ann)", err, store.ErrNotFound)
			err = s.RemoveGroupMember(t.Context(), B, "solo", carl.ID)
			wantErr(t, "RemoveGroupMember(beta, solo, alpha's carl)", err, store.ErrNotFound)
		}},
		{"UserGroups", func(t *testing.T) {
			for _, u := range a.users {
				got, err := s.UserGroups(t.Context(), B, u.ID)
				notFoundOrEmpty(t, "UserGroups(beta, alpha's "+u.Email+")", got, err)
			}
		}},
		{"GroupByID", func(t *testing.T) {
			for _, g := range a.groups {
				_, err := s.GroupByID(t.Context(), B, g.ID)
				wantErr(t, "GroupByID(beta, alpha's "+g.Name+")", err, store.ErrNotFound)
			}
		}},
		{"UpdateGroup", func(t *testing.T) {
			err := s.UpdateGroup(t.Context(), B, "solo", store.Group{Name: "solo2", ExternalID: "x", UpdatedAt: at(time.Hour)})
			wantErr(t, "UpdateGroup(beta, solo)", err, store.ErrNotFound)
		}},
		{"Memberships", func(t *testing.T) {
			var ids []string
			for _, u := range a.users {
				ids = append(ids, u.ID)
			}
			got, err := s.Memberships(t.Context(), B, ids)
			notFoundOrEmpty(t, "Memberships(beta, alpha's users)", got, err)
		}},
		{"QueryUsers", func(t *testing.T) {
			got, n, err := s.QueryUsers(t.Context(), B, store.Query{Limit: 10, Where: &store.Cond{Op: store.OpOr, Of: []store.Cond{
				{Op: store.OpEq, Field: store.FieldUserID, Value: carl.ID},
				{Op: store.OpEq, Field: store.FieldUserEmail, Value: carl.Email}}}})
			if wantErr(t, "QueryUsers(beta, alpha's carl)", err, nil) && (n != 0 || len(got) != 0) {
				t.Errorf("QueryUsers(beta, alpha's carl) = %v, %d", got, n)
			}
			got, n, err = s.QueryUsers(t.Context(), B, store.Query{Limit: 10})
			if wantErr(t, "QueryUsers(beta)", err, nil) {
				diff(t, "QueryUsers(beta)", b.users, got, opts)
				if n != len(b.users) {
					t.Errorf("QueryUsers(beta) counts %d, want %d", n, len(b.users))
				}
			}
		}},
		{"QueryGroups", func(t *testing.T) {
			got, n, err := s.QueryGroups(t.Context(), B, store.Query{Limit: 10, Where: &store.Cond{Op: store.OpOr, Of: []store.Cond{
				{Op: store.OpEq, Field: store.FieldGroupName, Value: "solo"},
				{Op: store.OpAny, Field: store.FieldGroupMembers, Of: []store.Cond{{Op: store.OpEq, Field: store.FieldMemberValue, Value: carl.ID}}}}}})
			if wantErr(t, "QueryGroups(beta, alpha's solo)", err, nil) && (n != 0 || len(got) != 0) {
				t.Errorf("QueryGroups(beta, alpha's solo) = %v, %d", got, n)
			}
			got, n, err = s.QueryGroups(t.Context(), B, store.Query{Limit: 10, WithMembers: true})
			if wantErr(t, "QueryGroups(beta)", err, nil) {
				diff(t, "QueryGroups(beta)", b.groups, got, opts)
				if n != len(b.groups) {
					t.Errorf("QueryGroups(beta) counts %d, want %d", n, len(b.groups))
				}
			}
		}},

		// Applications.
		{"App", func(t *testing.T) {
			_, err := s.App(t.Context(), B, "solo")
			wantErr(t, "App(beta, solo)", err, store.ErrNotFound)
		}},
		{"ListApps", func(t *testing.T) {
			got, err := s.ListApps(t.Context(), B)
			if wantErr(t, "ListApps(beta)", err, nil) {
				diff(t, "ListApps(beta)", b.apps, got, opts)
			}
		}},
		{"DeleteApp", func(t *testing.T) {
			err := s.DeleteApp(t.Context(), B, "solo")
			wantErr(t, "DeleteApp(beta, solo)", err, store.ErrNotFound)
		}},

		// Clients.
		{"Client", func(t *testing.T) {
			_, err := s.Client(t.Context(), B, a.client.ID)
			wantErr(t, "Client(beta, alpha's client)", err, store.ErrNotFound)
		}},
		{"ListClients", func(t *testing.T) {
			got, err := s.ListClients(t.Context(), B)
			if wantErr(t, "ListClients(beta)", err, nil) {
				diff(t, "ListClients(beta)", []store.Client{b.client}, got, opts)
			}
		}},
		{"UpdateClient", func(t *testing.T) {
			c := a.client
			c.Team = B
			c.RedirectURIs = []string{"https://evil.example.com/cb"}
			c.Scopes = append(c.Scopes, "user-provisioning.scim")
			err := s.UpdateClient(t.Context(), c)
			wantErr(t, "UpdateClient(beta, alpha's client)", err, store.ErrNotFound)
		}},
		{"DeleteClient", func(t *testing.T) {
			err := s.DeleteClient(t.Context(), B, a.client.ID)
			wantErr(t, "DeleteClient(beta, alpha's client)", err, store.ErrNotFound)
		}},
		{"AddClientSecret", func(t *testing.T) {
			// nil would delete the client's other secrets.
			err := s.AddClientSecret(t.Context(), B, a.client.ID, mkSecret("attacker"), nil)
			wantErr(t, "AddClientSecret(beta, alpha's client, nil)", err, store.ErrNotFound)
			err = s.AddClientSecret(t.Context(), B, a.client.ID, mkSecret("attacker"), ptr(t0))
			wantErr(t, "AddClientSecret(beta, alpha's client, t0)", err, store.ErrNotFound)
		}},

		// Static keys.
		{"Key", func(t *testing.T) {
			for _, k := range a.keys {
				_, err := s.Key(t.Context(), B, k.ID)
				wantErr(t, "Key(beta, alpha's "+k.Kind+" key)", err, store.ErrNotFound)
			}
		}},
		{"ListKeys", func(t *testing.T) {
			got, err := s.ListKeys(t.Context(), B)
			if wantErr(t, "ListKeys(beta)", err, nil) {
				diff(t, "ListKeys(beta)", b.keys, got, opts)
			}
		}},
		{"DeleteKey", func(t *testing.T) {
			for _, k := range a.keys {
				err := s.DeleteKey(t.Context(), B, k.ID)
				wantErr(t, "DeleteKey(beta, alpha's "+k.Kind+" key)", err, store.ErrNotFound)
			}
		}},
		{"RecordKeyUse", func(t *testing.T) {
			// The error, if any, is the backend's choice; alpha's keys must
			// not change (checked below).
			_ = s.RecordKeyUse(t.Context(), B, []store.KeyUse{
				{ID: a.keys[0].ID, At: at(time.Hour), IP: "203.0.113.9", UserAgent: "attacker"},
				{ID: a.keys[1].ID, At: at(time.Hour), IP: "203.0.113.9", UserAgent: "attacker"},
			})
		}},
		{"SetKeyMigrated", func(t *testing.T) {
			err := s.SetKeyMigrated(t.Context(), B, a.keys[1].ID, b.client.ID)
			wantErr(t, "SetKeyMigrated(beta, alpha's key)", err, store.ErrNotFound)
		}},

		// Permissions.
		{"ListPermissions", func(t *testing.T) {
			got, err := s.ListPermissions(t.Context(), B, "")
			if wantErr(t, "ListPermissions(beta, \"\")", err, nil) {
				diff(t, "ListPermissions(beta, \"\")", b.perms, got, opts)
			}
			got, err = s.ListPermissions(t.Context(), B, "group:solo")
			notFoundOrEmpty(t, "ListPermissions(beta, group:solo)", got, err)
			got, err = s.ListPermissions(t.Context(), B, "client:"+a.client.ID)
			notFoundOrEmpty(t, "ListPermissions(beta, alpha's client)", got, err)
		}},
		{"RevokePermission", func(t *testing.T) {
			for _, p := range []store.Permission{a.perms[3], a.perms[4]} { // alpha's client, group solo
				p.Team = B
				err := s.RevokePermission(t.Context(), p)
				wantErr(t, "RevokePermission(beta, alpha's "+permKey(p)+")", err, store.ErrNotFound)
			}
		}},

		// Consents.
		{"Consent", func(t *testing.T) {
			_, err := s.Consent(t.Context(), B, a.consent.UserID, a.consent.ClientID)
			wantErr(t, "Consent(beta, alpha's)", err, store.ErrNotFound)
		}},
		{"ListConsents", func(t *testing.T) {
			got, err := s.ListConsents(t.Context(), B, a.ann().ID)
			notFoundOrEmpty(t, "ListConsents(beta, alpha's ann)", got, err)
		}},
		{"UpsertConsent", func(t *testing.T) {
			c := a.consent
			c.Team = B
			c.Scopes = []string{"user-provisioning.scim"}
			c.UpdatedAt = at(time.Hour)
			// Whether this fails is the backend's choice (alpha's user and
			// client are not beta's); alpha's consent must not change.
			if err := s.UpsertConsent(t.Context(), c); err == nil {
				if err := s.DeleteConsent(t.Context(), B, c.UserID, c.ClientID); err != nil {
					t.Errorf("DeleteConsent(beta, the consent just upserted): %v", err)
				}
			}
		}},
		{"TouchConsent", func(t *testing.T) {
			err := s.TouchConsent(t.Context(), B, a.consent.UserID, a.consent.ClientID, at(time.Hour))
			wantErr(t, "TouchConsent(beta, alpha's)", err, store.ErrNotFound)
		}},
		{"DeleteConsent", func(t *testing.T) {
			err := s.DeleteConsent(t.Context(), B, a.consent.UserID, a.consent.ClientID)
			wantErr(t, "DeleteConsent(beta, alpha's)", err, store.ErrNotFound)
		}},

		// Sessions.
		{"Session", func(t *testing.T) {
			for _, ss := range a.sessions {
				_, err := s.Session(t.Context(), B, ss.Hash)
				wantErr(t, "Session(beta, alpha's)", err, store.ErrNotFound)
			}
		}},
		{"ListSessions", func(t *testing.T) {
			got, err := s.ListSessions(t.Context(), B, a.ann().ID)
			notFoundOrEmpty(t, "ListSessions(beta, alpha's ann)", got, err)
		}},
		{"CreateSession", func(t *testing.T) {
			ss := mkSessionOf(B, a.ann().ID, at(time.Hour))
			err := s.CreateSession(t.Context(), ss, 1)
			wantErr(t, "CreateSession(beta, alpha's ann)", err, store.ErrNotFound)
			ss = a.sessions[0]
			ss.Team, ss.UserID = B, b.ann().ID
			if err := s.CreateSession(t.Context(), ss, 0); err == nil {
				// The same hash in another team is another session.
				must(t, "DeleteSession(beta)", s.DeleteSession(t.Context(), B, ss.Hash))
			}
		}},
		{"TouchSession", func(t *testing.T) {
			err := s.TouchSession(t.Context(), B, a.sessions[0].Hash, at(time.Hour))
			wantErr(t, "TouchSession(beta, alpha's)", err, store.ErrNotFound)
		}},
		{"DeleteSession", func(t *testing.T) {
			err := s.DeleteSession(t.Context(), B, a.sessions[0].Hash)
			wantErr(t, "DeleteSession(beta, alpha's)", err, store.ErrNotFound)
		}},
		{"DeleteUserSessions", func(t *testing.T) {
			n, err := s.DeleteUserSessions(t.Context(), B, a.ann().ID)
			if wantErr(t, "DeleteUserSessions(beta, alpha's ann)", err, nil) && n != 0 {
				t.Errorf("DeleteUserSessions(beta, alpha's ann) deleted %d", n)
			}
		}},

		// Refresh tokens.
		{"RefreshToken", func(t *testing.T) {
			_, err := s.RefreshToken(t.Context(), B, a.refresh.Hash)
			wantErr(t, "RefreshToken(beta, alpha's)", err, store.ErrNotFound)
		}},
		{"UseRefreshToken", func(t *testing.T) {
			_, err := s.UseRefreshToken(t.Context(), B, a.refresh.Hash, at(time.Hour))
			wantErr(t, "UseRefreshToken(beta, alpha's)", err, store.ErrNotFound)
		}},
		{"RevokeRefreshFamily", func(t *testing.T) {
			_ = s.RevokeRefreshFamily(t.Context(), B, a.refresh.FamilyID, at(time.Hour))
		}},
		{"RevokeRefreshTokensOf", func(t *testing.T) {
			_ = s.RevokeRefreshTokensOf(t.Context(), B, a.refresh.UserID, a.refresh.ClientID, at(time.Hour))
		}},

		// Signing keys.
		{"ListSigningKeys", func(t *testing.T) {
			got, err := s.ListSigningKeys(t.Context(), B)
			if wantErr(t, "ListSigningKeys(beta)", err, nil) {
				diff(t, "ListSigningKeys(beta)", []store.SigningKey{b.signingKey}, got, opts)
			}
		}},
		{"RetireSigningKey", func(t *testing.T) {
			err := s.RetireSigningKey(t.Context(), B, a.signingKey.ID, at(time.Hour), at(2*time.Hour))
			wantErr(t, "RetireSigningKey(beta, alpha's)", err, store.ErrNotFound)
		}},
		{"DeleteSigningKey", func(t *testing.T) {
			err := s.DeleteSigningKey(t.Context(), B, a.signingKey.ID)
			wantErr(t, "DeleteSigningKey(beta, alpha's)", err, store.ErrNotFound)
		}},

		// Denylist.
		{"ListRevokedTokens", func(t *testing.T) {
			got, err := s.ListRevokedTokens(t.Context(), B, t0)
			if wantErr(t, "ListRevokedTokens(beta)", err, nil) {
				diff(t, "ListRevokedTokens(beta)", b.revoked, got, opts)
			}
		}},

		// Grant cut-offs.
		{"ListGrantRevocations", func(t *testing.T) {
			got, err := s.ListGrantRevocations(t.Context(), B, t0)
			if wantErr(t, "ListGrantRevocations(beta)", err, nil) {
				diff(t, "ListGrantRevocations(beta)", b.cutoffs, got, opts)
			}
		}},
		{"RevokeGrant", func(t *testing.T) {
			// alpha's pair, cut off later through beta: beta gets a
			// cut-off of its own; alpha's stays as it was (checked below).
			r := a.cutoffs[0]
			r.Team, r.RevokedAt, r.ExpiresAt = B, at(time.Hour), at(72*time.Hour)
			must(t, "RevokeGrant(beta, alpha's pair)", s.RevokeGrant(t.Context(), r))
			b.cutoffs = append(b.cutoffs, r)
			got, err := s.ListGrantRevocations(t.Context(), B, t0)
			if wantErr(t, "ListGrantRevocations(beta)", err, nil) {
				diff(t, "ListGrantRevocations(beta)", b.cutoffs, got, opts)
			}
		}},

		// History.
		{"ListAudit", func(t *testing.T) {
			got := walk(t, 1, func(p store.Page) ([]store.AuditEvent, string, error) {
				return s.ListAudit(t.Context(), B, store.AuditFilter{}, p)
			})
			diff(t, "ListAudit(beta)", newest(betaAudit), got, eventOpts)
			got, _, err := s.ListAudit(t.Context(), B, store.AuditFilter{Target: "client:c1"}, store.Page{Limit: 100})
			notFoundOrEmpty(t, "ListAudit(beta, target of alpha only)", got, err)
			got, _, err = s.ListAudit(t.Context(), "alpha", store.AuditFilter{}, store.Page{Limit: 100})
			if wantErr(t, "ListAudit(alpha)", err, nil) {
				diff(t, "ListAudit(alpha)", newest(alphaAudit), got, eventOpts)
			}
		}},
		{"ListLogins", func(t *testing.T) {
			got := walk(t, 1, func(p store.Page) ([]store.LoginEvent, string, error) {
				return s.ListLogins(t.Context(), B, store.LoginFilter{}, p)
			})
			diff(t, "ListLogins(beta)", newestLogins(betaLogins), got, eventOpts)
			got, _, err := s.ListLogins(t.Context(), B, store.LoginFilter{Email: "bob@example.com"}, store.Page{Limit: 100})
			notFoundOrEmpty(t, "ListLogins(beta, email of alpha only)", got, err)
			got, _, err = s.ListLogins(t.Context(), "alpha", store.LoginFilter{}, store.Page{Limit: 100})
			if wantErr(t, "ListLogins(alpha)", err, nil) {
				diff(t, "ListLogins(alpha)", newestLogins(alphaLogins), got, eventOpts)
			}
		}},

		// Authorization codes: last of the reads, as using alpha's code
		// spends it.
		{"UseAuthCode", func(t *testing.T) {
			_, err := s.UseAuthCode(t.Context(), B, a.code.ClientID, a.code.Hash, at(time.Hour))
			wantErr(t, "UseAuthCode(beta, alpha's)", err, store.ErrNotFound)
			got, err := s.UseAuthCode(t.Context(), "alpha", a.code.ClientID, a.code.Hash, at(time.Hour))
			if wantErr(t, "UseAuthCode(alpha, alpha's)", err, nil) {
				diff(t, "UseAuthCode(alpha, alpha's)", a.code, got, opts)
			}
		}},

		// Creates with alpha's keys make beta's own records.
		{"CreateWithAlphaKeys", func(t *testing.T) {
			c := t.Context()
			u := carl
			u.Team, u.Name = B, "beta's carl"
			must(t, "CreateUser(beta, alpha's carl's ID and email)", s.CreateUser(c, u))
			g := store.Group{Team: B, ID: a.groups[len(a.groups)-1].ID, Name: "solo", CreatedAt: at(time.Hour), UpdatedAt: at(time.Hour)}
			must(t, "CreateGroup(beta, solo)", s.CreateGroup(c, g))
			must(t, "AddGroupMember(beta, solo, carl)", s.AddGroupMember(c, B, "solo", u.ID))
			g.Members = []string{u.ID}
			app := store.Application{Team: B, Name: "solo", CreatedAt: at(time.Hour)}
			must(t, "CreateApp(beta, solo)", s.CreateApp(c, app))
			cl := a.client
			cl.Team, cl.Name, cl.Secrets = B, "beta's copy", nil
			must(t, "CreateClient(beta, alpha's client ID)", s.CreateClient(c, cl))
			k := a.keys[1]
			k.Team, k.Hash = B, []byte("beta's key")
			must(t, "CreateKey(beta, alpha's key ID)", s.CreateKey(c, k))
			p := a.perms[4]
			p.Team = B
			must(t, "GrantPermission(beta, alpha's permission)", s.GrantPermission(c, p))
			sk := a.signingKey
			sk.Team, sk.PrivateSealed = B, []byte("beta's sealed key")
			must(t, "CreateSigningKey(beta, alpha's kid)", s.CreateSigningKey(c, sk))
			rt := a.refresh
			rt.Team, rt.FamilyID, rt.UserID, rt.ClientID = B, "beta family", b.ann().ID, b.client.ID
			must(t, "CreateRefreshToken(beta, alpha's hash)", s.CreateRefreshToken(c, rt))
			code := a.code
			code.Team, code.UserID, code.ClientID = B, b.ann().ID, b.client.ID
			must(t, "CreateAuthCode(beta, alpha's hash)", s.CreateAuthCode(c, code))
			rv := a.revoked[0]
			rv.Team = B
			must(t, "RevokeToken(beta, alpha's jti)", s.RevokeToken(c, rv))

			if got, err := s.User(c, B, u.ID); wantErr(t, "User(beta, carl)", err, nil) {
				diff(t, "User(beta, carl)", u, got, opts)
			}
			if got, err := s.Group(c, B, "solo"); wantErr(t, "Group(beta, solo)", err, nil) {
				diff(t, "Group(beta, solo)", g, got, opts)
			}
			if got, err := s.App(c, B, "solo"); wantErr(t, "App(beta, solo)", err, nil) {
				diff(t, "App(beta, solo)", app, got, opts)
			}
			if got, err := s.Client(c, B, cl.ID); wantErr(t, "Client(beta, copy)", err, nil) {
				diff(t, "Client(beta, copy)", cl, got, opts)
			}
			if got, err := s.Key(c, B, k.ID); wantErr(t, "Key(beta, copy)", err, nil) {
				diff(t, "Key(beta, copy)", k, got, opts)
			}
			if got, err := s.ListPermissions(c, B, p.Principal); wantErr(t, "ListPermissions(beta, group:solo)", err, nil) {
				diff(t, "ListPermissions(beta, group:solo)", []store.Permission{p}, got, opts)
			}
			if got, err := s.ListSigningKeys(c, B); wantErr(t, "ListSigningKeys(beta)", err, nil) {
				diff(t, "ListSigningKeys(beta)", []store.SigningKey{b.signingKey, sk}, got, opts)
			}
			if got, err := s.RefreshToken(c, B, rt.Hash); wantErr(t, "RefreshToken(beta, copy)", err, nil) {
				diff(t, "RefreshToken(beta, copy)", rt, got, opts)
			}
			if got, err := s.UseAuthCode(c, B, code.ClientID, code.Hash, at(time.Hour)); wantErr(t, "UseAuthCode(beta, copy)", err, nil) {
				diff(t, "UseAuthCode(beta, copy)", code, got, opts)
			}
			if got, err := s.ListRevokedTokens(c, B, t0); wantErr(t, "ListRevokedTokens(beta)", err, nil) {
				diff(t, "ListRevokedTokens(beta)", append(b.revoked, rv), got, opts)
			}
		}},

		// Last: deleting team beta leaves alpha whole.
		{"DeleteTeam", func(t *testing.T) {
			must(t, "DeleteTeam(beta)", s.DeleteTeam(t.Context(), B))
			_, err := s.Team(t.Context(), B)
			wantErr(t, "Team(beta) after delete", err, store.ErrNotFound)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t)
			checkFixture(t, s, alpha)
		})
	}
}
