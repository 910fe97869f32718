package storetest

import (
	"fmt"
	"slices"
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
	_, err := s.UseAuthCode(t.Context(), "alpha", usedCode.ClientID, usedCode.Hash, usedAt)
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

	purgeExpired(t, s, now)

	t.Run("authCodes", func(t *testing.T) {
		for _, c := range []store.AuthCode{expiredCode, betaExpiredCode} {
			_, err := s.UseAuthCode(t.Context(), c.Team, c.ClientID, c.Hash, now)
			wantErr(t, "UseAuthCode(expired, purged code of "+c.Team+")", err, store.ErrNotFound)
		}
		got, err := s.UseAuthCode(t.Context(), "alpha", liveCode.ClientID, liveCode.Hash, now)
		if wantErr(t, "UseAuthCode(live code)", err, nil) {
			diff(t, "UseAuthCode(live code)", liveCode, got, opts)
		}
		// A used code is kept until it expires, so that a replay is seen.
		got, err = s.UseAuthCode(t.Context(), "alpha", usedCode.ClientID, usedCode.Hash, now)
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
		purgeExpired(t, s, now)
		checkFixture(t, s, beta)
	})
}

// expiryKinds are the kinds whose records carry their own expiry.
var expiryKinds = []store.PurgeKind{store.PurgeAuthCodes, store.PurgeRefreshTokens, store.PurgeRevokedTokens,
	store.PurgeGrantRevocations, store.PurgeClientSecrets, store.PurgeSigningKeys, store.PurgeChanges, store.PurgeSessions}

// purgeExpired purges every kind with its own expiry at now, one record
// per batch, as a purge loop would: again while a batch is full.
func purgeExpired(t *testing.T, s store.Store, now time.Time) {
	t.Helper()
	for _, kind := range expiryKinds {
		purgeAll(t, s, kind, now, 1)
	}
}

// purgeAll calls Purge until a batch is not full and returns how many
// records the batches deleted, checking that none deleted more than limit.
func purgeAll(t *testing.T, s store.Store, kind store.PurgeKind, before time.Time, limit int) int {
	t.Helper()
	total := 0
	for range 1000 {
		n, err := s.Purge(t.Context(), kind, before, limit)
		must(t, fmt.Sprintf("Purge(%s, limit %d)", kind, limit), err)
		if n < 0 || n > limit {
			t.Fatalf("Purge(%s, limit %d) deleted %d", kind, limit, n)
		}
		total += n
		if n < limit {
			return total
		}
	}
	t.Fatalf("Purge(%s, limit %d) still deletes after 1000 batches", kind, limit)
	return total
}

// testPurgeHistory checks retention: audit events and login history older
// than the cut-off go, batch by batch, in every team and the server-wide
// log, and nothing newer nor of the other history does.
func testPurgeHistory(t *testing.T, s store.Store) {
	for _, team := range []string{"alpha", "beta"} {
		mkTeam(t, s, team)
		must(t, "AppendAudit("+team+")", s.AppendAudit(t.Context(), auditEvents(team)...))
		for _, e := range loginEvents(team) {
			must(t, "AppendLogin("+team+")", s.AppendLogin(t.Context(), e))
		}
	}
	// Server-wide events (team creation and deletion) belong to team "".
	must(t, "AppendAudit(server-wide)", s.AppendAudit(t.Context(), auditEvents("")...))

	// Events are one an hour from t0+1h: the cut-off at t0+4h takes
	// three of each list, and the event just after it stays.
	cut := at(4 * time.Hour)
	if got := purgeAll(t, s, store.PurgeAuditEvents, cut, 2); got != 9 {
		t.Errorf("Purge(audit events before t0+4h) deleted %d in all, want 9 (3 of alpha, beta and the server-wide log)", got)
	}
	for _, team := range []string{"alpha", "beta", ""} {
		got, _, err := s.ListAudit(t.Context(), team, store.AuditFilter{}, store.Page{Limit: 100})
		must(t, "ListAudit("+team+")", err)
		want := auditEvents(team)[3:]
		slices.Reverse(want)
		diff(t, fmt.Sprintf("ListAudit(%q) after the purge", team), want, got, eventOpts)
	}
	// The audit purge left every login event.
	for _, team := range []string{"alpha", "beta"} {
		got, _, err := s.ListLogins(t.Context(), team, store.LoginFilter{}, store.Page{Limit: 100})
		must(t, "ListLogins("+team+")", err)
		if len(got) != len(loginEvents(team)) {
			t.Errorf("ListLogins(%s) after the audit purge: %d events, want %d", team, len(got), len(loginEvents(team)))
		}
	}

	if got := purgeAll(t, s, store.PurgeLoginEvents, cut, 4); got != 6 {
		t.Errorf("Purge(login events before t0+4h) deleted %d in all, want 6 (3 of alpha and of beta)", got)
	}
	for _, team := range []string{"alpha", "beta"} {
		got, _, err := s.ListLogins(t.Context(), team, store.LoginFilter{}, store.Page{Limit: 100})
		must(t, "ListLogins("+team+")", err)
		want := loginEvents(team)[3:]
		slices.Reverse(want)
		diff(t, fmt.Sprintf("ListLogins(%q) after the purge", team), want, got, eventOpts)
	}
	// Purging again finds nothing; nor does a cut-off before everything.
	for _, kind := range []store.PurgeKind{store.PurgeAuditEvents, store.PurgeLoginEvents} {
		if n, err := s.Purge(t.Context(), kind, cut, 100); err != nil || n != 0 {
			t.Errorf("Purge(%s) again = %d, %v; want 0, nil", kind, n, err)
		}
		if n, err := s.Purge(t.Context(), kind, t0, 100); err != nil || n != 0 {
			t.Errorf("Purge(%s, t0) = %d, %v; want 0, nil", kind, n, err)
		}
	}
}

// testPurgeBatch checks that a batch deletes exactly up to its bound, and
// that nonsense is refused.
func testPurgeBatch(t *testing.T, s store.Store) {
	mkTeam(t, s, "alpha")
	var events []store.AuditEvent
	for i := range 25 {
		events = append(events, store.AuditEvent{Team: "alpha", At: at(time.Duration(i) * time.Second), Actor: "cli",
			Action: "user.create", Target: fmt.Sprintf("user:%d@example.com", i)})
	}
	must(t, "AppendAudit", s.AppendAudit(t.Context(), events...))
	for i, want := range []int{10, 10, 5, 0} {
		n, err := s.Purge(t.Context(), store.PurgeAuditEvents, at(time.Hour), 10)
		if err != nil || n != want {
			t.Fatalf("Purge batch %d = %d, %v; want %d, nil", i+1, n, err, want)
		}
	}
	for _, tc := range []struct {
		kind  store.PurgeKind
		limit int
	}{{"no-such-kind", 10}, {store.PurgeAuditEvents, 0}, {store.PurgeAuditEvents, -1}, {store.PurgeAuditEvents, 1 << 30}} {
		_, err := s.Purge(t.Context(), tc.kind, at(time.Hour), tc.limit)
		wantErr(t, fmt.Sprintf("Purge(%q, limit %d)", tc.kind, tc.limit), err, store.ErrInvalid)
	}
	// Every kind is known to every backend.
	for _, kind := range store.PurgeKinds {
		if _, err := s.Purge(t.Context(), kind, t0, 10); err != nil {
			t.Errorf("Purge(%s): %v", kind, err)
		}
	}
}
