package denylist_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/internal/denylist"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/token"
)

// countingStore counts the denylist's reads.
type countingStore struct {
	store.Store
	lists, pairs atomic.Int64
}

func (s *countingStore) ListRevokedTokens(ctx context.Context, team string, now time.Time) ([]store.RevokedToken, error) {
	s.lists.Add(1)
	return s.Store.ListRevokedTokens(ctx, team, now)
}

func (s *countingStore) GrantRevocation(ctx context.Context, team, userID, clientID string, now time.Time) (store.GrantRevocation, error) {
	s.pairs.Add(1)
	return s.Store.GrantRevocation(ctx, team, userID, clientID, now)
}

func openStore(tb testing.TB, teams ...string) *countingStore {
	tb.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(tb.TempDir(), "gatehouse.db"), nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	for _, team := range teams {
		if err := st.CreateTeam(ctx, store.Team{Name: team, CreatedAt: time.Now()}); err != nil {
			tb.Fatal(err)
		}
	}
	return &countingStore{Store: st}
}

func clientToken(jti string) token.Claims {
	return token.Claims{Subject: "web", ClientID: "web", IssuedAt: time.Now().Truncate(time.Second), JTI: jti}
}

// A revocation, on this node or reported by another, adds its jti to the
// kept set: no reload, however many there are. A change that names no jti
// reloads.
func TestRevocationsDoNotReload(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, "acme", "beta")
	here := denylist.New(st, nil, nil)  // revokes
	there := denylist.New(st, nil, nil) // hears of it through its change
	unrelated := clientToken("unrelated")
	for _, l := range []*denylist.List{here, there} {
		if refused, err := l.Refused(ctx, "acme", unrelated); err != nil || refused {
			t.Fatalf("Refused = %v, %v before any revocation", refused, err)
		}
	}
	if n := st.lists.Load(); n != 2 {
		t.Fatalf("%d loads to warm two lists, want 2", n)
	}
	var jtis []string
	for range 1200 {
		jti := uuid.NewString()
		jtis = append(jtis, jti)
		if err := here.Revoke(ctx, "acme", jti, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		there.Invalidate(store.Change{Team: "acme", Kind: store.KindRevoked, Key: jti})
		for _, l := range []*denylist.List{here, there} {
			if refused, err := l.Refused(ctx, "acme", unrelated); err != nil || refused {
				t.Fatalf("an unrelated token: Refused = %v, %v", refused, err)
			}
		}
	}
	if n := st.lists.Load(); n != 2 {
		t.Fatalf("%d loads of the revoked set after 1,200 revocations, want still 2", n)
	}
	for _, l := range []*denylist.List{here, there} {
		for _, jti := range jtis {
			if refused, _ := l.Refused(ctx, "acme", clientToken(jti)); !refused {
				t.Fatalf("revoked %s not refused", jti)
			}
			if refused, _ := l.Refused(ctx, "beta", clientToken(jti)); refused {
				t.Fatalf("%s refused in another team", jti)
			}
		}
	}
	if n := st.lists.Load(); n != 4 {
		t.Fatalf("%d loads, want 4: one more for team beta on each list", n)
	}

	// Changes that name no jti reload what they cover.
	for _, tc := range []struct {
		c     store.Change
		loads int64 // of acme and beta, read again
	}{
		{store.Change{Team: "acme", Kind: store.KindRevoked}, 1},
		{store.Change{Team: "acme"}, 1},
		{store.Change{}, 2},
		{store.Change{Team: "acme", Kind: store.KindClient, Key: "x"}, 0},
	} {
		t.Run(fmt.Sprintf("%+v", tc.c), func(t *testing.T) {
			before := st.lists.Load()
			there.Invalidate(tc.c)
			for _, team := range []string{"acme", "beta"} {
				if _, err := there.Refused(ctx, team, unrelated); err != nil {
					t.Fatal(err)
				}
			}
			if got := st.lists.Load() - before; got != tc.loads {
				t.Errorf("%d reloads, want %d", got, tc.loads)
			}
		})
	}
}

