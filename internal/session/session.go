// Package session keeps the web UI's sign-in sessions on the server.
//
// A session's ID is 256 random bits. The browser holds it in a sealed
// cookie (internal/webui); the store holds only its keyed hash
// (secret.Hasher), so neither a copy of the database nor a log line can be
// turned into a signed-in browser. A session ends when it expires, when it
// is ended (sign-out, "sign out everywhere", an administrator), or when its
// user's password changes or the user is disabled or deleted: the store
// deletes the sessions in the transaction of that change.
//
// Every check reads the store (one lookup by primary key, as the user
// record the web UI reads with it): ending a session takes effect on every
// node at that node's next request, with no cache to invalidate and no
// change to wait for. While the store cannot answer, Live fails with an
// error that wraps store.ErrUnavailable and the web UI answers 503: a
// session is never taken on trust, so a node cut off from the database
// cannot keep serving one that was ended elsewhere (fail closed).
package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Defaults of a Service whose fields are zero.
const (
	// DefaultTTL is how long a session lives (--session-ttl).
	DefaultTTL = 12 * time.Hour
	// DefaultMaxPerUser bounds a user's live sessions: a new sign-in past
	// it ends the user's oldest session.
	DefaultMaxPerUser = 20
)

// TouchEvery is how stale a session's LastSeenAt may get: Live writes it
// at most this often per session, so that a signed-in browser does not
// cost a write per request.
const TouchEvery = time.Minute

// Store is what sessions are kept in (store.Store is one).
type Store interface {
	CreateSession(ctx context.Context, s store.Session, keep int) error
	Session(ctx context.Context, team string, hash []byte) (store.Session, error)
	ListSessions(ctx context.Context, team, userID string) ([]store.Session, error)
	TouchSession(ctx context.Context, team string, hash []byte, at time.Time) error
	DeleteSession(ctx context.Context, team string, hash []byte) error
	DeleteUserSessions(ctx context.Context, team, userID string) (int, error)
}

// Service starts, checks and ends sessions. Store and Hasher are required.
type Service struct {
	Store  Store
	Hasher *secret.Hasher
	Gen    secret.Generator
	Now    func() time.Time // nil: time.Now
	// TTL is a session's lifetime from its start (0: DefaultTTL).
	TTL time.Duration
	// MaxPerUser bounds a user's sessions (0: DefaultMaxPerUser).
	MaxPerUser int
	// Log gets at most one line a minute about last-seen times that could
	// not be written (nil: discarded).
	Log *slog.Logger

	mu       sync.Mutex
	lastWarn time.Time
}

// ErrNoSession is a session ID that names no live session: unknown, ended
// or expired. It wraps store.ErrNotFound.
var ErrNoSession = fmt.Errorf("no live session: %w", store.ErrNotFound)

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func (s *Service) ttl() time.Duration {
	if s.TTL <= 0 {
		return DefaultTTL
	}
	return s.TTL
}

func (s *Service) maxPerUser() int {
	if s.MaxPerUser <= 0 {
		return DefaultMaxPerUser
	}
	return s.MaxPerUser
}

// Start begins a session of the user and returns its ID, which only the
// user's browser may keep, and its record. The address and user agent it
// started from are kept, clipped, for the user's list of sessions. The
// user's oldest sessions past MaxPerUser end.
func (s *Service) Start(ctx context.Context, team, userID, ip, userAgent string) (secret.Secret, store.Session, error) {
	id, err := s.Gen.Token()
	if err != nil {
		return "", store.Session{}, fmt.Errorf("start session: %w", err)
	}
	now := s.now().UTC()
	rec := store.Session{Team: team, Hash: s.Hasher.Hash(id.Reveal()), UserID: userID,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.ttl()),
		IP: kernel.Clip(ip, kernel.MaxIP), UserAgent: kernel.Clip(userAgent, kernel.MaxUserAgent)}
	if err := s.Store.CreateSession(ctx, rec, s.maxPerUser()); err != nil {
		return "", store.Session{}, fmt.Errorf("start session: %w", err)
	}
	return id, rec, nil
}

// wellFormed tells whether id can be an ID that Start made, so that
// garbage costs no database read.
func wellFormed(id string) bool {
	if len(id) != secret.TokenLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Live returns the live session with ID id: ErrNoSession if there is
// none (never started, ended, expired), another error if the store could
// not tell. It records the use as LastSeenAt, at most once per TouchEvery;
// a failure to record it is logged, not returned.
func (s *Service) Live(ctx context.Context, team, id string) (store.Session, error) {
	if !wellFormed(id) {
		return store.Session{}, ErrNoSession
	}
	rec, err := s.Store.Session(ctx, team, s.Hasher.Hash(id))
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, ErrNoSession
	}
	if err != nil {
		return store.Session{}, fmt.Errorf("read session: %w", err)
	}
	now := s.now()
	if !now.Before(rec.ExpiresAt) {
		return store.Session{}, ErrNoSession
	}
	if now.Sub(rec.LastSeenAt) >= TouchEvery {
		switch err := s.Store.TouchSession(ctx, team, rec.Hash, now.UTC()); {
		case errors.Is(err, store.ErrNotFound):
			return store.Session{}, ErrNoSession // ended meanwhile
		case err != nil:
			s.warn("record a session's last use", err)
		default:
			rec.LastSeenAt = now.UTC()
		}
	}
	return rec, nil
}

// warn logs err at most once a minute.
func (s *Service) warn(what string, err error) {
	if s.Log == nil {
		return
	}
	now := s.now()
	s.mu.Lock()
	if !s.lastWarn.IsZero() && now.Sub(s.lastWarn) < time.Minute {
		s.mu.Unlock()
		return
	}
	s.lastWarn = now
	s.mu.Unlock()
	s.Log.Warn(what, "err", err)
}

// End ends the session with ID id. A session that has ended already is
// not an error: the outcome is the one asked for.
func (s *Service) End(ctx context.Context, team, id string) error {
	if !wellFormed(id) {
		return nil
	}
	err := s.Store.DeleteSession(ctx, team, s.Hasher.Hash(id))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// EndAll ends every session of the user and returns how many there were.
func (s *Service) EndAll(ctx context.Context, team, userID string) (int, error) {
	n, err := s.Store.DeleteUserSessions(ctx, team, userID)
	if err != nil {
		return 0, fmt.Errorf("end sessions: %w", err)
	}
	return n, nil
}

// List returns the user's live sessions, newest first.
func (s *Service) List(ctx context.Context, team, userID string) ([]store.Session, error) {
	all, err := s.Store.ListSessions(ctx, team, userID)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	now := s.now()
	live := all[:0]
	for _, rec := range all {
		if now.Before(rec.ExpiresAt) {
			live = append(live, rec)
		}
	}
	return live, nil
}
