package adminapi

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/edge"
	"github.com/gatehouse/gatehouse/internal/scope"
)

// The OpenAPI 3.1 description of every /api/ route of a team's host
// (GET /api/openapi.json): the admin and profile routes from Routes, the
// built-in team APIs and POST /api/authz/check. Each operation names the
// scope it needs (its security requirement and x-gatehouse-scope) and the
// permission (x-gatehouse-permission: {"action", "resource"}); schemas
// are made from the Go types the handlers encode, so that they cannot
// drift from them. A test holds the document against the server's routes.

// Request bodies, as the handlers decode them (for the document only).
type (
	// NewClient registers a client.
	NewClient struct {
		Name           string   `json:"name"`
		GrantTypes     []string `json:"grant_types"`
		AuthMethod     string   `json:"auth_method"`
		Scopes         []string `json:"scopes"`
		RedirectURIs   []string `json:"redirect_uris,omitempty"`
		AccessTokenTTL string   `json:"access_token_ttl,omitempty" doc:"duration"`
		// OpenID Connect: the ID tokens' algorithm (RS256, ES256, ES384
		// or EdDSA; default RS256) and where RP-initiated logout may send
		// the user back.
		IDTokenAlg             string   `json:"id_token_signed_response_alg,omitempty"`
		PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris,omitempty"`
	}
	// ClientChange changes a client; absent fields keep their value.
	ClientChange struct {
		Name                   string   `json:"name,omitempty"`
		Scopes                 []string `json:"scopes,omitempty"`
		RedirectURIs           []string `json:"redirect_uris,omitempty"`
		AccessTokenTTL         string   `json:"access_token_ttl,omitempty" doc:"duration"`
		IDTokenAlg             string   `json:"id_token_signed_response_alg,omitempty"`
		PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris,omitempty"`
	}
	// SecretRotation asks for a client's new secret.
	SecretRotation struct {
		Grace string `json:"grace,omitempty" doc:"duration"`
	}
	// NewApp creates an application; NewGroup a group.
	NewApp struct {
		Name string `json:"name"`
	}
	NewGroup struct {
		Name string `json:"name"`
	}
	// NewKey makes a static key of a user or an application.
	NewKey struct {
		User      string     `json:"user,omitempty"`
		App       string     `json:"app,omitempty"`
		ExpiresAt *time.Time `json:"expires_at,omitempty"`
		ExpiresIn string     `json:"expires_in,omitempty" doc:"duration"` // instead of expires_at
	}
	// NewOwnKey makes an API key of the user's own.
	NewOwnKey struct {
		ExpiresAt *time.Time `json:"expires_at,omitempty"`
	}
	// PolicyChange sets the fields given (null unsets one), or clears the
	// team's policy.
	PolicyChange struct {
		DeprecatedSince *time.Time `json:"deprecated_since,omitempty"`
		SunsetAt        *time.Time `json:"sunset_at,omitempty"`
		Link            string     `json:"link,omitempty"`
		RefuseNew       bool       `json:"refuse_new,omitempty"`
		Clear           bool       `json:"clear,omitempty"`
	}
	// Migration migrates a static key.
	Migration struct {
		AuthMethod string `json:"auth_method,omitempty"`
	}
	// NewUser creates a user.
	NewUser struct {
		Email     string `json:"email"`
		Name      string `json:"name,omitempty"`
		Password  string `json:"password"`
		TeamAdmin bool   `json:"team_admin,omitempty"`
	}
	// UserChange changes a user; absent fields keep their value.
	UserChange struct {
		Email     string `json:"email,omitempty"`
		Name      string `json:"name,omitempty"`
		Password  string `json:"password,omitempty"`
		TeamAdmin bool   `json:"team_admin,omitempty"`
		Disabled  bool   `json:"disabled,omitempty"`
	}
	// Rotation asks for a new signing key.
	Rotation struct {
		Alg string `json:"alg,omitempty"`
	}
	// SettingsChange changes the team's settings; absent fields keep
	// their value.
	SettingsChange struct {
		AccessTokenTTL   string `json:"access_token_ttl,omitempty" doc:"duration"`
		TokenScopeFormat string `json:"token_scope_format,omitempty"`
		SigningAlg       string `json:"signing_alg,omitempty"`
	}
)

