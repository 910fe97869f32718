package storetest

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/internal/store"
)

func testPurge(t *testing.T, s store.Store) {
	// The fixtures' codes, refresh tokens and denylist entries live until
	// t0+48h; purging at t0+10m must keep them and everything else.
	alpha := newFixture("alpha", true)
	beta := newFixture("beta", false)
	createFixture(t, s, alpha)
	createFixture(t, s, beta)
	now := at(10 * time.Minute)
	ann, client := alpha.ann(), alpha.client

	expiredCode := mkAuthCode(t, s, "alpha", client.ID, ann.ID, at(time.Minute))
	liveCode := mkAuthCode(t, s, "alpha", client.ID, ann.ID, at(time.Hour))
	usedCode := mkAuthCode(t, s, "alpha", client.ID, ann.ID, at(time.Hour))
	usedAt := at(2 * time.Minute)
	_, err := s.UseAuthCode(t.Context(), "alpha", usedCode.Hash, usedAt)
	must(t, "UseAuthCode(usedCode)", err)
	betaExpiredCode := mkAuthCode(t, s, "beta", beta.client.ID, beta.ann().ID, at(time.Minute))

	// A refresh token whose family has expired goes. (One past its own
	// idle expiry in a live family may stay until the family expires, to
	// catch a replay: the contract leaves it open, so it is not tested.)
	expiredRefresh := func(team, clientID, userID string) store.RefreshToken {
		r := store.RefreshToken{
			Team: team, Hash: []byte("expired " + uuid.NewString()), FamilyID: uuid.NewString(),
			ClientID: clientID, UserID: userID, CreatedAt: t0,
			ExpiresAt: at(time.Minute), FamilyExpiresAt: at(2 * time.Minute),
		}
		must(t, "create refresh token", s.CreateRefreshToken(t.Context(), r))
		return r
	}
	alphaExpiredRefresh := expiredRefresh("alpha", client.ID, ann.ID)
	liveRefresh := mkRefresh(t, s, "alpha", uuid.NewString(), client.ID, ann.ID, at(time.Hour))
	revokedRefresh := mkRefresh(t, s, "alpha", uuid.NewString(), client.ID, ann.ID, at(time.Hour))
	must(t, "RevokeRefreshFamily", s.RevokeRefreshFamily(t.Context(), "alpha", revokedRefresh.FamilyID, at(3*time.Minute)))
	revokedRefresh.RevokedAt = ptr(at(3 * time.Minute))
	betaExpiredRefresh := expiredRefresh("beta", beta.client.ID, beta.ann().ID)

	mkRevoked(t, s, "alpha", at(time.Minute)) // expired
	alpha.revoked = append(alpha.revoked, mkRevoked(t, s, "alpha", at(time.Hour)))
	mkRevoked(t, s, "beta", at(time.Minute)) // expired

	cutoff := func(team, userID, clientID string, expiresAt time.Time) store.GrantRevocation {
		r := store.GrantRevocation{Team: team, UserID: userID, ClientID: clientID, RevokedAt: t0, ExpiresAt: expiresAt}
		must(t, "RevokeGrant", s.RevokeGrant(t.Context(), r))
		return r
	}
	cutoff("alpha", uuid.NewString(), client.ID, at(time.Minute)) // expired
	alpha.cutoffs = append(alpha.cutoffs, cutoff("alpha", uuid.NewString(), client.ID, at(time.Hour)))
	cutoff("beta", uuid.NewString(), beta.client.ID, at(time.Minute)) // expired

	must(t, "Purge", s.Purge(t.Context(), now))

	t.Run("authCodes", func(t *testing.T) {
		for _, c := range []store.AuthCode{expiredCode, betaExpiredCode} {
			_, err := s.UseAuthCode(t.Context(), c.Team, c.Hash, now)
			wantErr(t, "UseAuthCode(expired, purged code of "+c.Team+")", err, store.ErrNotFound)
		}
		got, err := s.UseAuthCode(t.Context(), "alpha", liveCode.Hash, now)
		if wantErr(t, "UseAuthCode(live code)", err, nil) {
			diff(t, "UseAuthCode(live code)", liveCode, got, opts)
		}
		// A used code is kept until it expires, so that a replay is seen.
		got, err = s.UseAuthCode(t.Context(), "alpha", usedCode.Hash, now)
		wantErr(t, "UseAuthCode(used code)", err, store.ErrConflict)
		usedCode.UsedAt = &usedAt
		diff(t, "UseAuthCode(used code)", usedCode, got, opts)
	})
	t.Run("refreshTokens", func(t *testing.T) {
		for _, r := range []store.RefreshToken{alphaExpiredRefresh, betaExpiredRefresh} {
			_, err := s.RefreshToken(t.Context(), r.Team, r.Hash)
			wantErr(t, "RefreshToken(expired, purged token of "+r.Team+")", err, store.ErrNotFound)
		}
		for _, r := range []store.RefreshToken{liveRefresh, revokedRefresh} {
			got, err := s.RefreshToken(t.Context(), "alpha", r.Hash)
			if wantErr(t, "RefreshToken(live)", err, nil) {
				diff(t, "RefreshToken(live)", r, got, opts)
			}
		}
	})
	t.Run("revokedTokens", func(t *testing.T) {
		// Listed as of t0, before any expiry: only the purge can hide one.
		got, err := s.ListRevokedTokens(t.Context(), "alpha", t0)
		if wantErr(t, "ListRevokedTokens(alpha)", err, nil) {
			diff(t, "ListRevokedTokens(alpha)", alpha.revoked, got, opts)
		}
		got, err = s.ListRevokedTokens(t.Context(), "beta", t0)
		if wantErr(t, "ListRevokedTokens(beta)", err, nil) {
			diff(t, "ListRevokedTokens(beta)", beta.revoked, got, opts)
		}
	})
	t.Run("grantRevocations", func(t *testing.T) {
		// Listed as of t0, before any expiry: only the purge can hide one.
		for _, f := range []fixture{alpha, beta} {
			got, err := s.ListGrantRevocations(t.Context(), f.team.Name, t0)
			if wantErr(t, "ListGrantRevocations("+f.team.Name+")", err, nil) {
				diff(t, "ListGrantRevocations("+f.team.Name+")", f.cutoffs, got, opts)
			}
		}
	})
	t.Run("restUntouched", func(t *testing.T) {
		checkFixture(t, s, alpha)
		checkFixture(t, s, beta)
	})
	t.Run("again", func(t *testing.T) {
		must(t, "Purge again", s.Purge(t.Context(), now))
		checkFixture(t, s, beta)
	})
}
