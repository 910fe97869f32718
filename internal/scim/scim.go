// Package scim serves SCIM 2.0 (RFC 7643, RFC 7644) at /scim/v2 on every
// team's host, so that a team's identity provider (Okta, Microsoft Entra,
// ...) creates, updates, deactivates and deletes the team's users and
// groups itself. The resources map onto Gatehouse's own: a User's userName
// is the user's email, displayName the name, active the negation of
// disabled; a Group's displayName is the group's name, as the group:
// principal of a permission names it, and its members are users by id.
//
// Every call to /Users and /Groups passes the access rule: scope
// user-provisioning.scim and the permission manage on users. Changes go
// through internal/admin, which writes each with its audit event (the
// provisioning client as the actor) and holds the caller to what it may
// hand on. The discovery documents (/ServiceProviderConfig,
// /ResourceTypes, /Schemas) need no credential (RFC 7644 section 4).
//
// Filters (filter.go) become store conditions that indexes bound; PATCH
// (patch.go) runs on the resource's representation, and the result is
// turned into the fields that differ, so that concurrent changes of
// different fields or members do not undo one another.
package scim

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/access"
	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/edge"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Prefix is where SCIM is served on a team's host.
const Prefix = "/scim/v2"

// The access rule of /Users and /Groups.
const (
	Scope    = scope.UserProvisioningSCIM
	Action   = "manage"
	Resource = "users"
)

// Paging of lists: the default and the largest count.
const (
	defaultCount = 100
	maxCount     = 1000
)

// Service is what the endpoints call (admin.Service is one).
type Service interface {
	User(ctx context.Context, team, ref string) (store.User, error)
	QueryUsers(ctx context.Context, team string, q store.Query) ([]store.User, int, error)
	Memberships(ctx context.Context, team string, ids []string) ([]store.Membership, error)
	ProvisionUser(ctx context.Context, a kernel.Actor, team string, in admin.NewProvisioned) (store.User, error)
	UpdateUser(ctx context.Context, a kernel.Actor, team, ref string, c admin.UserChange) (store.User, error)
	DeleteUserVersion(ctx context.Context, a kernel.Actor, team, ref, ifVersion string) error
	GroupByID(ctx context.Context, team, id string) (store.Group, error)
	QueryGroups(ctx context.Context, team string, q store.Query) ([]store.Group, int, error)
	ProvisionGroup(ctx context.Context, a kernel.Actor, team string, in admin.NewGroup) (store.Group, error)
	UpdateGroup(ctx context.Context, a kernel.Actor, team, id string, c admin.GroupChange) (store.Group, error)
	DeleteGroupByID(ctx context.Context, a kernel.Actor, team, id, ifVersion string) error
}

// Guard is the access rule in front of /Users and /Groups
// (*access.Guard is one).
type Guard interface {
	Require(scope, action string, resource func(*http.Request) string, next http.HandlerFunc) http.Handler
}

// Mux is where routes are registered (*http.ServeMux is one).
type Mux interface {
	Handle(pattern string, h http.Handler)
}

// API serves SCIM.
type API struct {
	guard Guard
	svc   Service
}

// New returns the SCIM endpoints on svc behind guard.
func New(guard Guard, svc Service) *API { return &API{guard: guard, svc: svc} }

// Register adds the routes to mux.
func (a *API) Register(mux Mux) {
	public := func(h http.HandlerFunc) http.Handler { return h }
	for _, rt := range []struct {
		pattern string
		wrap    func(http.HandlerFunc) http.Handler
		h       http.HandlerFunc
	}{
		{"GET " + Prefix + "/ServiceProviderConfig", public, a.config},
		{"GET " + Prefix + "/ResourceTypes", public, a.resourceTypes},
		{"GET " + Prefix + "/ResourceTypes/{name}", public, a.resourceType},
		{"GET " + Prefix + "/Schemas", public, a.schemas},
		{"GET " + Prefix + "/Schemas/{id}", public, a.schema},
		{"GET " + Prefix + "/Users", a.protect, a.listUsers},
		{"POST " + Prefix + "/Users", a.protect, a.createUser},
		{"GET " + Prefix + "/Users/{id}", a.protect, a.getUser},
		{"PUT " + Prefix + "/Users/{id}", a.protect, a.replaceUser},
		{"PATCH " + Prefix + "/Users/{id}", a.protect, a.patchUser},
		{"DELETE " + Prefix + "/Users/{id}", a.protect, a.deleteUser},
		{"GET " + Prefix + "/Groups", a.protect, a.listGroups},
		{"POST " + Prefix + "/Groups", a.protect, a.createGroup},
		{"GET " + Prefix + "/Groups/{id}", a.protect, a.getGroup},
		{"PUT " + Prefix + "/Groups/{id}", a.protect, a.replaceGroup},
		{"PATCH " + Prefix + "/Groups/{id}", a.protect, a.patchGroup},
		{"DELETE " + Prefix + "/Groups/{id}", a.protect, a.deleteGroup},
		{Prefix + "/", public, a.unknown},
	} {
		mux.Handle(rt.pattern, rt.wrap(rt.h))
	}
}

