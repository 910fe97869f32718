package sqlstore

import (
	"context"
	"fmt"
	"time"
)

// purgeCommon deletes records that can no longer matter: expired codes,
// refresh token families past their absolute lifetime (a spent token is
// kept until then, so that its replay still revokes the family), expired
// denylist entries and grant cut-offs, client secrets past their grace
// period, and signing
// keys that no unexpired token can name.
func purgeCommon(ctx context.Context, x execer, now time.Time) error {
	n := ts(now)
	for _, q := range []string{
		`DELETE FROM auth_codes WHERE expires_at < $1`,
		`DELETE FROM refresh_tokens WHERE family_expires_at < $1`,
		`DELETE FROM revoked_tokens WHERE expires_at < $1`,
		`DELETE FROM grant_revocations WHERE expires_at < $1`,
		`DELETE FROM client_secrets WHERE expires_at IS NOT NULL AND expires_at < $1`,
		`DELETE FROM signing_keys WHERE delete_after IS NOT NULL AND delete_after < $1`,
	} {
		if _, err := x.ExecContext(ctx, q, n); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}
