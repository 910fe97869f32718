package teamapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// loginEvent is an item of GET /api/team/login-history.
type loginEvent struct {
	ID        int64     `json:"id"`
	At        time.Time `json:"at"`
	Email     string    `json:"email"`
	UserID    string    `json:"user_id"` // "" when no user has the email
	Success   bool      `json:"success"`
	Reason    string    `json:"reason"`
	IP        string    `json:"ip"`
	UserAgent string    `json:"user_agent"`
}

// loginHistory lists the team's login attempts, newest first, filtered by
// ?user= (an email, matched case-insensitively as emails are stored
// lower-cased), ?result=success|failure, ?since= and ?until=.
func (h handlers) loginHistory(r *http.Request, team string) (any, string, error) {
	v, err := query(r, "user", "result", paramSince, paramUntil)
	if err != nil {
		return nil, "", err
	}
	p, err := page(v)
	if err != nil {
		return nil, "", err
	}
	f := store.LoginFilter{Email: strings.ToLower(v.Get("user")), Result: v.Get("result")}
	switch f.Result {
	case "success", "failure":
	case "":
		if v.Has("result") {
			return nil, "", invalid("result: want success or failure, got an empty value")
		}
	default:
		return nil, "", invalid("result: want success or failure, got %q", f.Result)
	}
	if f.Since, f.Until, err = interval(v); err != nil {
		return nil, "", err
	}
	events, next, err := h.st.ListLogins(r.Context(), team, f, p)
	if err != nil {
		return nil, "", err
	}
	out := make([]loginEvent, 0, len(events))
	for _, e := range events {
		out = append(out, loginEvent{ID: e.ID, At: e.At.UTC(), Email: e.Email, UserID: e.UserID, Success: e.Success,
			Reason: e.Reason, IP: e.IP, UserAgent: e.UserAgent})
	}
	return out, next, nil
}