// The other /api/ routes' bodies (internal/teamapi, internal/access).
type (
	// AuditEvent is an item of GET /api/team/audit-log.
	AuditEvent struct {
		ID        int64             `json:"id"`
		At        time.Time         `json:"at"`
		Actor     string            `json:"actor"`
		Action    string            `json:"action"`
		Target    string            `json:"target"`
		IP        string            `json:"ip"`
		UserAgent string            `json:"user_agent"`
		Detail    map[string]string `json:"detail"`
	}
	// LoginEvent is an item of GET /api/team/login-history.
	LoginEvent struct {
		ID        int64     `json:"id"`
		At        time.Time `json:"at"`
		Email     string    `json:"email"`
		UserID    string    `json:"user_id"`
		Success   bool      `json:"success"`
		Reason    string    `json:"reason"`
		IP        string    `json:"ip"`
		UserAgent string    `json:"user_agent"`
	}
	// DirectoryUser is an item of GET /api/team/users.
	DirectoryUser struct {
		ID        string    `json:"id"`
		Email     string    `json:"email"`
		Name      string    `json:"name"`
		TeamAdmin bool      `json:"team_admin"`
		Disabled  bool      `json:"disabled"`
		CreatedAt time.Time `json:"created_at"`
		Groups    []string  `json:"groups"`
	}
	// DirectoryGroup is an item of GET /api/team/groups.
	DirectoryGroup struct {
		Name      string    `json:"name"`
		CreatedAt time.Time `json:"created_at"`
		Members   []Member  `json:"members"`
	}
	// Member is a member of a DirectoryGroup.
	Member struct {
		ID    string `json:"id"`
		Email string `json:"email"`
	}
	// CheckRequest is the body of POST /api/authz/check: a token, or a
	// principal with the scopes its credential carries.
	CheckRequest struct {
		Token     string   `json:"token,omitempty"`
		Principal string   `json:"principal,omitempty"`
		Scopes    []string `json:"scopes,omitempty"`
		Scope     string   `json:"scope,omitempty"`
		Action    string   `json:"action"`
		Resource  string   `json:"resource"`
	}
	// CheckResponse is the rule's decision.
	CheckResponse struct {
		Allowed   bool   `json:"allowed"`
		Reason    string `json:"reason"`
		Principal string `json:"principal,omitempty"`
		Scope     string `json:"scope"`
		Action    string `json:"action"`
		Resource  string `json:"resource"`
	}
	// Denial is the guard's answer to a refused credential (401) or call
	// (403), shaped as RFC 6750's errors, and the 503 of every route.
	Denial struct {
		Error       string `json:"error"`
		Description string `json:"error_description,omitempty"`
		Scope       string `json:"scope,omitempty"`
		Action      string `json:"action,omitempty"`
		Resource    string `json:"resource,omitempty"`
	}
	// Document is an OpenAPI document (GET /api/openapi.json).
	Document map[string]any
)

// schemaTypes are the document's schemas, by name.
var schemaTypes = map[string]reflect.Type{}

func init() {
	for _, v := range []any{
		Client{}, CreatedClient{}, ClientSecret{}, Scope{}, App{}, Key{}, CreatedKey{}, Policy{}, Report{},
		MigratedKey{}, User{}, SessionsEnded{}, Group{}, Permission{}, SigningKey{}, Settings{}, Profile{}, Consent{},
		NewClient{}, ClientChange{}, SecretRotation{}, NewApp{}, NewGroup{}, NewKey{}, NewOwnKey{}, PolicyChange{}, Migration{},
		NewUser{}, UserChange{}, Rotation{}, SettingsChange{},
		AuditEvent{}, LoginEvent{}, DirectoryUser{}, DirectoryGroup{}, Member{}, CheckRequest{}, CheckResponse{},
		Problem{}, FieldIssue{}, Denial{},
	} {
		t := reflect.TypeOf(v)
		schemaTypes[t.Name()] = t
	}
}

