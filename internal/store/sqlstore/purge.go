package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// purgeColumns are, per kind, the table and the time column before whose
// value a record has expired. Each column has an index (migrations 0005 and 0008),
// so that a batch reads only the rows it deletes.
var purgeColumns = map[store.PurgeKind]struct{ table, column string }{
	store.PurgeAuthCodes:        {"auth_codes", "expires_at"},
	store.PurgeRefreshTokens:    {"refresh_tokens", "family_expires_at"},
	store.PurgeRevokedTokens:    {"revoked_tokens", "expires_at"},
	store.PurgeGrantRevocations: {"grant_revocations", "expires_at"},
	store.PurgeClientSecrets:    {"client_secrets", "expires_at"}, // NULL (no expiry) is never before anything
	store.PurgeSigningKeys:      {"signing_keys", "delete_after"},
	store.PurgeAuditEvents:      {"audit_events", "at"},
	store.PurgeLoginEvents:      {"login_events", "at"},
	store.PurgeChanges:          {"changes", "at"},
	store.PurgeSessions:         {"sessions", "expires_at"}, // index in migration 0009
	store.PurgeFailures:         {"failure_counts", "expires_at"},
}

// maxPurgeBatch bounds a batch whatever the caller asks: a transaction
// deleting more would hold the write lock too long.
const maxPurgeBatch = 10_000

// Purge deletes at most limit records of kind that expired before
// `before`, in one statement of its own transaction.
func (s *DB) Purge(ctx context.Context, kind store.PurgeKind, before time.Time, limit int) (_ int, err error) {
	ctx, end := s.op(ctx)
	defer end(&err)
	pc, ok := purgeColumns[kind]
	if !ok {
		return 0, fmt.Errorf("purge %q: unknown kind: %w", kind, store.ErrInvalid)
	}
	if limit < 1 || limit > maxPurgeBatch {
		return 0, fmt.Errorf("purge %s: batch of %d, want 1 to %d: %w", kind, limit, maxPurgeBatch, store.ErrInvalid)
	}
	if kind == store.PurgeChanges && !s.d.changeLog() {
		return 0, nil
	}
	var n int64
	err = s.write(ctx, func(x execer) error {
		res, err := x.ExecContext(ctx, s.d.purgeQuery(pc.table, pc.column), ts(before), limit)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("purge %s: %w", kind, err)
	}
	return int(n), nil
}
