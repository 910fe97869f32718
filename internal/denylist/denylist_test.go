package denylist_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/denylist"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/token"
)

// Refused: a jti on the list, or a user-delegated token issued at or
// before its grant's cut-off; client-credentials tokens have no grant.
func TestRefused(t *testing.T) {
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "gatehouse.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, team := range []string{"acme", "beta"} {
		if err := st.CreateTeam(ctx, store.Team{Name: team, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Date(2026, 3, 1, 12, 0, 10, 500_000_000, time.UTC) // 12:00:10.5
	l := denylist.New(st, func() time.Time { return now }, nil)
	if err := l.Revoke(ctx, "acme", "revoked-jti", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := l.RevokeGrant(ctx, "acme", "ann", "web", now); err != nil {
		t.Fatal(err)
	}
	claims := func(sub, client string, iat time.Time, jti string) token.Claims {
		return token.Claims{Subject: sub, ClientID: client, IssuedAt: iat.Truncate(time.Second), JTI: jti}
	}
	for _, tc := range []struct {
		name string
		team string
		c    token.Claims
		want bool
	}{
		{"revoked jti", "acme", claims("web", "web", now, "revoked-jti"), true},
		{"revoked jti of another team", "beta", claims("web", "web", now, "revoked-jti"), false},
		{"user token before the cut-off", "acme", claims("ann", "web", now.Add(-time.Hour), "j1"), true},
		{"user token in the cut-off's second", "acme", claims("ann", "web", now, "j2"), true},
		{"user token after the cut-off", "acme", claims("ann", "web", now.Add(time.Second), "j3"), false},
		{"another user", "acme", claims("bob", "web", now.Add(-time.Hour), "j4"), false},
		{"another client", "acme", claims("ann", "cli", now.Add(-time.Hour), "j5"), false},
		{"another team", "beta", claims("ann", "web", now.Add(-time.Hour), "j6"), false},
		{"client credentials", "acme", claims("web", "web", now.Add(-time.Hour), "j7"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := l.Refused(ctx, tc.team, tc.c)
			if err != nil || got != tc.want {
				t.Errorf("Refused = %v, %v; want %v", got, err, tc.want)
			}
		})
	}

	// A cut-off written by another process reaches this list through
	// Invalidate (the change hub calls it).
	if err := st.RevokeGrant(ctx, denylist.GrantCutoff("acme", "bob", "web", now)); err != nil {
		t.Fatal(err)
	}
	bob := claims("bob", "web", now.Add(-time.Hour), "j8")
	if got, _ := l.Refused(ctx, "acme", bob); got {
		t.Fatal("the cached list saw a write before its change")
	}
	l.Invalidate(store.Change{Team: "acme", Kind: store.KindGrantRevoked, Key: "bob/web"})
	if got, _ := l.Refused(ctx, "acme", bob); !got {
		t.Error("the cut-off did not apply after its change")
	}
	// Cut-offs expire once every token they refuse has.
	later := denylist.New(st, func() time.Time { return now.Add(denylist.CutoffRetention + time.Second) }, nil)
	if got, _ := later.Refused(ctx, "acme", claims("ann", "web", now.Add(-time.Hour), "j9")); got {
		t.Error("an expired cut-off still refuses")
	}
}