var timeType = reflect.TypeOf(time.Time{})

// schemaOf is the JSON Schema (2020-12, as OpenAPI 3.1 has it) of t.
func schemaOf(t reflect.Type, doc string) map[string]any {
	nullable := false
	if t.Kind() == reflect.Pointer {
		t, nullable = t.Elem(), true
	}
	var s map[string]any
	switch {
	case t == timeType:
		s = map[string]any{"type": "string", "format": "date-time"}
	case t.Kind() == reflect.String:
		s = map[string]any{"type": "string"}
		if doc == "duration" {
			s["description"] = `a duration such as "15m" or "24h"`
		}
	case t.Kind() == reflect.Bool:
		s = map[string]any{"type": "boolean"}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		s = map[string]any{"type": "integer"}
	case t.Kind() == reflect.Slice:
		s = map[string]any{"type": "array", "items": schemaOf(t.Elem(), "")}
	case t.Kind() == reflect.Map:
		s = map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem(), "")}
	case t.Kind() == reflect.Struct:
		if _, ok := schemaTypes[t.Name()]; ok && t.Name() != "" && doc != "inline" {
			s = map[string]any{"$ref": "#/components/schemas/" + t.Name()}
			break
		}
		props, required := map[string]any{}, []string{}
		addFields(t, props, &required)
		s = map[string]any{"type": "object", "properties": props}
		if len(required) > 0 {
			sort.Strings(required)
			s["required"] = required
		}
	default:
		s = map[string]any{}
	}
	if nullable {
		if typ, ok := s["type"].(string); ok {
			s["type"] = []string{typ, "null"}
		}
	}
	return s
}

// addFields adds the JSON fields of struct t (embedded structs' too).
func addFields(t reflect.Type, props map[string]any, required *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if f.Anonymous && tag == "" {
			ft := f.Type
			if ft.Kind() == reflect.Struct && ft.Name() == "Listing" || strings.HasPrefix(ft.Name(), "Listing[") {
				continue
			}
			addFields(ft, props, required)
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = schemaOf(f.Type, f.Tag.Get("doc"))
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			*required = append(*required, name)
		}
	}
}

func ref(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }

// listingSchema is a listing of items of schema item.
func listingSchema(item string) map[string]any {
	return map[string]any{"type": "object", "required": []string{"items"}, "properties": map[string]any{
		"items":       map[string]any{"type": "array", "items": ref(item)},
		"next_cursor": map[string]any{"type": "string", "description": "absent on the last page"},
		"csrf_token":  map[string]any{"type": "string", "description": "the profile API's, to a session only"},
	}}
}

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

