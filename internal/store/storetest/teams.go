package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func testTeams(t *testing.T, s store.Store) {
	full := store.TeamSettings{
		AccessTokenTTL:            5 * time.Minute,
		ScopeFormat:               "string",
		SigningAlg:                "ES256",
		StaticKeysDeprecatedSince: ptr(at(24 * time.Hour)),
		StaticKeysSunsetAt:        ptr(at(48*time.Hour + 123456*time.Microsecond)),
		StaticKeysLink:            "https://docs.example.com/oauth",
		StaticKeysRefuseNew:       true,
	}
	alpha := store.Team{Name: "alpha", CreatedAt: at(time.Second + time.Microsecond), Settings: full}
	beta := store.Team{Name: "beta", CreatedAt: t0}

	t.Run("CreateTeam", func(t *testing.T) {
		must(t, "create alpha", s.CreateTeam(t.Context(), alpha))
		must(t, "create beta", s.CreateTeam(t.Context(), beta))
	})
	t.Run("CreateTeam/duplicate", func(t *testing.T) {
		err := s.CreateTeam(t.Context(), store.Team{Name: "alpha", CreatedAt: at(time.Hour)})
		wantErr(t, "CreateTeam(alpha) again", err, store.ErrAlreadyExists)
		got, err := s.Team(t.Context(), "alpha")
		must(t, "Team(alpha)", err)
		diff(t, "Team(alpha) after duplicate create", alpha, got, opts)
	})
	t.Run("Team", func(t *testing.T) {
		for _, want := range []store.Team{alpha, beta} {
			got, err := s.Team(t.Context(), want.Name)
			if wantErr(t, "Team("+want.Name+")", err, nil) {
				diff(t, "Team("+want.Name+")", want, got, opts)
			}
		}
	})
	t.Run("Team/missing", func(t *testing.T) {
		_, err := s.Team(t.Context(), "gamma")
		wantErr(t, "Team(gamma)", err, store.ErrNotFound)
	})
	t.Run("ListTeams", func(t *testing.T) {
		got, err := s.ListTeams(t.Context())
		if wantErr(t, "ListTeams", err, nil) {
			diff(t, "ListTeams", []store.Team{alpha, beta}, got, opts)
		}
	})
	t.Run("UpdateTeamSettings", func(t *testing.T) {
		tests := []struct {
			name string
			s    store.TeamSettings
		}{
			{"change", store.TeamSettings{
				AccessTokenTTL:            time.Hour,
				ScopeFormat:               "array",
				StaticKeysDeprecatedSince: ptr(at(72 * time.Hour)),
				StaticKeysLink:            "https://example.com/sunset",
			}},
			{"clear", store.TeamSettings{}},
			{"full", full},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				must(t, "UpdateTeamSettings(beta)", s.UpdateTeamSettings(t.Context(), "beta", tc.s))
				got, err := s.Team(t.Context(), "beta")
				must(t, "Team(beta)", err)
				want := beta
				want.Settings = tc.s
				diff(t, "Team(beta)", want, got, opts)
			})
		}
		beta.Settings = full
	})
	t.Run("UpdateTeamSettings/missing", func(t *testing.T) {
		err := s.UpdateTeamSettings(t.Context(), "gamma", full)
		wantErr(t, "UpdateTeamSettings(gamma)", err, store.ErrNotFound)
		_, err = s.Team(t.Context(), "gamma")
		wantErr(t, "Team(gamma) after update", err, store.ErrNotFound)
	})
	t.Run("DeleteTeam/missing", func(t *testing.T) {
		err := s.DeleteTeam(t.Context(), "gamma")
		wantErr(t, "DeleteTeam(gamma)", err, store.ErrNotFound)
	})
	t.Run("DeleteTeam", func(t *testing.T) {
		must(t, "DeleteTeam(beta)", s.DeleteTeam(t.Context(), "beta"))
		_, err := s.Team(t.Context(), "beta")
		wantErr(t, "Team(beta) after delete", err, store.ErrNotFound)
		got, err := s.ListTeams(t.Context())
		if wantErr(t, "ListTeams", err, nil) {
			diff(t, "ListTeams after delete", []store.Team{alpha}, got, opts)
		}
		err = s.DeleteTeam(t.Context(), "beta")
		wantErr(t, "DeleteTeam(beta) again", err, store.ErrNotFound)
		// The name is free again.
		must(t, "re-create beta", s.CreateTeam(t.Context(), store.Team{Name: "beta", CreatedAt: at(time.Hour)}))
		got2, err := s.Team(t.Context(), "beta")
		if wantErr(t, "Team(beta) re-created", err, nil) {
			diff(t, "Team(beta) re-created", store.Team{Name: "beta", CreatedAt: at(time.Hour)}, got2, opts)
		}
	})
}
