package outage

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// The session methods of store.Queries: each fails with Err while the
// store is cut, and passes the call on otherwise.

// CreateSession fails while the store is cut.
func (o *Store) CreateSession(ctx context.Context, s store.Session, keep int) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.CreateSession(ctx, s, keep)
}

// Session fails while the store is cut.
func (o *Store) Session(ctx context.Context, team string, hash []byte) (store.Session, error) {
	if err := o.down(); err != nil {
		return store.Session{}, err
	}
	return o.Store.Session(ctx, team, hash)
}

// ListSessions fails while the store is cut.
func (o *Store) ListSessions(ctx context.Context, team, userID string) ([]store.Session, error) {
	if err := o.down(); err != nil {
		return nil, err
	}
	return o.Store.ListSessions(ctx, team, userID)
}

// TouchSession fails while the store is cut.
func (o *Store) TouchSession(ctx context.Context, team string, hash []byte, at time.Time) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.TouchSession(ctx, team, hash, at)
}

// DeleteSession fails while the store is cut.
func (o *Store) DeleteSession(ctx context.Context, team string, hash []byte) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.DeleteSession(ctx, team, hash)
}

// DeleteUserSessions fails while the store is cut.
func (o *Store) DeleteUserSessions(ctx context.Context, team, userID string) (int, error) {
	if err := o.down(); err != nil {
		return 0, err
	}
	return o.Store.DeleteUserSessions(ctx, team, userID)
}