// protect puts next behind the access rule, and answers the guard's
// refusals (RFC 6750: 401 with WWW-Authenticate, 403, 503) in SCIM's
// error format, keeping their status and headers.
func (a *API) protect(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dw := &denialWriter{w: w}
		a.guard.Require(Scope, Action, access.Fixed(Resource), func(_ http.ResponseWriter, r *http.Request) {
			dw.passed = true
			next(w, r)
		}).ServeHTTP(dw, r)
		if dw.passed {
			return
		}
		var body struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		json.Unmarshal(dw.body, &body) // the guard's own JSON; without it, the status says enough
		detail := body.Description
		if detail == "" {
			detail = http.StatusText(dw.status)
		}
		if body.Error == "unauthorized" || dw.status == http.StatusUnauthorized && body.Error == "" {
			detail = "this endpoint requires an access token with scope " + Scope + " in the Authorization header"
		}
		status := dw.status
		if status == 0 {
			status = http.StatusForbidden
		}
		writeError(w, status, "", detail)
	})
}

// denialWriter holds back what the guard writes until it is known whether
// the call passed.
type denialWriter struct {
	w      http.ResponseWriter
	passed bool
	status int
	body   []byte
}

func (d *denialWriter) Header() http.Header { return d.w.Header() }

func (d *denialWriter) WriteHeader(code int) {
	if d.status == 0 {
		d.status = code
	}
}

func (d *denialWriter) Write(b []byte) (int, error) {
	if len(d.body) < 64<<10 {
		d.body = append(d.body, b...)
	}
	return len(b), nil
}

// actor is who makes the request's change: the guard's subject (the
// provisioning client) with what it holds, from where.
func actor(r *http.Request) kernel.Actor {
	a := kernel.Actor{IP: kernel.Clip(edge.ClientIP(r), kernel.MaxIP), UserAgent: r.UserAgent(), Authority: authz.Grants{}}
	if sub, ok := access.FromContext(r.Context()); ok {
		a.ID = sub.Principal.String()
	}
	if g, ok := access.GrantsFromContext(r.Context()); ok {
		a.Authority = g
	}
	return a
}

func team(r *http.Request) string { return edge.RequestInfo(r).Team.Name }

// base is the URL of SCIM on the request's team: resources' locations.
func base(r *http.Request) string { return edge.RequestInfo(r).TeamURL + Prefix }

// reply writes v as a SCIM body with status.
func reply(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", MediaType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v) // a failed write: the client is gone
}

// body reads a request's body, capped by the server's --max-body-bytes.
func body(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, err
		}
		return nil, bad(typeInvalidSyntax, "the body could not be read")
	}
	return b, nil
}

// ifMatch is the version a change must find (the first entity tag of
// If-Match, weak or strong), or "" for any ("*", or no header).
func ifMatch(r *http.Request) string {
	v := strings.TrimSpace(r.Header.Get("If-Match"))
	if v == "" || v == "*" {
		return ""
	}
	v, _, _ = strings.Cut(v, ",")
	v = strings.TrimPrefix(strings.TrimSpace(v), "W/")
	v = strings.Trim(v, `"`)
	if v == "" {
		return "-" // matches no version
	}
	return v
}

// notModified answers 304 to a GET whose If-None-Match names version.
func notModified(w http.ResponseWriter, r *http.Request, version string) bool {
	for t := range strings.SplitSeq(r.Header.Get("If-None-Match"), ",") {
		t = strings.Trim(strings.TrimPrefix(strings.TrimSpace(t), "W/"), `"`)
		if t == version || t == "*" {
			w.Header().Set("ETag", etag(version))
			w.WriteHeader(http.StatusNotModified)
			return true
		}
	}
	return false
}

// listParams are the paging, sorting and projection of a list.
type listParams struct {
	q          store.Query
	startIndex int
	proj       projection
	filter     string
}

