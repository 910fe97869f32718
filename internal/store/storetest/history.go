package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/internal/store"
)

// auditEvents returns the audit events of the audit test, oldest first,
// one an hour from t0+1h.
func auditEvents(team string) []store.AuditEvent {
	e := func(h int, actor, action, target string, detail map[string]string) store.AuditEvent {
		return store.AuditEvent{
			Team:      team,
			At:        at(time.Duration(h)*time.Hour + time.Duration(h)*time.Microsecond),
			Actor:     actor,
			Action:    action,
			Target:    target,
			IP:        fmt.Sprintf("192.0.2.%d", h),
			UserAgent: "agent " + action,
			Detail:    detail,
		}
	}
	return []store.AuditEvent{
		e(1, "cli", "team.create", team, nil),
		e(2, "user:ann@example.com", "user.create", "user:bob@example.com", map[string]string{"team_admin": "false"}),
		e(3, "user:ann@example.com", "client.create", "client:c1", map[string]string{"grant_types": "client_credentials", "scopes": "a b"}),
		e(4, "cli", "user.create", "user:cat@example.com", nil),
		e(5, "client:c1", "token.issue", "client:c1", map[string]string{"scope": "audit.log:read"}),
		e(6, "user:ann@example.com", "user.delete", "user:bob@example.com", map[string]string{}),
		e(7, "cli", "client.secret.regenerate", "client:c1", map[string]string{"grace": "24h"}),
	}
}

