package storetest

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/internal/store"
)

func testGrantRevocations(t *testing.T, s store.Store) {
	mkTeam(t, s, "alpha")
	mkTeam(t, s, "beta")
	ann, bob := uuid.NewString(), uuid.NewString()
	web, cli := uuid.NewString(), uuid.NewString()
	annWeb := store.GrantRevocation{Team: "alpha", UserID: ann, ClientID: web,
		RevokedAt: at(time.Minute + 3*time.Microsecond), ExpiresAt: at(25 * time.Hour)}
	annCLI := store.GrantRevocation{Team: "alpha", UserID: ann, ClientID: cli,
		RevokedAt: at(2 * time.Minute), ExpiresAt: at(2 * time.Hour)}
	bobWeb := store.GrantRevocation{Team: "beta", UserID: bob, ClientID: web,
		RevokedAt: at(time.Minute), ExpiresAt: at(25 * time.Hour)}
	list := func(t *testing.T, team string, now time.Time, want ...store.GrantRevocation) {
		t.Helper()
		got, err := s.ListGrantRevocations(t.Context(), team, now)
		if wantErr(t, "ListGrantRevocations("+team+")", err, nil) {
			diff(t, "ListGrantRevocations("+team+")", want, got, opts)
		}
	}

	t.Run("RevokeGrant", func(t *testing.T) {
		for _, r := range []store.GrantRevocation{annWeb, annCLI, bobWeb} {
			must(t, "RevokeGrant", s.RevokeGrant(t.Context(), r))
		}
		list(t, "alpha", t0, annWeb, annCLI)
		list(t, "beta", t0, bobWeb)
	})
	t.Run("ListGrantRevocations/expiry", func(t *testing.T) {
		tests := []struct {
			name string
			now  time.Time
			want []store.GrantRevocation
		}{
			{"beforeBoth", t0, []store.GrantRevocation{annWeb, annCLI}},
			{"justBeforeAnnCLI", annCLI.ExpiresAt.Add(-time.Microsecond), []store.GrantRevocation{annWeb, annCLI}},
			{"atAnnCLI", annCLI.ExpiresAt, []store.GrantRevocation{annWeb}},
			{"afterBoth", at(26 * time.Hour), nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				list(t, "alpha", tc.now, tc.want...)
			})
		}
	})
	t.Run("RevokeGrant/later", func(t *testing.T) {
		// A later revocation of the same pair moves both times on.
		later := annWeb
		later.RevokedAt, later.ExpiresAt = at(time.Hour), at(26*time.Hour)
		must(t, "RevokeGrant(later)", s.RevokeGrant(t.Context(), later))
		annWeb = later
		list(t, "alpha", t0, annWeb, annCLI)
	})
	t.Run("RevokeGrant/earlier", func(t *testing.T) {
		// An earlier one, arriving late, changes nothing.
		earlier := annWeb
		earlier.RevokedAt, earlier.ExpiresAt = at(time.Second), at(time.Hour)
		must(t, "RevokeGrant(earlier)", s.RevokeGrant(t.Context(), earlier))
		list(t, "alpha", t0, annWeb, annCLI)
		list(t, "beta", t0, bobWeb)
	})
	t.Run("GrantRevocation", func(t *testing.T) {
		tests := []struct {
			name               string
			team, user, client string
			now                time.Time
			want               *store.GrantRevocation // nil: ErrNotFound
		}{
			{"annWeb", "alpha", ann, web, t0, &annWeb},
			{"annCLI", "alpha", ann, cli, t0, &annCLI},
			{"annCLI/justBeforeExpiry", "alpha", ann, cli, annCLI.ExpiresAt.Add(-time.Microsecond), &annCLI},
			{"annCLI/atExpiry", "alpha", ann, cli, annCLI.ExpiresAt, nil},
			{"bobWeb", "beta", bob, web, t0, &bobWeb},
			{"bobWeb/otherTeam", "alpha", bob, web, t0, nil},
			{"bobCLI/neverCutOff", "beta", bob, cli, t0, nil},
			{"userAndClientSwapped", "alpha", web, ann, t0, nil},
			{"unknownTeam", "nope", ann, web, t0, nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.GrantRevocation(t.Context(), tc.team, tc.user, tc.client, tc.now)
				if tc.want == nil {
					wantErr(t, "GrantRevocation", err, store.ErrNotFound)
					return
				}
				if wantErr(t, "GrantRevocation", err, nil) {
					diff(t, "GrantRevocation", *tc.want, got, opts)
				}
			})
		}
	})
	t.Run("ListGrantRevocations/unknownTeam", func(t *testing.T) {
		got, err := s.ListGrantRevocations(t.Context(), "nope", t0)
		notFoundOrEmpty(t, "ListGrantRevocations(nope)", got, err)
	})
}
