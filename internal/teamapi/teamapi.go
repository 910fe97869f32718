// Package teamapi serves the built-in team APIs (README "Built-in team
// APIs"): read-only JSON listings of a team's audit log,
// users, groups and login history. Each route requires a scope and a
// permission through the access guard, and a team admin holds every
// permission.
//
// Every listing answers
//
//	{"items": [...], "next_cursor": "..."}
//
// newest first for the histories, by email for users and by name for
// groups. next_cursor is omitted on the last page: a client pages with
// ?cursor=<next_cursor> until the answer has none. ?limit= takes 1 to 1000
// items a page (default 50). The histories take ?since= (inclusive) and
// ?until= (exclusive) as RFC 3339 times, and answer times in RFC 3339 UTC
// with the store's precision, so an item's "at" can be passed back as a
// bound. Query parameters a route does not know, or given twice, are
// refused: a misspelt filter must not silently widen the answer. A bad
// parameter is a 400 invalid_request whose error_description names it.
package teamapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/access"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/edge"
	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Reader is the part of the store the team APIs read; store.Store is one.
type Reader interface {
	ListAudit(ctx context.Context, team string, f store.AuditFilter, p store.Page) ([]store.AuditEvent, string, error)
	ListUsers(ctx context.Context, team string, p store.Page) ([]store.User, string, error)
	User(ctx context.Context, team, id string) (store.User, error)
	ListGroups(ctx context.Context, team string, p store.Page) ([]store.Group, string, error)
	UserGroups(ctx context.Context, team, userID string) ([]string, error)
	ListLogins(ctx context.Context, team string, f store.LoginFilter, p store.Page) ([]store.LoginEvent, string, error)
}

// The permissions the routes require: action read on these resources.
const (
	ActionRead           = "read"
	ResourceAuditLog     = "audit-log"
	ResourceUsers        = "users" // users and groups alike
	ResourceLoginHistory = "login-history"
)

// Page sizes of ?limit=.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

// Query parameters of several routes: every route pages, and the
// histories take a time interval.
const (
	paramLimit  = "limit"
	paramCursor = "cursor"
	paramSince  = "since"
	paramUntil  = "until"
)

// Mux is where routes are registered (*http.ServeMux is one).
type Mux interface {
	Handle(pattern string, h http.Handler)
}

// Register adds the team API routes to mux, each behind g.
func Register(mux Mux, g *access.Guard, st Reader) {
	h := handlers{st: st}
	mux.Handle("GET /api/team/audit-log",
		g.Require(scope.AuditLogRead, ActionRead, access.Fixed(ResourceAuditLog), serve(h.auditLog)))
	mux.Handle("GET /api/team/users",
		g.Require(scope.TeamUserGroupInfoRead, ActionRead, access.Fixed(ResourceUsers), serve(h.users)))
	mux.Handle("GET /api/team/groups",
		g.Require(scope.TeamUserGroupInfoRead, ActionRead, access.Fixed(ResourceUsers), serve(h.groups)))
	mux.Handle("GET /api/team/login-history",
		g.Require(scope.TeamLoginHistoryRead, ActionRead, access.Fixed(ResourceLoginHistory), serve(h.loginHistory)))
}

// Routes lists what each route of Register requires, in the same order,
// for the static key migration (authz.ScopesFor).
func Routes() []authz.Route {
	return []authz.Route{
		{Scope: scope.AuditLogRead, Action: ActionRead, Resource: ResourceAuditLog},
		{Scope: scope.TeamUserGroupInfoRead, Action: ActionRead, Resource: ResourceUsers},
		{Scope: scope.TeamUserGroupInfoRead, Action: ActionRead, Resource: ResourceUsers},
		{Scope: scope.TeamLoginHistoryRead, Action: ActionRead, Resource: ResourceLoginHistory},
	}
}

type handlers struct {
	st Reader
}

