package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/internal/store"
)

var errRollback = errors.New("storetest: roll back")

func testTx(t *testing.T, s store.Store) {
	t.Run("commit", func(t *testing.T) {
		f := newFixture("gamma", true)
		err := s.Tx(t.Context(), func(q store.Queries) error {
			createFixture(t, q, f)
			checkFixture(t, q, f) // a transaction reads its own writes
			return nil
		})
		must(t, "Tx", err)
		checkFixture(t, s, f)
	})
	t.Run("rollbackCreates", func(t *testing.T) {
		f := newFixture("delta", true)
		err := s.Tx(t.Context(), func(q store.Queries) error {
			createFixture(t, q, f)
			checkFixture(t, q, f)
			must(t, "AppendAudit", q.AppendAudit(t.Context(), auditEvents("delta")...))
			must(t, "AppendLogin", q.AppendLogin(t.Context(), loginEvents("delta")[0]))
			return errRollback
		})
		wantErr(t, "Tx", err, errRollback)
		checkGone(t, s, f)
		got, _, err := s.ListAudit(t.Context(), "delta", store.AuditFilter{}, store.Page{Limit: 100})
		notFoundOrEmpty(t, "ListAudit(delta)", got, err)
		logins, _, err := s.ListLogins(t.Context(), "delta", store.LoginFilter{}, store.Page{Limit: 100})
		notFoundOrEmpty(t, "ListLogins(delta)", logins, err)
		// Nothing is left to clash with a second try.
		must(t, "Tx again", s.Tx(t.Context(), func(q store.Queries) error {
			createFixture(t, q, f)
			return nil
		}))
		checkFixture(t, s, f)
	})
	t.Run("rollbackChanges", func(t *testing.T) {
		f := newFixture("alpha", true)
		createFixture(t, s, f)
		annSession := mkSessionOf("alpha", f.ann().ID, at(time.Hour))
		err := s.Tx(t.Context(), func(q store.Queries) error {
			c := t.Context()
			steps := []struct {
				name string
				err  error
			}{
				// First, as the backend may rename or drop the permissions of
				// principals that the steps below change or delete.
				{"RevokePermission", q.RevokePermission(c, f.perms[2])},
				{"UpdateTeamSettings", q.UpdateTeamSettings(c, "alpha", store.TeamSettings{SigningAlg: "ES256"})},
				{"UpdateUser", q.UpdateUser(c, store.User{Team: "alpha", ID: f.ann().ID, Email: "changed@example.com", CreatedAt: t0})},
				{"CreateUser", q.CreateUser(c, store.User{Team: "alpha", ID: uuid.NewString(), Email: "new@example.com", CreatedAt: t0})},
				{"RemoveGroupMember", q.RemoveGroupMember(c, "alpha", "ops", f.bob().ID)},
				{"AddGroupMember", q.AddGroupMember(c, "alpha", "staff", f.bob().ID)},
				{"DeleteUser", q.DeleteUser(c, "alpha", f.bob().ID)},
				{"DeleteGroup", q.DeleteGroup(c, "alpha", "solo")},
				{"DeleteApp", q.DeleteApp(c, "alpha", "solo")},
				{"AddClientSecret", q.AddClientSecret(c, "alpha", f.client.ID, mkSecret("tx"), nil)},
				{"UpdateClient", q.UpdateClient(c, store.Client{Team: "alpha", ID: f.client.ID, Name: "changed", AuthMethod: "client_secret_post", CreatedAt: t0})},
				{"RecordKeyUse", q.RecordKeyUse(c, "alpha", []store.KeyUse{{ID: f.keys[0].ID, At: at(time.Hour), IP: "192.0.2.1", UserAgent: "tx"}})},
				{"SetKeyMigrated", q.SetKeyMigrated(c, "alpha", f.keys[1].ID, f.client.ID)},
				{"DeleteKey", q.DeleteKey(c, "alpha", f.keys[0].ID)},
				{"GrantPermission", q.GrantPermission(c, store.Permission{Team: "alpha", Principal: "app:billing", Action: "manage", Resource: "team", CreatedAt: t0})},
				{"TouchConsent", q.TouchConsent(c, "alpha", f.consent.UserID, f.consent.ClientID, at(time.Hour))},
				{"UpsertConsent", q.UpsertConsent(c, store.Consent{Team: "alpha", UserID: f.ann().ID, ClientID: f.client.ID, Scopes: []string{"x"}, CreatedAt: t0, UpdatedAt: at(time.Hour)})},
				{"RevokeRefreshFamily", q.RevokeRefreshFamily(c, "alpha", f.refresh.FamilyID, at(time.Hour))},
				{"RetireSigningKey", q.RetireSigningKey(c, "alpha", f.signingKey.ID, at(time.Hour), at(2*time.Hour))},
				{"RevokeToken", q.RevokeToken(c, store.RevokedToken{Team: "alpha", JTI: uuid.NewString(), ExpiresAt: at(time.Hour)})},
				// UpdateUser above ended ann's session: a new one.
				{"CreateSession", q.CreateSession(c, annSession, 1)},
				{"TouchSession", q.TouchSession(c, "alpha", annSession.Hash, at(time.Hour))},
			}
			for _, st := range steps {
				must(t, st.name, st.err)
			}
			_, err := q.UseAuthCode(c, "alpha", f.code.ClientID, f.code.Hash, at(time.Hour))
			must(t, "UseAuthCode", err)
			_, err = q.UseRefreshToken(c, "alpha", f.refresh.Hash, at(time.Hour))
			if !errors.Is(err, store.ErrConflict) { // revoked just above
				t.Errorf("UseRefreshToken of a token revoked in the transaction: error = %v, want %v", err, store.ErrConflict)
			}
			// Deletes last, so that the steps above still find their records.
			must(t, "DeleteSession", q.DeleteSession(c, "alpha", annSession.Hash))
			_, err = q.DeleteUserSessions(c, "alpha", f.ann().ID)
			must(t, "DeleteUserSessions", err)
			must(t, "DeleteConsent", q.DeleteConsent(c, "alpha", f.consent.UserID, f.consent.ClientID))
			must(t, "DeleteSigningKey", q.DeleteSigningKey(c, "alpha", f.signingKey.ID))
			must(t, "DeleteClient", q.DeleteClient(c, "alpha", f.client.ID))
			return errRollback
		})
		wantErr(t, "Tx", err, errRollback)
		checkFixture(t, s, f)
		got, err := s.UseAuthCode(t.Context(), "alpha", f.code.ClientID, f.code.Hash, at(time.Hour))
		if wantErr(t, "UseAuthCode after rollback", err, nil) {
			diff(t, "UseAuthCode after rollback", f.code, got, opts)
		}
	})
	t.Run("rollbackTeamDelete", func(t *testing.T) {
		f := newFixture("epsilon", false)
		createFixture(t, s, f)
		err := s.Tx(t.Context(), func(q store.Queries) error {
			must(t, "DeleteTeam", q.DeleteTeam(t.Context(), "epsilon"))
			_, err := q.Team(t.Context(), "epsilon")
			wantErr(t, "Team(epsilon) in the transaction", err, store.ErrNotFound)
			return errRollback
		})
		wantErr(t, "Tx", err, errRollback)
		checkFixture(t, s, f)
	})
	t.Run("failedQuery", func(t *testing.T) {
		mkTeam(t, s, "zeta")
		ann := mkUser(t, s, "zeta", "ann@example.com")
		carl := store.User{Team: "zeta", ID: uuid.NewString(), Email: "carl@example.com", CreatedAt: t0, UpdatedAt: t0}
		err := s.Tx(t.Context(), func(q store.Queries) error {
			must(t, "CreateUser(carl)", q.CreateUser(t.Context(), carl))
			dup := store.User{Team: "zeta", ID: uuid.NewString(), Email: ann.Email, CreatedAt: t0}
			return q.CreateUser(t.Context(), dup)
		})
		wantErr(t, "Tx", err, store.ErrAlreadyExists)
		_, err = s.User(t.Context(), "zeta", carl.ID)
		wantErr(t, "User(carl) after rollback", err, store.ErrNotFound)
		users, _, err := s.ListUsers(t.Context(), "zeta", store.Page{Limit: 10})
		if wantErr(t, "ListUsers(zeta)", err, nil) {
			diff(t, "ListUsers(zeta)", []store.User{ann}, users, opts)
		}
	})
}
