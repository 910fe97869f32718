package admin

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Audit builds the audit event of a change that a made at `at`, for other
// domain services (such as internal/client) that write their change and
// its event in one store.Tx as this package does.
func Audit(a Actor, at time.Time, teamName, action, target string, detail map[string]string) store.AuditEvent {
	return store.AuditEvent{Team: teamName, At: at, Actor: a.ID, Action: action, Target: target,
		IP: a.IP, UserAgent: a.UserAgent, Detail: detail}
}

// TeamExists checks within q that the team exists: a malformed name is
// ErrInvalid, a missing team a wrapped store.ErrNotFound that names it.
func TeamExists(ctx context.Context, q store.Queries, teamName string) error {
	return teamExists(ctx, q, teamName)
}
