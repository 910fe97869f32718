package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/internal/store"
)

// deliveryTime is how long the suite waits for a change: the contract says
// one second.
const deliveryTime = 2 * time.Second

// watcher runs Watch in a goroutine and hands out what it delivers.
type watcher struct {
	ch   chan store.Change
	stop context.CancelFunc
	done chan error
}

func startWatch(t *testing.T, s store.Store) *watcher {
	ctx, cancel := context.WithCancel(context.Background())
	w := &watcher{ch: make(chan store.Change, 4096), stop: cancel, done: make(chan error, 1)}
	go func() {
		w.done <- s.Watch(ctx, func(c store.Change) {
			select {
			case w.ch <- c:
			case <-ctx.Done():
			}
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-w.done:
		case <-time.After(10 * time.Second):
			t.Errorf("Watch did not return within 10s of its context's end")
		}
	})
	return w
}

// next waits up to d for a change that matches, and returns it with the
// changes it skipped on the way.
func (w *watcher) next(d time.Duration, match func(store.Change) bool) (store.Change, []store.Change, bool) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	var skipped []store.Change
	for {
		select {
		case c := <-w.ch:
			if match(c) {
				return c, skipped, true
			}
			skipped = append(skipped, c)
		case err := <-w.done:
			w.done <- err
			return store.Change{}, skipped, false
		case <-timer.C:
			return store.Change{}, skipped, false
		}
	}
}

// drain discards the changes delivered so far.
func (w *watcher) drain() {
	for {
		select {
		case <-w.ch:
		default:
			return
		}
	}
}

// changeOf matches a change of one of wants; a want with an empty Key
// matches any key of its team and kind. A change with an empty Kind or Key
// (widened: "every kind", "every record of the kind") matches only a want
// that says so: for records with a natural key (team name, user ID, group,
// app, client ID, key ID, kid, jti) the suite asks for the change of that
// one record, so that a cache can drop just it.
func changeOf(wants ...store.Change) func(store.Change) bool {
	return func(c store.Change) bool {
		for _, w := range wants {
			if c.Team == w.Team && c.Kind == w.Kind && (w.Key == "" || c.Key == w.Key) {
				return true
			}
		}
		return false
	}
}

func describe(chs []store.Change) string {
	if len(chs) == 0 {
		return " none"
	}
	var b strings.Builder
	for _, c := range chs {
		fmt.Fprintf(&b, "\n\t%+v", c)
	}
	return b.String()
}