func testAudit(t *testing.T, s store.Store) {
	mkTeam(t, s, "alpha")
	mkTeam(t, s, "beta")
	events := auditEvents("alpha")
	// In time order, one event alone and then several in one call, with
	// beta's in between.
	must(t, "AppendAudit", s.AppendAudit(t.Context(), events[0]))
	must(t, "AppendAudit(beta)", s.AppendAudit(t.Context(), auditEvents("beta")[:3]...))
	must(t, "AppendAudit", s.AppendAudit(t.Context(), events[1:]...))

	// pick returns the events of the given indexes, newest first.
	pick := func(idx ...int) []store.AuditEvent {
		var out []store.AuditEvent
		for i := len(events) - 1; i >= 0; i-- {
			for _, j := range idx {
				if i == j {
					out = append(out, events[i])
				}
			}
		}
		return out
	}
	tests := []struct {
		name string
		f    store.AuditFilter
		want []store.AuditEvent
	}{
		{"all", store.AuditFilter{}, pick(0, 1, 2, 3, 4, 5, 6)},
		{"since", store.AuditFilter{Since: at(150 * time.Minute)}, pick(2, 3, 4, 5, 6)},
		{"until", store.AuditFilter{Until: at(210 * time.Minute)}, pick(0, 1, 2)},
		{"range", store.AuditFilter{Since: at(150 * time.Minute), Until: at(270 * time.Minute)}, pick(2, 3)},
		{"actor", store.AuditFilter{Actor: "user:ann@example.com"}, pick(1, 2, 5)},
		{"action", store.AuditFilter{Action: "user.create"}, pick(1, 3)},
		{"target", store.AuditFilter{Target: "client:c1"}, pick(2, 4, 6)},
		{"actorAndAction", store.AuditFilter{Actor: "cli", Action: "user.create"}, pick(3)},
		{"actorAndRange", store.AuditFilter{Actor: "cli", Since: at(90 * time.Minute), Until: at(390 * time.Minute)}, pick(3)},
		{"noMatch", store.AuditFilter{Actor: "user:nobody@example.com"}, nil},
		{"emptyRange", store.AuditFilter{Since: at(8 * time.Hour)}, nil},
	}
	for _, tc := range tests {
		t.Run("ListAudit/"+tc.name, func(t *testing.T) {
			got, next, err := s.ListAudit(t.Context(), "alpha", tc.f, store.Page{Limit: 100})
			if !wantErr(t, "ListAudit", err, nil) {
				return
			}
			diff(t, "ListAudit", tc.want, got, eventOpts)
			if next != "" {
				t.Errorf("ListAudit cursor = %q, want \"\" (last page)", next)
			}
			// Every page size gives the same events in the same order.
			for _, limit := range []int{1, 2, 3} {
				got := walk(t, limit, func(p store.Page) ([]store.AuditEvent, string, error) {
					return s.ListAudit(t.Context(), "alpha", tc.f, p)
				})
				diff(t, fmt.Sprintf("all pages of ListAudit, limit %d", limit), tc.want, got, eventOpts)
			}
		})
	}
	t.Run("ListAudit/ids", func(t *testing.T) {
		got, _, err := s.ListAudit(t.Context(), "alpha", store.AuditFilter{}, store.Page{Limit: 100})
		must(t, "ListAudit", err)
		seen := map[int64]bool{}
		for _, e := range got {
			if e.ID == 0 || seen[e.ID] {
				t.Errorf("ListAudit: event %q has ID %d, want a new nonzero ID", e.Action, e.ID)
			}
			seen[e.ID] = true
		}
	})
	t.Run("ListAudit/byTime", func(t *testing.T) {
		// Events batched off the request path arrive late: newest first
		// means by time, not by order of arrival.
		mkTeam(t, s, "delta")
		late := auditEvents("delta")
		must(t, "AppendAudit(delta)", s.AppendAudit(t.Context(), late[3], late[0]))
		must(t, "AppendAudit(delta)", s.AppendAudit(t.Context(), late[6], late[1], late[5], late[2], late[4]))
		want := slices.Clone(late)
		slices.Reverse(want)
		for _, limit := range []int{2, 100} {
			got := walk(t, limit, func(p store.Page) ([]store.AuditEvent, string, error) {
				return s.ListAudit(t.Context(), "delta", store.AuditFilter{}, p)
			})
			diff(t, fmt.Sprintf("all pages of ListAudit(delta), limit %d", limit), want, got, eventOpts)
		}
	})
	t.Run("ListAudit/sameTime", func(t *testing.T) {
		// Events of one batch often share a time; paging must still give
		// each once, newest first.
		mkTeam(t, s, "gamma")
		var batch []store.AuditEvent
		for i := range 9 {
			batch = append(batch, store.AuditEvent{
				Team:   "gamma",
				At:     at(time.Duration(i/3) * time.Hour),
				Actor:  "cli",
				Action: "user.create",
				Target: fmt.Sprintf("user:%d@example.com", i),
			})
		}
		must(t, "AppendAudit(gamma)", s.AppendAudit(t.Context(), batch...))
		for _, limit := range []int{1, 2, 4} {
			got := walk(t, limit, func(p store.Page) ([]store.AuditEvent, string, error) {
				return s.ListAudit(t.Context(), "gamma", store.AuditFilter{}, p)
			})
			diff(t, fmt.Sprintf("all pages of ListAudit(gamma), limit %d", limit), batch, got, eventOpts,
				cmpopts.SortSlices(func(a, b store.AuditEvent) bool { return a.Target < b.Target }))
			for i := 1; i < len(got); i++ {
				if got[i].At.After(got[i-1].At) {
					t.Errorf("limit %d: event %d (%v) is newer than event %d (%v)", limit, i, got[i].At, i-1, got[i-1].At)
				}
			}
		}
	})
}

func loginEvents(team string) []store.LoginEvent {
	e := func(h int, email string, ok bool, reason string) store.LoginEvent {
		return store.LoginEvent{
			Team:      team,
			At:        at(time.Duration(h)*time.Hour + time.Duration(h)*time.Microsecond),
			Email:     email,
			Success:   ok,
			Reason:    reason,
			IP:        fmt.Sprintf("198.51.100.%d", h),
			UserAgent: fmt.Sprintf("Mozilla/5.0 (%d)", h),
		}
	}
	return []store.LoginEvent{
		e(1, "ann@example.com", true, ""),
		e(2, "ann@example.com", false, "bad password"),
		e(3, "nobody@example.com", false, "no such user"),
		e(4, "bob@example.com", true, ""),
		e(5, "ann@example.com", true, ""),
		e(6, "bob@example.com", false, "disabled"),
	}
}

