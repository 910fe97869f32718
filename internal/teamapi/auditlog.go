package teamapi

import (
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// auditEvent is an item of GET /api/team/audit-log.
type auditEvent struct {
	ID        int64             `json:"id"`
	At        time.Time         `json:"at"`
	Actor     string            `json:"actor"`
	Action    string            `json:"action"`
	Target    string            `json:"target"`
	IP        string            `json:"ip"`
	UserAgent string            `json:"user_agent"`
	Detail    map[string]string `json:"detail"` // {} when empty
}

// auditLog lists the team's audit log, newest first, filtered by
// ?since=, ?until=, ?actor=, ?action= and ?target= (exact matches).
func (h handlers) auditLog(r *http.Request, team string) (any, string, error) {
	v, err := query(r, paramSince, paramUntil, "actor", "action", "target")
	if err != nil {
		return nil, "", err
	}
	p, err := page(v)
	if err != nil {
		return nil, "", err
	}
	f := store.AuditFilter{Actor: v.Get("actor"), Action: v.Get("action"), Target: v.Get("target")}
	if f.Since, f.Until, err = interval(v); err != nil {
		return nil, "", err
	}
	events, next, err := h.st.ListAudit(r.Context(), team, f, p)
	if err != nil {
		return nil, "", err
	}
	out := make([]auditEvent, 0, len(events))
	for _, e := range events {
		d := e.Detail
		if d == nil {
			d = map[string]string{}
		}
		out = append(out, auditEvent{ID: e.ID, At: e.At.UTC(), Actor: e.Actor, Action: e.Action, Target: e.Target,
			IP: e.IP, UserAgent: e.UserAgent, Detail: d})
	}
	return out, next, nil
}
