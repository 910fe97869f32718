package signing

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/lifecycle"
	"github.com/gatehouse/gatehouse/internal/store"
)

// RotationCheckInterval is how often RunRotation looks for keys due.
const RotationCheckInterval = time.Minute

// Rotate publishes a new key of alg ("": the default) for the team, which
// signs from now + PublishAhead, and retires every other key of alg at that
// instant (each stays published until its DeleteAfter, MaxTokenTTL +
// ClockSkew later). A team with no active key of alg gets one that signs at
// once. Each audit event given is written in the same transaction, with the
// new key's kid in its detail.
func (m *Manager) Rotate(ctx context.Context, team, alg string, audit ...store.AuditEvent) (KeyInfo, error) {
	alg, err := m.resolve(alg)
	if err != nil {
		return KeyInfo{}, err
	}
	priv, err := generate(alg)
	if err != nil {
		return KeyInfo{}, err
	}
	var rec store.SigningKey
	err = m.store.Tx(ctx, func(q store.Queries) error {
		if err := q.LockTeam(ctx, team); err != nil {
			return err
		}
		keys, err := q.ListSigningKeys(ctx, team)
		if err != nil {
			return err
		}
		rec, err = m.successor(ctx, q, team, alg, priv, keys, m.now().Truncate(time.Microsecond))
		if err != nil {
			return err
		}
		for _, ev := range audit {
			ev.Detail = map[string]string{"kid": rec.ID, "alg": alg, "activate_at": rec.ActivateAt.UTC().Format(time.RFC3339)}
			if err := q.AppendAudit(ctx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return KeyInfo{}, fmt.Errorf("rotate %s signing key of team %s: %w", alg, team, err)
	}
	m.invalidateTeam(team)
	m.log.Info("signing key rotated", "team", team, "kid", rec.ID, "alg", alg, "activate_at", rec.ActivateAt)
	return KeyInfo{ID: rec.ID, Alg: rec.Alg, CreatedAt: rec.CreatedAt, ActivateAt: rec.ActivateAt, CanSign: true}, nil
}

// successor creates the next key of alg, given the team's keys as listed
// in q's transaction: it signs from now + PublishAhead (from now if no key
// of alg is active), and every other key of alg retires then.
func (m *Manager) successor(ctx context.Context, q store.Queries, team, alg string, priv crypto.Signer, keys []store.SigningKey, now time.Time) (store.SigningKey, error) {
	activate := now.Add(m.publishAhead)
	if activeRecord(keys, alg, now) == nil {
		activate = now
	}
	kid, err := m.gen.UUID()
	if err != nil {
		return store.SigningKey{}, err
	}
	rec, err := newRecord(m.mk, team, kid, alg, priv, now, activate)
	if err != nil {
		return store.SigningKey{}, err
	}
	if err := q.CreateSigningKey(ctx, rec); err != nil {
		return store.SigningKey{}, err
	}
	for _, k := range keys {
		if k.Alg != alg || (k.RetiredAt != nil && !k.RetiredAt.After(activate)) {
			continue
		}
		if err := q.RetireSigningKey(ctx, team, k.ID, activate, m.deleteAfter(activate)); err != nil {
			return store.SigningKey{}, err
		}
	}
	return rec, nil
}

// deleteAfter is when a key retired at retired leaves the JWKS.
func (m *Manager) deleteAfter(retired time.Time) time.Time {
	return retired.Add(m.maxTokenTTL + ClockSkew)
}

// due reports whether the active key of alg must be rotated at now: it is
// older than Rotation - PublishAhead (so that its successor, published
// PublishAhead ahead, signs when it reaches Rotation) and no successor is
// already waiting.
func (m *Manager) due(keys []store.SigningKey, alg string, now time.Time) bool {
	if m.rotation <= 0 {
		return false
	}
	cur := activeRecord(keys, alg, now)
	if cur == nil {
		return false
	}
	for _, k := range keys {
		if k.Alg == alg && k.ActivateAt.After(now) && (k.RetiredAt == nil || k.RetiredAt.After(k.ActivateAt)) {
			return false
		}
	}
	return now.Sub(cur.ActivateAt) >= m.rotation-m.publishAhead
}

// superseded lists the keys of alg that could sign at now but lost to the
// active key: the keys that nodes racing to make a first key or a successor
// made in vain. They may have signed a few tokens before their node heard
// of the winner, so they retire now and stay published for MaxTokenTTL.
func superseded(keys []store.SigningKey, alg string, now time.Time) []store.SigningKey {
	cur := activeRecord(keys, alg, now)
	if cur == nil {
		return nil
	}
	var out []store.SigningKey
	for _, k := range keys {
		if k.Alg == alg && k.ID != cur.ID && !k.ActivateAt.After(now) && (k.RetiredAt == nil || k.RetiredAt.After(now)) {
			out = append(out, k)
		}
	}
	return out
}

// RotateDue does one round of housekeeping for every team: it rotates each
// team's active key of the team's algorithm (its SigningAlg setting, else
// the manager's default) and of the algorithms Options.InUse names when
// due, retires due keys of other algorithms instead of rotating them,
// retires superseded keys, and deletes keys past their DeleteAfter. It goes
// on past a team's error and returns them all.
func (m *Manager) RotateDue(ctx context.Context) error {
	teams, err := m.store.ListTeams(ctx)
	if err != nil {
		return fmt.Errorf("rotate signing keys: %w", err)
	}
	var errs []error
	for _, t := range teams {
		if err := m.housekeep(ctx, t); err != nil {
			errs = append(errs, err)
		}
		if ctx.Err() != nil {
			break
		}
	}
	return errors.Join(errs...)
}

// housekeep does RotateDue's work for one team. It decides on the cached
// keys, so that a round costs no database read when nothing is to be done,
// and then does the work in a transaction on fresh rows.
func (m *Manager) housekeep(ctx context.Context, t store.Team) error {
	now := m.now()
	r, err := m.ring(ctx, t.Name)
	if err != nil {
		return err
	}
	teamAlg := t.Settings.SigningAlg
	if teamAlg == "" {
		teamAlg = m.alg
	}
	var errs []error
	recs := make([]store.SigningKey, 0, len(r.keys))
	var algs []string
	for _, k := range r.keys {
		if !k.deleteAfter.IsZero() && !now.Before(k.deleteAfter) {
			if err := m.store.DeleteSigningKey(ctx, t.Name, k.id); err != nil && !errors.Is(err, store.ErrNotFound) {
				errs = append(errs, fmt.Errorf("delete expired signing key %s of team %s: %w", k.id, t.Name, err))
			}
			continue
		}
		recs = append(recs, k.record())
		if !slices.Contains(algs, k.alg) {
			algs = append(algs, k.alg)
		}
	}
	var used []string // InUse's answer, asked at most once
	asked := false
	for _, alg := range algs {
		due := m.due(recs, alg, now)
		if !due && len(superseded(recs, alg, now)) == 0 {
			continue
		}
		inUse := alg == teamAlg
		if !inUse && due && m.inUse != nil {
			if !asked {
				if used, err = m.inUse(ctx, t.Name); err != nil {
					errs = append(errs, fmt.Errorf("rotate signing keys of team %s: algorithms in use: %w", t.Name, err))
					continue
				}
				asked = true
			}
			inUse = slices.Contains(used, alg)
		}
		if err := m.tend(ctx, t.Name, alg, inUse); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// tend, in one transaction on fresh rows, retires the superseded keys of
// alg and, when due, rotates the active key or, if the team no longer signs
// with alg (inUse false), retires it: a later need makes a fresh key.
// Nodes tending at once do the work once.
func (m *Manager) tend(ctx context.Context, team, alg string, inUse bool) error {
	var did []any
	err := m.store.Tx(ctx, func(q store.Queries) error {
		if err := q.LockTeam(ctx, team); err != nil {
			return err
		}
		did = did[:0]
		keys, err := q.ListSigningKeys(ctx, team)
		if err != nil {
			return err
		}
		now := m.now().Truncate(time.Microsecond)
		for _, k := range superseded(keys, alg, now) {
			if err := q.RetireSigningKey(ctx, team, k.ID, now, m.deleteAfter(now)); err != nil {
				return err
			}
			did = append(did, "superseded", k.ID)
		}
		if !m.due(keys, alg, now) {
			return nil
		}
		if !inUse {
			cur := activeRecord(keys, alg, now)
			did = append(did, "unused", cur.ID)
			return q.RetireSigningKey(ctx, team, cur.ID, now, m.deleteAfter(now))
		}
		priv, err := generate(alg)
		if err != nil {
			return err
		}
		rec, err := m.successor(ctx, q, team, alg, priv, keys, now)
		did = append(did, "successor", rec.ID, "activate_at", rec.ActivateAt)
		return err
	})
	if err != nil {
		return fmt.Errorf("rotate %s signing keys of team %s: %w", alg, team, err)
	}
	if len(did) > 0 {
		m.invalidateTeam(team)
		m.log.Info("signing keys rotated", append([]any{"team", team, "alg", alg}, did...)...)
	}
	return nil
}

// record is the key's store record without its key material.
func (k *key) record() store.SigningKey {
	rec := store.SigningKey{ID: k.id, Alg: k.alg, CreatedAt: k.created, ActivateAt: k.activateAt}
	if !k.retiredAt.IsZero() {
		t := k.retiredAt
		rec.RetiredAt = &t
	}
	if !k.deleteAfter.IsZero() {
		t := k.deleteAfter
		rec.DeleteAfter = &t
	}
	return rec
}

// RunRotation calls RotateDue now and every RotationCheckInterval until ctx
// ends, logging failures. Every node may run it: the transactions make
// concurrent rounds rotate once.
func (m *Manager) RunRotation(ctx context.Context) {
	lifecycle.Every(ctx, RotationCheckInterval, true, func(ctx context.Context) {
		if err := m.RotateDue(ctx); err != nil && ctx.Err() == nil {
			m.log.Error("signing key rotation failed", "err", err)
		}
	})
}

// RotateFor is Rotate as an administrative change by a: the team must
// exist, alg "" takes the team's setting (then the server's), and the
// audit event "signing-key.rotate" is written with the new key.
func (m *Manager) RotateFor(ctx context.Context, a kernel.Actor, team, alg string) (KeyInfo, error) {
	if err := kernel.TeamExists(ctx, m.store, team); err != nil {
		return KeyInfo{}, err
	}
	if alg == "" {
		t, err := m.store.Team(ctx, team)
		if err != nil {
			return KeyInfo{}, err
		}
		alg = t.Settings.SigningAlg
	}
	if _, err := m.resolve(alg); err != nil {
		return KeyInfo{}, kernel.AsInvalidField("alg", fmt.Errorf("alg: %w (want ES384, ES256, EdDSA or RS256)", err))
	}
	return m.Rotate(ctx, team, alg, kernel.Event(a, m.now(), team, "signing-key.rotate", "team:"+team, nil))
}