func testLogins(t *testing.T, s store.Store) {
	mkTeam(t, s, "alpha")
	mkTeam(t, s, "beta")
	annID, bobID := uuid.NewString(), uuid.NewString()
	events := loginEvents("alpha")
	for i := range events {
		switch events[i].Email {
		case "ann@example.com":
			events[i].UserID = annID
		case "bob@example.com":
			events[i].UserID = bobID
		}
	}
	for i, e := range events {
		must(t, "AppendLogin", s.AppendLogin(t.Context(), e))
		if i == 2 {
			for _, e := range loginEvents("beta") {
				must(t, "AppendLogin(beta)", s.AppendLogin(t.Context(), e))
			}
		}
	}

	pick := func(idx ...int) []store.LoginEvent {
		var out []store.LoginEvent
		for i := len(events) - 1; i >= 0; i-- {
			for _, j := range idx {
				if i == j {
					out = append(out, events[i])
				}
			}
		}
		return out
	}
	tests := []struct {
		name string
		f    store.LoginFilter
		want []store.LoginEvent
	}{
		{"all", store.LoginFilter{}, pick(0, 1, 2, 3, 4, 5)},
		{"since", store.LoginFilter{Since: at(150 * time.Minute)}, pick(2, 3, 4, 5)},
		{"until", store.LoginFilter{Until: at(150 * time.Minute)}, pick(0, 1)},
		{"range", store.LoginFilter{Since: at(90 * time.Minute), Until: at(270 * time.Minute)}, pick(1, 2, 3)},
		{"email", store.LoginFilter{Email: "ann@example.com"}, pick(0, 1, 4)},
		{"success", store.LoginFilter{Result: "success"}, pick(0, 3, 4)},
		{"failure", store.LoginFilter{Result: "failure"}, pick(1, 2, 5)},
		{"emailAndFailure", store.LoginFilter{Email: "bob@example.com", Result: "failure"}, pick(5)},
		{"emailAndRange", store.LoginFilter{Email: "ann@example.com", Since: at(90 * time.Minute)}, pick(1, 4)},
		{"noMatch", store.LoginFilter{Email: "cat@example.com"}, nil},
	}
	for _, tc := range tests {
		t.Run("ListLogins/"+tc.name, func(t *testing.T) {
			got, next, err := s.ListLogins(t.Context(), "alpha", tc.f, store.Page{Limit: 100})
			if !wantErr(t, "ListLogins", err, nil) {
				return
			}
			diff(t, "ListLogins", tc.want, got, eventOpts)
			if next != "" {
				t.Errorf("ListLogins cursor = %q, want \"\" (last page)", next)
			}
			for _, limit := range []int{1, 2, 4} {
				got := walk(t, limit, func(p store.Page) ([]store.LoginEvent, string, error) {
					return s.ListLogins(t.Context(), "alpha", tc.f, p)
				})
				diff(t, fmt.Sprintf("all pages of ListLogins, limit %d", limit), tc.want, got, eventOpts)
			}
		})
	}
	t.Run("ListLogins/byTime", func(t *testing.T) {
		// Newest first means by time, not by order of arrival.
		mkTeam(t, s, "delta")
		late := loginEvents("delta")
		for _, i := range []int{2, 0, 5, 1, 4, 3} {
			must(t, "AppendLogin(delta)", s.AppendLogin(t.Context(), late[i]))
		}
		want := slices.Clone(late)
		slices.Reverse(want)
		for _, limit := range []int{2, 100} {
			got := walk(t, limit, func(p store.Page) ([]store.LoginEvent, string, error) {
				return s.ListLogins(t.Context(), "delta", store.LoginFilter{}, p)
			})
			diff(t, fmt.Sprintf("all pages of ListLogins(delta), limit %d", limit), want, got, eventOpts)
		}
	})
	t.Run("ListLogins/ids", func(t *testing.T) {
		got, _, err := s.ListLogins(t.Context(), "alpha", store.LoginFilter{}, store.Page{Limit: 100})
		must(t, "ListLogins", err)
		seen := map[int64]bool{}
		for _, e := range got {
			if e.ID == 0 || seen[e.ID] {
				t.Errorf("ListLogins: event at %v has ID %d, want a new nonzero ID", e.At, e.ID)
			}
			seen[e.ID] = true
		}
	})
}

