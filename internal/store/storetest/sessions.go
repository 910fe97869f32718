package storetest

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/internal/store"
)

// mkSessionOf is a session of the user, created at created and expiring two
// days after t0.
func mkSessionOf(team, userID string, created time.Time) store.Session {
	return store.Session{Team: team, Hash: []byte("session " + uuid.NewString()), UserID: userID,
		CreatedAt: created, LastSeenAt: created, ExpiresAt: at(48 * time.Hour),
		IP: "192.0.2.7", UserAgent: "storetest/1.0"}
}

func testSessions(t *testing.T, s store.Store) {
	mkTeam(t, s, "alpha")
	mkTeam(t, s, "beta")
	ann := mkUser(t, s, "alpha", "ann@example.com")
	bob := mkUser(t, s, "alpha", "bob@example.com")
	betaAnn := mkUser(t, s, "beta", "ann@example.com")
	c := t.Context()

	create := func(t *testing.T, team, userID string, created time.Time, keep int) store.Session {
		t.Helper()
		sess := mkSessionOf(team, userID, created)
		must(t, "CreateSession", s.CreateSession(c, sess, keep))
		return sess
	}
	list := func(t *testing.T, team, userID string, want ...store.Session) {
		t.Helper()
		got, err := s.ListSessions(c, team, userID)
		if wantErr(t, "ListSessions", err, nil) {
			diff(t, "ListSessions("+team+", "+userID+")", want, got, opts)
		}
	}
	gone := func(t *testing.T, sess store.Session) {
		t.Helper()
		_, err := s.Session(c, sess.Team, sess.Hash)
		wantErr(t, "Session(deleted)", err, store.ErrNotFound)
	}

	a1 := create(t, "alpha", ann.ID, at(time.Minute), 0)
	a2 := create(t, "alpha", ann.ID, at(2*time.Minute), 0)
	b1 := create(t, "alpha", bob.ID, at(time.Minute), 0)
	beta1 := create(t, "beta", betaAnn.ID, at(time.Minute), 0)

	t.Run("Session", func(t *testing.T) {
		for _, want := range []store.Session{a1, a2, b1, beta1} {
			got, err := s.Session(c, want.Team, want.Hash)
			if wantErr(t, "Session", err, nil) {
				diff(t, "Session", want, got, opts)
			}
		}
		_, err := s.Session(c, "alpha", []byte("no such session"))
		wantErr(t, "Session(unknown)", err, store.ErrNotFound)
	})
	t.Run("ListSessions", func(t *testing.T) {
		list(t, "alpha", ann.ID, a2, a1) // newest first
		list(t, "alpha", bob.ID, b1)
		list(t, "alpha", uuid.NewString())
	})
	t.Run("CreateSession/duplicate", func(t *testing.T) {
		err := s.CreateSession(c, a1, 0)
		wantErr(t, "CreateSession(a1 again)", err, store.ErrAlreadyExists)
	})
	t.Run("CreateSession/unknownUser", func(t *testing.T) {
		err := s.CreateSession(c, mkSessionOf("alpha", uuid.NewString(), t0), 0)
		wantErr(t, "CreateSession(unknown user)", err, store.ErrNotFound)
	})
	t.Run("TouchSession", func(t *testing.T) {
		seen := at(time.Hour + time.Microsecond)
		must(t, "TouchSession", s.TouchSession(c, "alpha", a1.Hash, seen))
		a1.LastSeenAt = seen
		list(t, "alpha", ann.ID, a2, a1)
		err := s.TouchSession(c, "alpha", []byte("no such session"), seen)
		wantErr(t, "TouchSession(unknown)", err, store.ErrNotFound)
	})
	t.Run("CreateSession/keep", func(t *testing.T) {
		// Two more of ann's with room for three: the oldest, a1, goes.
		a3 := create(t, "alpha", ann.ID, at(3*time.Minute), 3)
		list(t, "alpha", ann.ID, a3, a2, a1)
		a4 := create(t, "alpha", ann.ID, at(4*time.Minute), 3)
		list(t, "alpha", ann.ID, a4, a3, a2)
		gone(t, a1)
		list(t, "alpha", bob.ID, b1)
		list(t, "beta", betaAnn.ID, beta1)
		// Room for one: only the new one stays.
		a5 := create(t, "alpha", ann.ID, at(5*time.Minute), 1)
		list(t, "alpha", ann.ID, a5)
		gone(t, a2)
		// Two sessions of ann's for the cases below.
		a1, a2 = a5, create(t, "alpha", ann.ID, at(6*time.Minute), 0)
	})
	t.Run("DeleteSession", func(t *testing.T) {
		must(t, "DeleteSession", s.DeleteSession(c, "alpha", a1.Hash))
		gone(t, a1)
		list(t, "alpha", ann.ID, a2)
		err := s.DeleteSession(c, "alpha", a1.Hash)
		wantErr(t, "DeleteSession again", err, store.ErrNotFound)
		a1 = create(t, "alpha", ann.ID, at(7*time.Minute), 0)
	})
	t.Run("DeleteUserSessions", func(t *testing.T) {
		n, err := s.DeleteUserSessions(c, "alpha", ann.ID)
		if wantErr(t, "DeleteUserSessions", err, nil) && n != 2 {
			t.Errorf("DeleteUserSessions deleted %d, want 2", n)
		}
		gone(t, a1)
		gone(t, a2)
		list(t, "alpha", ann.ID)
		list(t, "alpha", bob.ID, b1)
		list(t, "beta", betaAnn.ID, beta1)
		n, err = s.DeleteUserSessions(c, "alpha", ann.ID)
		if wantErr(t, "DeleteUserSessions again", err, nil) && n != 0 {
			t.Errorf("DeleteUserSessions again deleted %d, want 0", n)
		}
	})
	t.Run("UpdateUser", func(t *testing.T) {
		tests := []struct {
			name   string
			change func(u *store.User)
			ends   bool
		}{
			{"name", func(u *store.User) { u.Name = "Ann A." }, false},
			{"email", func(u *store.User) { u.Email = "ann.a@example.com" }, false},
			{"team admin", func(u *store.User) { u.TeamAdmin = !u.TeamAdmin }, false},
			{"password", func(u *store.User) { u.PasswordHash = "another hash" }, true},
			{"disabled", func(u *store.User) { u.Disabled = true }, true},
			{"enabled", func(u *store.User) { u.Disabled = false }, false},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				sess := create(t, "alpha", ann.ID, at(8*time.Minute), 0)
				tc.change(&ann)
				must(t, "UpdateUser", s.UpdateUser(c, ann))
				if tc.ends {
					gone(t, sess)
					list(t, "alpha", ann.ID)
				} else {
					list(t, "alpha", ann.ID, sess)
					must(t, "DeleteSession", s.DeleteSession(c, "alpha", sess.Hash))
				}
				list(t, "alpha", bob.ID, b1)
				list(t, "beta", betaAnn.ID, beta1)
			})
		}
	})
	t.Run("DeleteUser", func(t *testing.T) {
		sess := create(t, "alpha", ann.ID, at(9*time.Minute), 0)
		must(t, "DeleteUser", s.DeleteUser(c, "alpha", ann.ID))
		gone(t, sess)
		list(t, "alpha", bob.ID, b1)
		list(t, "beta", betaAnn.ID, beta1)
	})
	t.Run("Purge", func(t *testing.T) {
		expired := func(team, userID string) store.Session {
			sess := mkSessionOf(team, userID, t0)
			sess.ExpiresAt = at(time.Minute)
			must(t, "CreateSession", s.CreateSession(c, sess, 0))
			return sess
		}
		e1, e2 := expired("alpha", bob.ID), expired("beta", betaAnn.ID)
		if n := purgeAll(t, s, store.PurgeSessions, at(time.Hour), 1); n != 2 {
			t.Errorf("Purge(sessions) deleted %d, want 2", n)
		}
		gone(t, e1)
		gone(t, e2)
		list(t, "alpha", bob.ID, b1)
		list(t, "beta", betaAnn.ID, beta1)
	})
}