// A cut-off drops its pair alone; a change naming no pair drops the team's.
func TestCutoffInvalidation(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, "acme", "beta")
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	l := denylist.New(st, func() time.Time { return now }, nil)
	users := []string{"ann", "bob", "cy"}
	check := func(team, user string) bool {
		t.Helper()
		refused, err := l.Refused(ctx, team, token.Claims{Subject: user, ClientID: "web", IssuedAt: now.Add(-time.Minute), JTI: "j"})
		if err != nil {
			t.Fatal(err)
		}
		return refused
	}
	warm := func() {
		for _, team := range []string{"acme", "beta"} {
			for _, u := range users {
				check(team, u)
			}
		}
	}
	warm()
	if n := st.pairs.Load(); n != 6 {
		t.Fatalf("%d pair reads, want 6", n)
	}
	for _, tc := range []struct {
		name  string
		c     store.Change
		reads int64
	}{
		{"keyed", denylist.CutoffChange("acme", "bob", "web"), 1},
		{"team-wide", store.Change{Team: "acme", Kind: store.KindGrantRevoked}, 3},
		{"everything", store.Change{}, 6},
		{"another kind", store.Change{Team: "acme", Kind: store.KindRevoked, Key: "another-jti"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := st.pairs.Load()
			l.Invalidate(tc.c)
			warm()
			if got := st.pairs.Load() - before; got != tc.reads {
				t.Errorf("%d pair reads, want %d", got, tc.reads)
			}
		})
	}
	// A cut-off written elsewhere applies once its change arrives.
	if err := st.RevokeGrant(ctx, denylist.GrantCutoff("acme", "cy", "web", now)); err != nil {
		t.Fatal(err)
	}
	if check("acme", "cy") {
		t.Fatal("the cached absence saw the write before its change")
	}
	l.Invalidate(denylist.CutoffChange("acme", "cy", "web"))
	if !check("acme", "cy") || check("acme", "ann") || check("beta", "cy") {
		t.Fatal("the cut-off applied to the wrong pairs")
	}
}

// BenchmarkRefusedAfterRevocations measures the check of an unrelated
// token before and after 10,000 revocations of its team, through the real
// store: the revocations reach the kept set in place, so the check costs
// the same (see BENCHMARKS.md).
func BenchmarkRefusedAfterRevocations(b *testing.B) {
	ctx := context.Background()
	st := openStore(b, "acme")
	here := denylist.New(st, nil, nil)
	there := denylist.New(st, nil, nil)
	unrelated := clientToken("unrelated")
	bench := func(l *denylist.List) func(b *testing.B) {
		return func(b *testing.B) {
			before := st.lists.Load()
			for b.Loop() {
				if refused, err := l.Refused(ctx, "acme", unrelated); err != nil || refused {
					b.Fatalf("Refused = %v, %v", refused, err)
				}
			}
			b.ReportMetric(float64(st.lists.Load()-before)/float64(b.N), "reloads/op")
		}
	}
	here.Refused(ctx, "acme", unrelated)
	there.Refused(ctx, "acme", unrelated)
	b.Run("before", bench(here))
	for range 10_000 {
		jti := uuid.NewString()
		if err := here.Revoke(ctx, "acme", jti, time.Now().Add(time.Hour)); err != nil {
			b.Fatal(err)
		}
		there.Invalidate(store.Change{Team: "acme", Kind: store.KindRevoked, Key: jti})
		here.Refused(ctx, "acme", unrelated)
		there.Refused(ctx, "acme", unrelated)
	}
	b.Run("after-10000", bench(here))
	b.Run("after-10000-other-node", bench(there))
	// Revocations still arriving: each check follows the change of one
	// more revocation (written by another node; the change alone is
	// replayed here, as the hub would deliver it).
	b.Run("after-10000-each-after-a-change", func(b *testing.B) {
		before := st.lists.Load()
		i := 0
		for b.Loop() {
			i++
			there.Invalidate(store.Change{Team: "acme", Kind: store.KindRevoked, Key: "more-" + strconv.Itoa(i)})
			if refused, err := there.Refused(ctx, "acme", unrelated); err != nil || refused {
				b.Fatalf("Refused = %v, %v", refused, err)
			}
		}
		b.ReportMetric(float64(st.lists.Load()-before)/float64(b.N), "reloads/op")
	})
}