// operation is the document's description of one route.
func operation(rt Route) map[string]any {
	op := map[string]any{"summary": rt.Summary, "operationId": operationID(rt.Method, rt.Path)}
	var params []any
	for _, m := range pathParam.FindAllStringSubmatch(rt.Path, -1) {
		params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
	}
	if rt.List {
		params = append(params,
			map[string]any{"name": "limit", "in": "query", "schema": map[string]any{"type": "integer", "minimum": 1, "maximum": MaxLimit, "default": DefaultLimit}},
			map[string]any{"name": "cursor", "in": "query", "description": "the next_cursor of the previous page", "schema": map[string]any{"type": "string"}})
	}
	for _, p := range rt.Query {
		sch := map[string]any{"type": "string"}
		if p.Format != "" {
			sch["format"] = p.Format
		}
		q := map[string]any{"name": p.Name, "in": "query", "schema": sch}
		if p.Description != "" {
			q["description"] = p.Description
		}
		if p.Required {
			q["required"] = true
		}
		params = append(params, q)
	}
	if rt.IfMatch {
		params = append(params, map[string]any{"name": "If-Match", "in": "header", "schema": map[string]any{"type": "string"},
			"description": "the ETag of the GET that this change was made against: 412 if the record changed since"})
	}
	if len(params) > 0 {
		op["parameters"] = params
	}
	if rt.Request != "" {
		op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": ref(rt.Request)}}}
	}
	ok := map[string]any{"description": http.StatusText(rt.Status)}
	if rt.Response != "" {
		sch := ref(rt.Response)
		switch {
		case rt.List && rt.Response != "Report": // the report pages its keys beside the policy
			sch = listingSchema(rt.Response)
		}
		ok["content"] = map[string]any{"application/json": map[string]any{"schema": sch}}
	}
	if rt.ETag {
		ok["headers"] = map[string]any{"ETag": map[string]any{"schema": map[string]any{"type": "string"}}}
	}
	responses := map[string]any{itoa(rt.Status): ok}
	for code, desc := range errorResponses(rt) {
		content := map[string]any{ProblemType: map[string]any{"schema": ref("Problem")}}
		switch code {
		case "401", "503":
			// The guard's RFC 6750 answers, and the one 503 of every route.
			content = map[string]any{"application/json": map[string]any{"schema": ref("Denial")}}
			if code == "401" && rt.Profile {
				content[ProblemType] = map[string]any{"schema": ref("Problem")}
			}
		case "400", "403":
			content["application/json"] = map[string]any{"schema": ref("Denial")}
		}
		responses[code] = map[string]any{"description": desc, "content": content}
	}
	op["responses"] = responses
	switch {
	case rt.Public:
		op["security"] = []any{}
	case rt.Profile:
		op["security"] = []any{map[string]any{"session": []string{}}, map[string]any{"oauth2": []string{rt.Scope}}, map[string]any{"userApiKey": []string{}}}
		op["x-gatehouse-scope"] = rt.Scope
		op["x-gatehouse-permission"] = nil
		op["tags"] = []string{"profile"}
	default:
		op["security"] = []any{map[string]any{"oauth2": []string{rt.Scope}}, map[string]any{"userApiKey": []string{}}, map[string]any{"appKey": []string{}}}
		op["x-gatehouse-scope"] = rt.Scope
		op["x-gatehouse-permission"] = map[string]any{"action": rt.Action, "resource": rt.Resource}
		op["tags"] = []string{tagOf(rt.Path)}
	}
	return op
}