// testAuditEventIDs checks that AppendAudit is idempotent by event id: a
// batch sent again, whole or in part, adds only the events the team's log
// lacks, in order; events without an id are always added; and an id names
// an event in its team only.
func testAuditEventIDs(t *testing.T, s store.Store) {
	mkTeam(t, s, "alpha")
	mkTeam(t, s, "beta")
	ev := func(team string, i int, id string) store.AuditEvent {
		return store.AuditEvent{Team: team, EventID: id, At: at(time.Duration(i) * time.Second), Actor: "client:c1",
			Action: "token.issue", Target: "client:c1", IP: "192.0.2.1", UserAgent: "ua",
			Detail: map[string]string{"jti": fmt.Sprint(i)}}
	}
	// 250 events, more than one SQLite statement carries.
	var withIDs []store.AuditEvent
	for i := range 250 {
		withIDs = append(withIDs, ev("alpha", i, fmt.Sprintf("seg.%08x", i)))
	}
	noID := []store.AuditEvent{ev("alpha", 1000, ""), ev("alpha", 1001, "")}

	must(t, "AppendAudit(first 150)", s.AppendAudit(t.Context(), withIDs[:150]...))
	// A node that died before its checkpoint sends 100..149 again, with
	// the rest; an event without an id goes in each time.
	must(t, "AppendAudit(100..249 again)", s.AppendAudit(t.Context(), append(slices.Clone(withIDs[100:]), noID...)...))
	must(t, "AppendAudit(all again)", s.AppendAudit(t.Context(), append(slices.Clone(withIDs), noID...)...))
	// The same ids in another team are another team's events.
	must(t, "AppendAudit(beta)", s.AppendAudit(t.Context(), ev("beta", 0, withIDs[0].EventID), ev("beta", 1, withIDs[1].EventID)))

	got := walk(t, 100, func(p store.Page) ([]store.AuditEvent, string, error) {
		return s.ListAudit(t.Context(), "alpha", store.AuditFilter{}, p)
	})
	want := append(slices.Clone(withIDs), noID[0], noID[1], noID[0], noID[1])
	byTime := cmpopts.SortSlices(func(a, b store.AuditEvent) bool {
		return a.At.Before(b.At) || a.At.Equal(b.At) && a.ID < b.ID
	})
	diff(t, "ListAudit(alpha) after batches sent again", want, got, eventOpts, byTime)
	// Stored in the order sent: the store's ids rise with the events'.
	slices.SortFunc(got, func(a, b store.AuditEvent) int { return int(a.ID - b.ID) })
	for i := 1; i < 250; i++ {
		if got[i].EventID <= got[i-1].EventID {
			t.Fatalf("event %s was stored after %s", got[i].EventID, got[i-1].EventID)
		}
	}
	beta, _, err := s.ListAudit(t.Context(), "beta", store.AuditFilter{}, store.Page{Limit: 100})
	must(t, "ListAudit(beta)", err)
	if len(beta) != 2 {
		t.Errorf("beta holds %d events, want its 2, whose ids alpha's events have too", len(beta))
	}
}