// readList reads a list's query parameters for resource type t.
func readList(r *http.Request, t resourceType, sortable map[string]store.Field) (listParams, error) {
	v := r.URL.Query()
	p := listParams{startIndex: 1, q: store.Query{Limit: defaultCount}}
	if s := v.Get("startIndex"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return p, bad(typeInvalidValue, "startIndex: want an integer, got %q", s)
		}
		p.startIndex = max(n, 1) // RFC 7644 section 3.4.2.4: less than 1 is 1
	}
	if s := v.Get("count"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return p, bad(typeInvalidValue, "count: want an integer, got %q", s)
		}
		p.q.Limit = min(max(n, 0), maxCount) // negative is 0; over the maximum is the maximum
	}
	p.q.Offset = p.startIndex - 1
	if s := v.Get("sortBy"); s != "" {
		name := strings.ToLower(s)
		if len(name) > len(t.Schema) && strings.EqualFold(s[:len(t.Schema)+1], t.Schema+":") {
			name = strings.ToLower(s[len(t.Schema)+1:])
		}
		f, ok := sortable[name]
		if !ok {
			return p, bad(typeInvalidValue, "sortBy: %q cannot be sorted by", s)
		}
		p.q.SortBy = f
	}
	switch strings.ToLower(v.Get("sortOrder")) {
	case "", "ascending":
	case "descending":
		p.q.Desc = true
	default:
		return p, bad(typeInvalidValue, "sortOrder: want ascending or descending")
	}
	p.proj = parseProjection(v.Get("attributes"), v.Get("excludedAttributes"), t.Schema)
	p.filter = v.Get("filter")
	return p, nil
}

// listResponse is a ListResponse message.
type listResponse struct {
	Schemas      []string `json:"schemas"`
	TotalResults int      `json:"totalResults"`
	StartIndex   int      `json:"startIndex"`
	ItemsPerPage int      `json:"itemsPerPage"`
	Resources    []object `json:"Resources"`
}

func list(total, start int, rs []object) listResponse {
	if rs == nil {
		rs = []object{}
	}
	return listResponse{Schemas: []string{ListSchema}, TotalResults: total, StartIndex: start, ItemsPerPage: len(rs), Resources: rs}
}

// The discovery endpoints.

func (a *API) config(w http.ResponseWriter, r *http.Request) {
	reply(w, http.StatusOK, serviceProviderConfig(base(r)))
}

func (a *API) resourceTypes(w http.ResponseWriter, r *http.Request) {
	b := base(r)
	reply(w, http.StatusOK, list(2, 1, []object{resourceTypeDoc(b, userType), resourceTypeDoc(b, groupType)}))
}

func (a *API) resourceType(w http.ResponseWriter, r *http.Request) {
	for _, t := range []resourceType{userType, groupType} {
		if r.PathValue("name") == t.Name {
			reply(w, http.StatusOK, resourceTypeDoc(base(r), t))
			return
		}
	}
	writeError(w, http.StatusNotFound, "", "no such resource type: "+r.PathValue("name")+" (User, Group)")
}

func (a *API) schemas(w http.ResponseWriter, r *http.Request) {
	b := base(r)
	reply(w, http.StatusOK, list(2, 1, []object{schemaDoc(b, userType), schemaDoc(b, groupType)}))
}

func (a *API) schema(w http.ResponseWriter, r *http.Request) {
	for _, t := range []resourceType{userType, groupType} {
		if r.PathValue("id") == t.Schema {
			reply(w, http.StatusOK, schemaDoc(base(r), t))
			return
		}
	}
	writeError(w, http.StatusNotFound, "", "no such schema: "+r.PathValue("id"))
}

// unknown answers any other path under the prefix: 405 for a method a
// resource does not take, else 404.
func (a *API) unknown(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, Prefix)
	for _, known := range []string{"/Users", "/Groups", "/ServiceProviderConfig", "/ResourceTypes", "/Schemas"} {
		if path == known || strings.HasPrefix(path, known+"/") && strings.Count(path, "/") == 2 {
			writeError(w, http.StatusMethodNotAllowed, "", r.Method+" is not allowed on "+r.URL.Path)
			return
		}
	}
	writeError(w, http.StatusNotFound, "", "no such endpoint: "+r.Method+" "+r.URL.Path+
		" (Users, Groups, ServiceProviderConfig, ResourceTypes and Schemas; Bulk and Me are not supported)")
}