func errorResponses(rt Route) map[string]string {
	out := map[string]string{"503": "the database cannot answer now (Retry-After)"}
	if rt.Public {
		return out
	}
	out["401"] = "no credential, or a bad one (WWW-Authenticate)"
	out["403"] = "the credential lacks the scope (insufficient_scope) or the principal the permission, or the change would hand on what the caller does not hold"
	out["400"] = "a malformed body, query parameter or Authorization header"
	if rt.Request != "" {
		out["422"] = "invalid fields, each named in errors"
		if rt.Method == "POST" || rt.Method == "PUT" {
			out["409"] = "a duplicate"
		}
	}
	if strings.Contains(rt.Path, "{") {
		out["404"] = "no such record"
	}
	if rt.IfMatch {
		out["412"] = "If-Match names a version that is no longer current"
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }

func tagOf(path string) string {
	p := strings.TrimPrefix(path, "/api/admin/")
	seg, _, _ := strings.Cut(p, "/")
	return seg
}

func operationID(method, path string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for seg := range strings.SplitSeq(strings.TrimPrefix(path, "/api/"), "/") {
		seg = strings.Trim(seg, "{}")
		for part := range strings.FieldsFuncSeq(seg, func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// otherRoutes are the /api/ routes of other packages, described here.
func otherRoutes() []Route {
	team := func(path, sc, res, item, summary string, query ...Param) Route {
		return Route{Method: "GET", Path: path, Scope: sc, Action: "read", Resource: res, List: true, Response: item, Status: 200,
			Summary: summary, Query: query}
	}
	t := func(name, desc string) Param { return Param{Name: name, Description: desc, Format: "date-time"} }
	q := func(name, desc string) Param { return Param{Name: name, Description: desc} }
	out := []Route{
		team("/api/team/audit-log", scope.AuditLogRead, "audit-log", "AuditEvent", "The team's audit log, newest first",
			t("since", "from this time (inclusive)"), t("until", "to this time (exclusive)"), q("actor", "the actor's"), q("action", "events of this action"), q("target", "events on this target")),
		team("/api/team/users", scope.TeamUserGroupInfoRead, "users", "DirectoryUser", "The team's users with their groups"),
		team("/api/team/groups", scope.TeamUserGroupInfoRead, "users", "DirectoryGroup", "The team's groups with their members"),
		team("/api/team/login-history", scope.TeamLoginHistoryRead, "login-history", "LoginEvent", "The team's sign-in attempts, newest first",
			q("user", "the attempts for this email"), q("result", "success or failure"), t("since", "from this time (inclusive)"), t("until", "to this time (exclusive)")),
		{Method: "POST", Path: "/api/authz/check", Action: "check", Resource: "authz", Request: "CheckRequest", Response: "CheckResponse", Status: 200,
			Summary: "The access rule's decision on a token or a principal, for resource servers"},
		{Method: "GET", Path: "/api/openapi.json", Public: true, Status: 200, Summary: "This document"},
	}
	// Forward authentication, with any method (ForwardMethods).
	for _, m := range ForwardMethods {
		out = append(out,
			Route{Method: m, Path: "/api/authz/forward", Status: 200,
				Summary: "The gateway routes' decision on the request a trusted proxy holds (NGINX auth_request, Caddy forward_auth, Traefik ForwardAuth)"},
			Route{Method: m, Path: "/api/authz/envoy/{path}", Status: 200,
				Summary: "The gateway routes' decision on the request a trusted Envoy holds (ext_authz HTTP service, path_prefix /api/authz/envoy)"})
	}
	return out
}

// ForwardMethods are the methods OpenAPI can name, each of which the
// forward authentication routes take (they take any).
var ForwardMethods = []string{"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"}

// forwardResponses are the answers of forward authentication.
func forwardResponses() map[string]any {
	denial := map[string]any{"application/json": map[string]any{"schema": ref("Denial")}}
	str := map[string]any{"schema": map[string]any{"type": "string"}}
	return map[string]any{
		"200": map[string]any{"description": "allowed: no body; the proxy passes these headers upstream (and Deprecation, Sunset and Link, set for a static key, to the client)",
			"headers": map[string]any{"X-Gatehouse-Team": str, "X-Gatehouse-Principal": str, "X-Gatehouse-Scopes": str}},
		"400": map[string]any{"description": "the proxy sent no original request (its configuration lacks the headers), or a malformed Authorization header", "content": denial},
		"401": map[string]any{"description": "no credential, or a bad one (WWW-Authenticate)", "content": denial},
		"403": map[string]any{"description": "not a trusted proxy; an original request no route takes or that a client may have chosen; a missing scope (insufficient_scope) or permission", "content": denial},
		"503": map[string]any{"description": "the database cannot answer now (Retry-After)", "content": denial},
	}
}

// AllRoutes lists every /api/ route the document describes.
func AllRoutes() []Route { return append(Routes(), otherRoutes()...) }

// NewDocument builds the OpenAPI document of the /api/ routes for a team
// whose URL is teamURL, with scopes, the catalog's, in its OAuth 2.0
// scheme.
func NewDocument(teamURL string, scopes []scope.Scope) Document {
	paths := map[string]any{}
	for _, rt := range AllRoutes() {
		item, _ := paths[rt.Path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[rt.Path] = item
		}
		op := operation(rt)
		switch rt.Path {
		case "/api/authz/check":
			op["security"] = []any{map[string]any{"oauth2": []string{}}, map[string]any{"userApiKey": []string{}}, map[string]any{"appKey": []string{}}}
			op["x-gatehouse-scope"] = nil
			op["tags"] = []string{"authz"}
		case "/api/openapi.json":
			op["responses"].(map[string]any)["200"].(map[string]any)["content"] = map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "object"}}}
			op["tags"] = []string{"openapi"}
		case "/api/authz/forward", "/api/authz/envoy/{path}":
			// The credential judged is the original request's; the route
			// file names the scope and the permission.
			op["security"] = []any{map[string]any{"oauth2": []string{}}, map[string]any{"userApiKey": []string{}}, map[string]any{"appKey": []string{}}}
			op["x-gatehouse-scope"] = nil
			op["x-gatehouse-permission"] = nil
			op["tags"] = []string{"authz"}
			op["responses"] = forwardResponses()
			op["description"] = "Only the proxies of --trusted-proxies are answered. The original method and URI come from X-Forwarded-Method and X-Forwarded-Uri, or X-Original-Method and X-Original-URI (forward), or from the request itself, less the prefix (Envoy); the route of the gateway's route file that matches them names the scope and the permission."
			if rt.Path == "/api/authz/envoy/{path}" {
				op["parameters"] = []any{map[string]any{"name": "path", "in": "path", "required": true, "schema": map[string]any{"type": "string"},
					"description": "the original path, any number of segments (Envoy appends it to path_prefix)"}}
			}
		}
		if strings.HasPrefix(rt.Path, "/api/team/") {
			op["tags"] = []string{"team"}
		}
		item[strings.ToLower(rt.Method)] = op
	}
	schemas := map[string]any{}
	for name, t := range schemaTypes {
		schemas[name] = schemaOf(t, "inline")
	}
	scopeMap := map[string]string{}
	for _, s := range scopes {
		scopeMap[s.Name] = s.Description
	}
	tokenURL := teamURL + "/oauth2/token"
	return Document{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "Gatehouse team APIs", "version": "1",
			"description": "The admin, profile and team APIs of a Gatehouse team. Every call passes the access rule: the credential carries the operation's scope (x-gatehouse-scope) and its principal holds the permission (x-gatehouse-permission); a team admin holds every permission."},
		"servers": []any{map[string]any{"url": teamURL}},
		"paths":   paths,
		"components": map[string]any{
			"schemas": schemas,
			"securitySchemes": map[string]any{
				"oauth2": map[string]any{"type": "oauth2", "description": "an access token (RFC 9068 JWT) as Authorization: Bearer",
					"flows": map[string]any{
						"clientCredentials": map[string]any{"tokenUrl": tokenURL, "scopes": scopeMap},
						"authorizationCode": map[string]any{"authorizationUrl": teamURL + "/oauth2/authorize", "tokenUrl": tokenURL, "scopes": scopeMap},
					}},
				"userApiKey": map[string]any{"type": "http", "scheme": "bearer", "description": "a user API key as Authorization: Bearer; it carries every scope"},
				"appKey":     map[string]any{"type": "apiKey", "in": "header", "name": "Authorization", "description": "an AppKey as Authorization: AppKey <key>; it carries every scope"},
				"session":    map[string]any{"type": "apiKey", "in": "cookie", "name": "gatehouse_session", "description": "the web session (__Host-gatehouse_session under https); unsafe methods need X-CSRF-Token"},
			},
		},
	}
}

// ServeOpenAPI is GET /api/openapi.json: the document, for the request's
// team.
func (a *API) ServeOpenAPI(w http.ResponseWriter, r *http.Request) {
	if _, err := query(r); err != nil {
		fail(w, r, err)
		return
	}
	var scopes []scope.Scope
	if a.o.Scopes != nil {
		scopes = a.o.Scopes.All()
	}
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(NewDocument(edge.RequestInfo(r).TeamURL, scopes))
}