// listing is the answer of every route.
type listing struct {
	Items      any    `json:"items"` // always an array, [] when empty
	NextCursor string `json:"next_cursor,omitempty"`
}

// list reads one page for the request's team.
type list func(r *http.Request, team string) (items any, next string, err error)

// serve adapts a list to HTTP: it writes the page, or picks the status of
// the error.
func serve(fn list) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		info := edge.RequestInfo(r)
		items, next, err := fn(r, info.Team.Name)
		w.Header().Set("Cache-Control", "no-store")
		var bad *badRequest
		switch {
		case err == nil:
			edge.JSON(w, http.StatusOK, listing{Items: items, NextCursor: next})
		case errors.As(err, &bad):
			edge.Error(w, http.StatusBadRequest, "invalid_request", bad.msg)
		case errors.Is(err, store.ErrInvalid):
			// The only argument the store can refuse once the query is
			// parsed: the cursor.
			edge.Error(w, http.StatusBadRequest, "invalid_request", "cursor: not a next_cursor of this listing")
		case errors.Is(err, store.ErrUnavailable):
			info.Log.Error("team api", "route", r.Pattern, "err", err)
			edge.Unavailable(w, "the database cannot answer right now; try again shortly")
		default:
			info.Log.Error("team api", "route", r.Pattern, "err", err)
			edge.Error(w, http.StatusInternalServerError, "server_error", "internal error; request "+info.RequestID)
		}
	}
}

// badRequest is a query the caller got wrong; its message is shown.
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

func invalid(format string, args ...any) error {
	return &badRequest{msg: fmt.Sprintf(format, args...)}
}

// query parses r's query string, refusing parameters not in known and any
// given more than once.
func query(r *http.Request, known ...string) (url.Values, error) {
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, invalid("the query string is not valid URL encoding")
	}
	known = append(known, paramLimit, paramCursor)
	names := make([]string, 0, len(v))
	for name := range v {
		names = append(names, name)
	}
	slices.Sort(names) // report the same parameter every time
	for _, name := range names {
		if !slices.Contains(known, name) {
			slices.Sort(known)
			return nil, invalid("%s: unknown parameter; this route takes %s", name, strings.Join(known, ", "))
		}
		if len(v[name]) > 1 {
			return nil, invalid("%s: given more than once", name)
		}
	}
	return v, nil
}

// page reads ?limit= and ?cursor=.
func page(v url.Values) (store.Page, error) {
	p := store.Page{Limit: DefaultLimit, Cursor: v.Get(paramCursor)}
	if s, ok := v[paramLimit]; ok {
		n, err := strconv.Atoi(s[0])
		if err != nil || n < 1 || n > MaxLimit {
			return store.Page{}, invalid("%s: want an integer from 1 to %d, got %q", paramLimit, MaxLimit, s[0])
		}
		p.Limit = n
	}
	if _, ok := v[paramCursor]; ok && p.Cursor == "" {
		return store.Page{}, invalid("%s: empty; omit it for the first page", paramCursor)
	}
	return p, nil
}

// interval reads ?since= (inclusive) and ?until= (exclusive), RFC 3339
// times; a zero time is no bound.
func interval(v url.Values) (since, until time.Time, err error) {
	if since, err = timeParam(v, paramSince); err != nil {
		return time.Time{}, time.Time{}, err
	}
	if until, err = timeParam(v, paramUntil); err != nil {
		return time.Time{}, time.Time{}, err
	}
	if !since.IsZero() && !until.IsZero() && until.Before(since) {
		return time.Time{}, time.Time{}, invalid("%s: before %s", paramUntil, paramSince)
	}
	return since, until, nil
}

func timeParam(v url.Values, name string) (time.Time, error) {
	s, ok := v[name]
	if !ok {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s[0])
	if err != nil {
		return time.Time{}, invalid("%s: want an RFC 3339 time such as 2026-01-02T15:04:05Z, got %q", name, s[0])
	}
	return t.UTC(), nil
}