func testWatch(t *testing.T, s store.Store) {
	mkTeam(t, s, "alpha")
	// Refresh tokens for the revocations below, made before the watch.
	rtUser := mkUser(t, s, "alpha", "rt@example.com")
	rtClient := mkClient(t, s, "alpha", "rt")
	family := mkRefresh(t, s, "alpha", uuid.NewString(), rtClient.ID, rtUser.ID, at(time.Hour)).FamilyID
	mkRefresh(t, s, "alpha", uuid.NewString(), rtClient.ID, rtUser.ID, at(time.Hour))
	w := startWatch(t, s)

	// Watch gives no sign that it has started: write until a change comes
	// through, to know that the writes below happen after the start.
	ready := false
	var seen []store.Change
	for i := 0; i < 40 && !ready; i++ {
		mkApp(t, s, "alpha", fmt.Sprintf("sync-%d", i))
		var skipped []store.Change
		_, skipped, ready = w.next(250*time.Millisecond, changeOf(store.Change{Team: "alpha", Kind: store.KindApp}))
		seen = append(seen, skipped...)
	}
	if !ready {
		select {
		case err := <-w.done:
			t.Fatalf("Watch returned early: %v", err)
		default:
		}
		t.Fatalf("Watch delivered no change of CreateApp in 10s of writes; it delivered:%s", describe(seen))
	}

	c := t.Context()
	ann := store.User{Team: "alpha", ID: uuid.NewString(), Email: "ann@example.com", CreatedAt: t0}
	client := store.Client{Team: "alpha", ID: uuid.NewString(), Name: "web", GrantTypes: []string{"client_credentials"}, AuthMethod: "client_secret_basic", CreatedAt: t0}
	key := store.StaticKey{Team: "alpha", ID: uuid.NewString(), Kind: store.KeyKindUser, Owner: ann.ID, Hash: []byte("h"), CreatedAt: t0}
	perm := store.Permission{Team: "alpha", Principal: "user:ann@example.com", Action: "read", Resource: "audit-log", CreatedAt: t0}
	consent := store.Consent{Team: "alpha", UserID: ann.ID, ClientID: client.ID, Scopes: []string{"a"}, CreatedAt: t0, UpdatedAt: t0}
	sk := store.SigningKey{Team: "alpha", ID: uuid.NewString(), Alg: "ES384", PublicJWK: []byte(`{}`), PrivateSealed: []byte("p"), CreatedAt: t0, ActivateAt: t0}
	jti := uuid.NewString()

	ch := func(team, kind, key string) store.Change { return store.Change{Team: team, Kind: kind, Key: key} }
	userCh := ch("alpha", store.KindUser, ann.ID)
	groupCh := ch("alpha", store.KindGroup, "ops")
	clientCh := ch("alpha", store.KindClient, client.ID)
	keyCh := ch("alpha", store.KindKey, key.ID)
	signingKeyCh := ch("alpha", store.KindSigningKey, sk.ID)
	// The contract names no key for these kinds: any key will do.
	permCh := ch("alpha", store.KindPermission, "")
	consentCh := ch("alpha", store.KindConsent, "")
	refreshCh := ch("alpha", store.KindRefresh, "")
	sessionCh := ch("alpha", store.KindSession, ann.ID)
	tests := []struct {
		name  string
		want  []store.Change // any one of them
		write func(t *testing.T) error
	}{
		{"CreateTeam", []store.Change{ch("gamma", store.KindTeam, "gamma")}, func(t *testing.T) error {
			return s.CreateTeam(c, store.Team{Name: "gamma", CreatedAt: t0})
		}},
		{"UpdateTeamSettings", []store.Change{ch("alpha", store.KindTeam, "alpha")}, func(t *testing.T) error {
			return s.UpdateTeamSettings(c, "alpha", store.TeamSettings{SigningAlg: "ES256"})
		}},
		{"CreateUser", []store.Change{userCh}, func(t *testing.T) error {
			return s.CreateUser(c, ann)
		}},
		{"CreateGroup", []store.Change{groupCh}, func(t *testing.T) error {
			return s.CreateGroup(c, store.Group{Team: "alpha", Name: "ops", CreatedAt: t0})
		}},
		{"AddGroupMember", []store.Change{groupCh, userCh}, func(t *testing.T) error {
			return s.AddGroupMember(c, "alpha", "ops", ann.ID)
		}},
		{"UpdateGroup", []store.Change{groupCh}, func(t *testing.T) error {
			return s.UpdateGroup(c, "alpha", "ops", store.Group{Name: "ops", ExternalID: "ext", UpdatedAt: t0})
		}},
		{"UpdateGroup/rename", []store.Change{ch("alpha", store.KindGroup, "renamed"), ch("alpha", store.KindGroup, "ops2"), permCh}, func(t *testing.T) error {
			must(t, "CreateGroup(ops2)", s.CreateGroup(c, store.Group{Team: "alpha", Name: "renamed", CreatedAt: t0}))
			return s.UpdateGroup(c, "alpha", "renamed", store.Group{Name: "ops2", UpdatedAt: t0})
		}},
		{"UpdateUser", []store.Change{userCh}, func(t *testing.T) error {
			u := ann
			u.Name = "Ann"
			return s.UpdateUser(c, u)
		}},
		{"DeleteSession", []store.Change{sessionCh}, func(t *testing.T) error {
			sess := mkSessionOf("alpha", ann.ID, t0)
			must(t, "CreateSession", s.CreateSession(c, sess, 0))
			return s.DeleteSession(c, "alpha", sess.Hash)
		}},
		{"CreateSession/evicting", []store.Change{sessionCh}, func(t *testing.T) error {
			must(t, "CreateSession", s.CreateSession(c, mkSessionOf("alpha", ann.ID, t0), 0))
			return s.CreateSession(c, mkSessionOf("alpha", ann.ID, at(time.Second)), 1)
		}},
		{"DeleteUserSessions", []store.Change{sessionCh}, func(t *testing.T) error {
			_, err := s.DeleteUserSessions(c, "alpha", ann.ID)
			return err
		}},
		{"UpdateUser/password", []store.Change{sessionCh}, func(t *testing.T) error {
			must(t, "CreateSession", s.CreateSession(c, mkSessionOf("alpha", ann.ID, t0), 0))
			u := ann
			u.Name, u.PasswordHash = "Ann", "new hash"
			return s.UpdateUser(c, u)
		}},
		{"CreateApp", []store.Change{ch("alpha", store.KindApp, "billing")}, func(t *testing.T) error {
			return s.CreateApp(c, store.Application{Team: "alpha", Name: "billing", CreatedAt: t0})
		}},
		{"CreateClient", []store.Change{clientCh}, func(t *testing.T) error {
			return s.CreateClient(c, client)
		}},
		{"AddClientSecret", []store.Change{clientCh}, func(t *testing.T) error {
			return s.AddClientSecret(c, "alpha", client.ID, mkSecret("w"), nil)
		}},
		{"CreateKey", []store.Change{keyCh}, func(t *testing.T) error {
			return s.CreateKey(c, key)
		}},
		{"GrantPermission", []store.Change{permCh}, func(t *testing.T) error {
			return s.GrantPermission(c, perm)
		}},
		{"UpdateClient", []store.Change{clientCh}, func(t *testing.T) error {
			cl := client
			cl.Name = "web2"
			return s.UpdateClient(c, cl)
		}},
		{"SetKeyMigrated", []store.Change{keyCh}, func(t *testing.T) error {
			return s.SetKeyMigrated(c, "alpha", key.ID, client.ID)
		}},
		{"UpsertConsent", []store.Change{consentCh}, func(t *testing.T) error {
			return s.UpsertConsent(c, consent)
		}},
		{"CreateSigningKey", []store.Change{signingKeyCh}, func(t *testing.T) error {
			return s.CreateSigningKey(c, sk)
		}},
		{"RevokeToken", []store.Change{ch("alpha", store.KindRevoked, jti)}, func(t *testing.T) error {
			return s.RevokeToken(c, store.RevokedToken{Team: "alpha", JTI: jti, ExpiresAt: time.Now().Add(time.Hour)})
		}},
		{"RevokeGrant", []store.Change{ch("alpha", store.KindGrantRevoked, rtUser.ID+"/"+rtClient.ID)}, func(t *testing.T) error {
			return s.RevokeGrant(c, store.GrantRevocation{Team: "alpha", UserID: rtUser.ID, ClientID: rtClient.ID,
				RevokedAt: t0, ExpiresAt: time.Now().Add(time.Hour)})
		}},
		{"RevokePermission", []store.Change{permCh}, func(t *testing.T) error {
			return s.RevokePermission(c, perm)
		}},
		{"RetireSigningKey", []store.Change{signingKeyCh}, func(t *testing.T) error {
			return s.RetireSigningKey(c, "alpha", sk.ID, t0, t0)
		}},
		{"RevokeRefreshFamily", []store.Change{refreshCh}, func(t *testing.T) error {
			return s.RevokeRefreshFamily(c, "alpha", family, t0)
		}},
		{"RevokeRefreshTokensOf", []store.Change{refreshCh}, func(t *testing.T) error {
			return s.RevokeRefreshTokensOf(c, "alpha", rtUser.ID, rtClient.ID, t0)
		}},
		{"DeleteConsent", []store.Change{consentCh}, func(t *testing.T) error {
			return s.DeleteConsent(c, "alpha", ann.ID, client.ID)
		}},
		{"DeleteKey", []store.Change{keyCh}, func(t *testing.T) error {
			return s.DeleteKey(c, "alpha", key.ID)
		}},
		{"DeleteClient", []store.Change{clientCh}, func(t *testing.T) error {
			return s.DeleteClient(c, "alpha", client.ID)
		}},
		{"DeleteApp", []store.Change{ch("alpha", store.KindApp, "billing")}, func(t *testing.T) error {
			return s.DeleteApp(c, "alpha", "billing")
		}},
		{"RemoveGroupMember", []store.Change{groupCh, userCh}, func(t *testing.T) error {
			return s.RemoveGroupMember(c, "alpha", "ops", ann.ID)
		}},
		{"DeleteGroup", []store.Change{groupCh}, func(t *testing.T) error {
			return s.DeleteGroup(c, "alpha", "ops")
		}},
		{"DeleteUser", []store.Change{userCh}, func(t *testing.T) error {
			return s.DeleteUser(c, "alpha", ann.ID)
		}},
		{"DeleteSigningKey", []store.Change{signingKeyCh}, func(t *testing.T) error {
			return s.DeleteSigningKey(c, "alpha", sk.ID)
		}},
		{"CountFailure", []store.Change{ch("alpha", store.KindFailures, "account:ann@example.com")}, func(t *testing.T) error {
			_, _, err := s.CountFailure(c, "alpha", "account:ann@example.com", t0, time.Minute, 0)
			return err
		}},
		{"UncountFailure", []store.Change{ch("alpha", store.KindFailures, "account:ann@example.com")}, func(t *testing.T) error {
			return s.UncountFailure(c, "alpha", "account:ann@example.com", t0)
		}},
		{"CountFailure/server-wide", []store.Change{ch("", store.KindFailures, "ip:192.0.2.1")}, func(t *testing.T) error {
			_, _, err := s.CountFailure(c, "", "ip:192.0.2.1", t0, time.Minute, 0)
			return err
		}},
		// Deleting a team may announce it as "everything of the team".
		{"DeleteTeam", []store.Change{ch("gamma", store.KindTeam, "gamma"), ch("gamma", "", "")}, func(t *testing.T) error {
			return s.DeleteTeam(c, "gamma")
		}},
		{"Tx", []store.Change{ch("alpha", store.KindApp, "in-tx")}, func(t *testing.T) error {
			return s.Tx(c, func(q store.Queries) error {
				return q.CreateApp(c, store.Application{Team: "alpha", Name: "in-tx", CreatedAt: t0})
			})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w.drain()
			start := time.Now()
			if err := tc.write(t); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if _, skipped, ok := w.next(deliveryTime, changeOf(tc.want...)); !ok {
				t.Errorf("%s: no change like %+v within %v of the write; delivered:%s", tc.name, tc.want, deliveryTime, describe(skipped))
			} else if d := time.Since(start); d > time.Second {
				t.Logf("%s: the change came after %v", tc.name, d)
			}
		})
	}

	t.Run("rollback", func(t *testing.T) {
		w.drain()
		ghost := store.User{Team: "alpha", ID: uuid.NewString(), Email: "ghost@example.com", CreatedAt: t0}
		err := s.Tx(c, func(q store.Queries) error {
			must(t, "CreateApp(ghost)", q.CreateApp(c, store.Application{Team: "alpha", Name: "ghost", CreatedAt: t0}))
			must(t, "CreateUser(ghost)", q.CreateUser(c, ghost))
			must(t, "CreateTeam(ghost)", q.CreateTeam(c, store.Team{Name: "ghost", CreatedAt: t0}))
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatalf("Tx: error = %v, want %v", err, errRollback)
		}
		// Changes come in commit order: once a later write's change is in,
		// a change of the rolled-back writes would have come before it.
		mkApp(t, s, "alpha", "after-ghost")
		_, skipped, ok := w.next(deliveryTime, changeOf(store.Change{Team: "alpha", Kind: store.KindApp, Key: "after-ghost"}))
		if !ok {
			t.Fatalf("no change of CreateApp(after-ghost) within %v; delivered:%s", deliveryTime, describe(skipped))
		}
		ghostly := changeOf(
			store.Change{Team: "alpha", Kind: store.KindApp, Key: "ghost"},
			store.Change{Team: "alpha", Kind: store.KindUser, Key: ghost.ID},
		)
		for _, c := range skipped {
			if ghostly(c) || c.Team == "ghost" {
				t.Errorf("Watch delivered %+v, a change of a rolled-back transaction", c)
			}
		}
	})
	t.Run("order", func(t *testing.T) {
		w.drain()
		mkApp(t, s, "alpha", "first")
		mkApp(t, s, "alpha", "second")
		got, skipped, ok := w.next(deliveryTime, changeOf(
			store.Change{Team: "alpha", Kind: store.KindApp, Key: "first"},
			store.Change{Team: "alpha", Kind: store.KindApp, Key: "second"},
		))
		switch {
		case !ok:
			t.Fatalf("no change of CreateApp(first) within %v; delivered:%s", deliveryTime, describe(skipped))
		case got.Key != "first":
			t.Errorf("first change delivered = %+v, want the change of the first write", got)
		}
	})
	t.Run("stop", func(t *testing.T) {
		w.stop()
		select {
		case err := <-w.done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("Watch returned %v after its context ended, want nil or context.Canceled", err)
			}
			w.done <- err // for the cleanup
		case <-time.After(5 * time.Second):
			t.Errorf("Watch did not return within 5s of its context's end")
		}
	})
}
