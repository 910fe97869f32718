package storetest

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// LockTeam serializes read-then-write transactions on one team: of several
// concurrent "make the first signing key unless there is one", exactly one
// makes it. It finds no missing team, and locks only its own team.
func testLockTeam(t *testing.T, s store.Store) {
	ctx := context.Background()
	mkTeam(t, s, "alpha")
	mkTeam(t, s, "beta")

	if err := s.Tx(ctx, func(q store.Queries) error { return q.LockTeam(ctx, "nope") }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("LockTeam of a missing team: %v, want ErrNotFound", err)
	}

	const writers = 6
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Go(func() {
			errs[i] = s.Tx(ctx, func(q store.Queries) error {
				if err := q.LockTeam(ctx, "alpha"); err != nil {
					return err
				}
				keys, err := q.ListSigningKeys(ctx, "alpha")
				if err != nil || len(keys) > 0 {
					return err
				}
				time.Sleep(20 * time.Millisecond) // widen the race window
				return q.CreateSigningKey(ctx, store.SigningKey{Team: "alpha", ID: "k" + strconv.Itoa(i), Alg: "ES384",
					PublicJWK: []byte("{}"), PrivateSealed: []byte{1}, CreatedAt: t0, ActivateAt: t0})
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	keys, err := s.ListSigningKeys(ctx, "alpha")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 {
		t.Fatalf("%d first keys made under LockTeam, want exactly 1", len(keys))
	}
	if keys, _ := s.ListSigningKeys(ctx, "beta"); len(keys) != 0 {
		t.Fatalf("beta got alpha's key")
	}
}
