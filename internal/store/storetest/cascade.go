package storetest

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/internal/store"
)

// testMissingTeam checks that nothing can be created in a team that does
// not exist.
func testMissingTeam(t *testing.T, s store.Store) {
	mkTeam(t, s, "alpha")
	userID := uuid.NewString()
	clientID := uuid.NewString()
	keyID := uuid.NewString()
	tests := []struct {
		name   string
		create func() error
		read   func() error // must give ErrNotFound afterwards
	}{
		{"CreateUser", func() error {
			return s.CreateUser(t.Context(), store.User{Team: "nope", ID: userID, Email: "ann@example.com", CreatedAt: t0})
		}, func() error {
			_, err := s.User(t.Context(), "nope", userID)
			return err
		}},
		{"CreateGroup", func() error {
			return s.CreateGroup(t.Context(), store.Group{Team: "nope", Name: "ops", CreatedAt: t0})
		}, func() error {
			_, err := s.Group(t.Context(), "nope", "ops")
			return err
		}},
		{"CreateApp", func() error {
			return s.CreateApp(t.Context(), store.Application{Team: "nope", Name: "billing", CreatedAt: t0})
		}, func() error {
			_, err := s.App(t.Context(), "nope", "billing")
			return err
		}},
		{"CreateClient", func() error {
			return s.CreateClient(t.Context(), store.Client{
				Team: "nope", ID: clientID, Name: "svc", GrantTypes: []string{"client_credentials"},
				AuthMethod: "client_secret_basic", CreatedAt: t0,
			})
		}, func() error {
			_, err := s.Client(t.Context(), "nope", clientID)
			return err
		}},
		{"CreateKey", func() error {
			return s.CreateKey(t.Context(), store.StaticKey{
				Team: "nope", ID: keyID, Kind: store.KeyKindApp, Owner: "billing", Hash: []byte("h"), CreatedAt: t0,
			})
		}, func() error {
			_, err := s.Key(t.Context(), "nope", keyID)
			return err
		}},
		{"RevokeGrant", func() error {
			return s.RevokeGrant(t.Context(), store.GrantRevocation{
				Team: "nope", UserID: userID, ClientID: clientID, RevokedAt: t0, ExpiresAt: at(time.Hour),
			})
		}, func() error {
			got, err := s.ListGrantRevocations(t.Context(), "nope", t0)
			if err == nil && len(got) == 0 {
				return store.ErrNotFound
			}
			return err
		}},
		{"GrantPermission", func() error {
			return s.GrantPermission(t.Context(), store.Permission{
				Team: "nope", Principal: "app:billing", Action: "read", Resource: "team", CreatedAt: t0,
			})
		}, func() error {
			got, err := s.ListPermissions(t.Context(), "nope", "")
			if err == nil && len(got) == 0 {
				return store.ErrNotFound
			}
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.create(); err == nil {
				t.Errorf("%s in a missing team: no error", tc.name)
			}
			wantErr(t, "read back", tc.read(), store.ErrNotFound)
		})
	}
	_, err := s.Team(t.Context(), "nope")
	wantErr(t, "Team(nope)", err, store.ErrNotFound)
}

// testDeleteTeamCascades deletes a team with records of every kind and
// checks that they are gone, that another team keeps all of its own, and
// that the same records can be created again.
func testDeleteTeamCascades(t *testing.T, s store.Store) {
	alpha := newFixture("alpha", true)
	beta := newFixture("beta", false)
	createFixture(t, s, alpha)
	createFixture(t, s, beta)
	must(t, "DeleteTeam(alpha)", s.DeleteTeam(t.Context(), "alpha"))

	t.Run("gone", func(t *testing.T) {
		checkGone(t, s, alpha)
	})
	t.Run("otherTeamUntouched", func(t *testing.T) {
		checkFixture(t, s, beta)
		got, err := s.ListTeams(t.Context())
		if wantErr(t, "ListTeams", err, nil) {
			diff(t, "ListTeams", []store.Team{beta.team}, got, opts)
		}
	})
	t.Run("recreate", func(t *testing.T) {
		// No row of the old team survives to clash with the same records.
		createFixture(t, s, alpha)
		checkFixture(t, s, alpha)
		checkFixture(t, s, beta)
	})
}
