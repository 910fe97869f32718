package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/schema_validation"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/adminapi"
	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/poll"
	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/statickey"
	"github.com/gatehouse/gatehouse/internal/store"
)

// apiEnv is a running server with a caller for the admin API.
type apiEnv struct {
	h *servertest.Server
	n int // names of made records
}

// answer is an HTTP answer.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("answer %d %s: %v", a.status, a.body, err)
	}
}

func (a answer) String() string { return fmt.Sprintf("%d %s", a.status, a.body) }

// call sends method path to team acme with the credential (a JWT or a user
// API key for "Bearer"; "" for none), body as JSON (nil: none) and headers.
func (e *apiEnv) call(t *testing.T, method, path, cred string, body any, headers ...string) answer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, ok := body.(string)
		if !ok {
			b, err := json.Marshal(body)
			if err != nil {
				t.Fatal(err)
			}
			raw = string(b)
		}
		rd = strings.NewReader(raw)
	}
	req, err := http.NewRequest(method, servertest.URL("acme", path), rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if cred != "" {
		req.Header.Set("Authorization", "Bearer "+cred)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := e.h.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

// name is a fresh name.
func (e *apiEnv) name(prefix string) string {
	e.n++
	return fmt.Sprintf("%s%d", prefix, e.n)
}

// caller registers a client with scopes, grants it perms ("action on
// resource" pairs) and returns a token of it.
func (e *apiEnv) caller(t *testing.T, scopes []string, perms ...[2]string) string {
	t.Helper()
	c, sec := e.h.Client(t, "acme", client.NewClient{Name: e.name("caller-"), Scopes: scopes})
	for _, p := range perms {
		e.h.Grant(t, "acme", "client:"+c.ID, p[0], p[1])
	}
	return e.h.Token(t, "acme", c.ID, sec)
}

// audits counts the team's audit events written in a change's
// transaction: every change writes one. (The hot paths' events, such as
// the guard's denials, carry an event ID and reach the database later,
// from the audit spool.)
func (e *apiEnv) audits(t *testing.T) int {
	t.Helper()
	n, p := 0, store.Page{Limit: 1000}
	for {
		evs, next, err := e.h.DB.ListAudit(context.Background(), "acme", store.AuditFilter{}, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if ev.EventID == "" {
				n++
			}
		}
		if next == "" {
			return n
		}
		p.Cursor = next
	}
}

func startAPI(t *testing.T) *apiEnv {
	return &apiEnv{h: servertest.Start(t, servertest.WithWallClock())}
}

var admin2 = []string{scope.TeamAdmin}

// The end-to-end life of a client through the admin API: registered with
// POST, a token with the secret of the answer, the secret rotated (the old
// one refused within a second), deleted (its secret refused).
func TestAdminAPIClientLife(t *testing.T) {
	e := startAPI(t)
	root := e.caller(t, admin2, [2]string{"manage", "clients"}, [2]string{"read", "clients"})
	a := e.call(t, "POST", "/api/admin/clients", root, map[string]any{"name": "etl", "grant_types": []string{"client_credentials"},
		"auth_method": "client_secret_basic", "scopes": []string{"audit.log:read"}, "access_token_ttl": "10m"})
	if a.status != http.StatusCreated || a.header.Get("Location") == "" || a.header.Get("ETag") == "" {
		t.Fatalf("register: %v", a)
	}
	var c adminapi.CreatedClient
	a.json(t, &c)
	if c.ClientSecret == "" || c.Name != "etl" || c.AccessTokenTTL != "10m0s" || c.ActiveSecrets != 1 {
		t.Fatalf("registered client: %+v", c)
	}
	tokenStatus := func(secret string) int {
		form := url.Values{"grant_type": {"client_credentials"}}
		req, _ := http.NewRequest("POST", servertest.URL("acme", "/oauth2/token"), strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(c.ClientID, secret)
		resp, err := e.h.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := tokenStatus(c.ClientSecret); s != 200 {
		t.Fatalf("token with the registered secret: %d", s)
	}

	a = e.call(t, "POST", "/api/admin/clients/"+c.ClientID+"/secret", root, nil)
	var rot adminapi.ClientSecret
	a.json(t, &rot)
	if a.status != 200 || rot.ClientSecret == "" || rot.ClientSecret == c.ClientSecret || rot.PreviousSecretExpiresAt != nil {
		t.Fatalf("rotate: %v", a)
	}
	poll.Must(t, time.Second, "the old secret refused", func() bool { return tokenStatus(c.ClientSecret) == 401 })
	if s := tokenStatus(rot.ClientSecret); s != 200 {
		t.Fatalf("token with the new secret: %d", s)
	}

	// With a grace period the old secret works until it ends.
	a = e.call(t, "POST", "/api/admin/clients/"+c.ClientID+"/secret", root, map[string]any{"grace": "1h"})
	var graced adminapi.ClientSecret
	a.json(t, &graced)
	if a.status != 200 || graced.PreviousSecretExpiresAt == nil || graced.PreviousSecretExpiresAt.Before(time.Now().Add(59*time.Minute)) {
		t.Fatalf("rotate with grace: %v", a)
	}
	if s := tokenStatus(rot.ClientSecret); s != 200 {
		t.Errorf("the old secret in its grace period: %d", s)
	}

	if a := e.call(t, "DELETE", "/api/admin/clients/"+c.ClientID, root, nil); a.status != http.StatusNoContent {
		t.Fatalf("delete: %v", a)
	}
	poll.Must(t, time.Second, "the deleted client's secret refused", func() bool { return tokenStatus(graced.ClientSecret) == 401 })
	if a := e.call(t, "GET", "/api/admin/clients/"+c.ClientID, root, nil); a.status != 404 || a.header.Get("Content-Type") != adminapi.ProblemType {
		t.Errorf("read after delete: %v", a)
	}
}

// routeCase makes a request of one admin route that the permission
// allows: a path, a body, and the status of success.
type routeCase func(t *testing.T, e *apiEnv) (path string, body any, status int)

// adminCases has a case for every admin route (method and pattern).
func adminCases() map[string]routeCase {
	fixed := func(path string, body any, status int) routeCase {
		return func(*testing.T, *apiEnv) (string, any, int) { return path, body, status }
	}
	newClient := func(t *testing.T, e *apiEnv) store.Client {
		c, _ := e.h.Client(t, "acme", client.NewClient{Name: e.name("c-"), Scopes: []string{"audit.log:read"}})
		return c
	}
	newUser := func(t *testing.T, e *apiEnv) store.User {
		return e.h.User(t, "acme", admin.NewUser{Email: e.name("u") + "@example.com"})
	}
	return map[string]routeCase{
		"GET /api/admin/clients": fixed("/api/admin/clients?limit=2&scope=audit.log:read", nil, 200),
		"POST /api/admin/clients": func(t *testing.T, e *apiEnv) (string, any, int) {
			return "/api/admin/clients", map[string]any{"name": e.name("new-"), "grant_types": []string{"client_credentials"},
				"auth_method": "client_secret_post", "scopes": []string{"audit.log:read"}}, 201
		},
		"GET /api/admin/clients/{client_id}": func(t *testing.T, e *apiEnv) (string, any, int) {
			return "/api/admin/clients/" + newClient(t, e).ID, nil, 200
		},
		"PATCH /api/admin/clients/{client_id}": func(t *testing.T, e *apiEnv) (string, any, int) {
			return "/api/admin/clients/" + newClient(t, e).ID, map[string]any{"name": e.name("renamed-")}, 200
		},
		"DELETE /api/admin/clients/{client_id}": func(t *testing.T, e *apiEnv) (string, any, int) {
			return "/api/admin/clients/" + newClient(t, e).ID, nil, 204
		},
		"POST /api/admin/clients/{client_id}/secret": func(t *testing.T, e *apiEnv) (string, any, int) {
			return "/api/admin/clients/" + newClient(t, e).ID + "/secret", map[string]any{"grace": "10m"}, 200
		},
		"GET /api/admin/scopes": fixed("/api/admin/scopes", nil, 200),
		"GET /api/admin/apps":   fixed("/api/admin/apps?q=a", nil, 200),
		"POST /api/admin/apps": func(t *testing.T, e *apiEnv) (string, any, int) {
			return "/api/admin/apps", map[string]any{"name": e.name("app-")}, 201
		},
		"DELETE /api/admin/apps/{name}": func(t *testing.T, e *apiEnv) (string, any, int) {
			return "/api/admin/apps/" + e.h.App(t, "acme", e.name("app-")).Name, nil, 204
		},
		"GET /api/admin/keys": fixed("/api/admin/keys?used_before=2030-01-01T00:00:00Z", nil, 200),
		"POST /api/admin/keys": func(t *testing.T, e *apiEnv) (string, any, int) {
			return "/api/admin/keys", map[string]any{"user": newUser(t, e).Email}, 201
		},
		"DELETE /api/admin/keys/{id}": func(t *testing.T, e *apiEnv) (string, any, int) {
			k, _ := e.h.StaticKey(t, "acme", statickey.KindApp, e.h.App(t, "acme", e.name("app-")).Name)
			return "/api/admin/keys/" + k.ID, nil, 204
		},
		"GET /api/admin/static-keys/policy": fixed("/api/admin/static-keys/policy", nil, 200),
		"PUT /api/admin/static-keys/policy": fixed("/api/admin/static-keys/policy", map[string]any{"link": "https://docs.example.com/oauth"}, 200),
		"GET /api/admin/static-keys/report": fixed("/api/admin/static-keys/report?limit=5", nil, 200),
		"POST /api/admin/static-keys/{id}/migrate": func(t *testing.T, e *apiEnv) (string, any, int) {
			app := e.h.App(t, "acme", e.name("app-")).Name
			e.h.Grant(t, "acme", "app:"+app, "manage", "keys") // what the caller holds too
			k, _ := e.h.StaticKey(t, "acme", statickey.KindApp, app)
			return "/api/admin/static-keys/" + k.ID + "/migrate", nil, 201
		},
		"GET /api/admin/users": fixed("/api/admin/users?q=u", nil, 200),
		"POST /api/admin/users": func(t *testing.T, e *apiEnv) (string, any, int) {
			return "/api/admin/users", map[string]any{"email": e.name("new") + "@example.com", "password": "correct horse battery"}, 201
		},
		"GET /api/admin/users/{id}": func(t *testing.T, e *apiEnv) (string, any, int) {
			return "/api/admin/users/" + newUser(t, e).ID, nil, 200
		},
		"PATCH /api/admin/users/{id}": func(t *testing.T, e *apiEnv) (string, any, int) {
			return "/api/admin/users/" + newUser(t, e).ID, map[string]any{"name": "Renamed", "disabled": true}, 200
		},
		"DELETE /api/admin/users/{id}": func(t *testing.T, e *apiEnv) (string, any, int) {
			return "/api/admin/users/" + newUser(t, e).Email, nil, 204
		},
		"DELETE /api/admin/users/{id}/sessions": func(t *testing.T, e *apiEnv) (string, any, int) {
			return "/api/admin/users/" + newUser(t, e).ID + "/sessions", nil, 200
		},
		"GET /api/admin/groups": fixed("/api/admin/groups", nil, 200),
		"POST /api/admin/groups": func(t *testing.T, e *apiEnv) (string, any, int) {
			return "/api/admin/groups", map[string]any{"name": e.name("g-")}, 201
		},
		"DELETE /api/admin/groups/{name}": func(t *testing.T, e *apiEnv) (string, any, int) {
			return "/api/admin/groups/" + e.h.Group(t, "acme", e.name("g-")).Name, nil, 204
		},
		"PUT /api/admin/groups/{name}/members/{email}": func(t *testing.T, e *apiEnv) (string, any, int) {
			return "/api/admin/groups/" + e.h.Group(t, "acme", e.name("g-")).Name + "/members/" + newUser(t, e).Email, nil, 204
		},
		"DELETE /api/admin/groups/{name}/members/{email}": func(t *testing.T, e *apiEnv) (string, any, int) {
			u := newUser(t, e)
			return "/api/admin/groups/" + e.h.Group(t, "acme", e.name("g-"), u.Email).Name + "/members/" + u.Email, nil, 204
		},
		"GET /api/admin/permissions": fixed("/api/admin/permissions?principal=app:none", nil, 200),
		"POST /api/admin/permissions": func(t *testing.T, e *apiEnv) (string, any, int) {
			// The caller holds manage on permissions: it may hand that on.
			return "/api/admin/permissions", map[string]any{"principal": "user:" + newUser(t, e).Email, "action": "manage", "resource": "permissions"}, 201
		},
		"DELETE /api/admin/permissions": func(t *testing.T, e *apiEnv) (string, any, int) {
			u := newUser(t, e)
			e.h.Grant(t, "acme", "user:"+u.Email, "read", "audit-log")
			return "/api/admin/permissions?" + url.Values{"principal": {"user:" + u.Email}, "action": {"read"}, "resource": {"audit-log"}}.Encode(), nil, 204
		},
		"GET /api/admin/signing-keys":         fixed("/api/admin/signing-keys", nil, 200),
		"POST /api/admin/signing-keys/rotate": fixed("/api/admin/signing-keys/rotate", map[string]any{"alg": "ES256"}, 201),
		"GET /api/admin/settings":             fixed("/api/admin/settings", nil, 200),
		"PATCH /api/admin/settings":           fixed("/api/admin/settings", map[string]any{"access_token_ttl": "20m"}, 200),
	}
}

// The permission table: every admin route answers a call without a
// credential 401, one without scope team.admin 403 insufficient_scope,
// one with the scope and without the route's permission 403, and one with
// both what the route does.
func TestAdminAPIPermissions(t *testing.T) {
	e := startAPI(t)
	cases := adminCases()
	// A caller that may do everything but lacks the scope.
	noScope := e.caller(t, []string{"audit.log:read"}, [2]string{"*", "*"})
	// A caller with the scope and no permission.
	noPerm := e.caller(t, admin2)
	holders := map[[2]string]string{}
	for _, rt := range adminapi.Routes() {
		if rt.Profile || rt.Public {
			continue
		}
		key := rt.Method + " " + rt.Path
		mk, ok := cases[key]
		if !ok {
			t.Errorf("%s: no case in the permission table", key)
			continue
		}
		delete(cases, key)
		perm := [2]string{rt.Action, rt.Resource}
		if holders[perm] == "" {
			holders[perm] = e.caller(t, admin2, perm)
		}
		t.Run(key, func(t *testing.T) {
			path, body, want := mk(t, e)
			before := e.audits(t)
			if a := e.call(t, rt.Method, path, "", body); a.status != 401 || !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("no credential: %v", a)
			}
			if a := e.call(t, rt.Method, path, noScope, body); a.status != 403 ||
				!strings.Contains(a.header.Get("WWW-Authenticate"), `error="insufficient_scope"`) || !strings.Contains(string(a.body), `"insufficient_scope"`) {
				t.Errorf("no team.admin scope: %v", a)
			}
			if a := e.call(t, rt.Method, path, noPerm, body); a.status != 403 || !strings.Contains(string(a.body), `"forbidden"`) ||
				!strings.Contains(string(a.body), rt.Action) {
				t.Errorf("scope without permission: %v", a)
			}
			// Refusals change nothing (the guard's denials go to the
			// audit spool, not to the database in this transaction).
			if n := e.audits(t); n != before {
				t.Errorf("the refusals wrote %d audit events", n-before)
			}
			a := e.call(t, rt.Method, path, holders[perm], body)
			if a.status != want {
				t.Errorf("with %s on %s: %v, want %d", rt.Action, rt.Resource, a, want)
			}
			if rt.Method != "GET" && a.status < 300 && e.audits(t) == before {
				t.Errorf("the change wrote no audit event")
			}
		})
	}
	for key := range cases {
		t.Errorf("a case for %s, which is no admin route", key)
	}
}

// A caller hands on only what it holds; nothing crosses teams.
func TestAdminAPIHandsOnOnlyWhatItHolds(t *testing.T) {
	e := startAPI(t)
	caller := e.caller(t, admin2, [2]string{"manage", "permissions"}, [2]string{"read", "data-pools/*"},
		[2]string{"manage", "users"}, [2]string{"manage", "groups"}, [2]string{"manage", "keys"}, [2]string{"manage", "clients"},
		[2]string{"read", "clients"})
	u := e.h.User(t, "acme", admin.NewUser{Email: "ada@example.com"})
	boss := e.h.User(t, "acme", admin.NewUser{Email: "boss@example.com", TeamAdmin: true})
	e.h.Group(t, "acme", "auditors")
	e.h.Grant(t, "acme", "group:auditors", "read", "audit-log")
	rich, _ := e.h.Client(t, "acme", client.NewClient{Name: "rich", Scopes: []string{"audit.log:read"}})
	e.h.Grant(t, "acme", "client:"+rich.ID, "read", "audit-log")
	for _, tc := range []struct {
		name, method, path string
		body               any
		status             int
	}{
		{"grant within a pattern held", "POST", "/api/admin/permissions", map[string]any{"principal": "user:ada@example.com", "action": "read", "resource": "data-pools/7"}, 201},
		{"grant what it lacks", "POST", "/api/admin/permissions", map[string]any{"principal": "user:ada@example.com", "action": "read", "resource": "audit-log"}, 403},
		{"grant wider than held", "POST", "/api/admin/permissions", map[string]any{"principal": "user:ada@example.com", "action": "read", "resource": "*"}, 403},
		{"make a team admin", "POST", "/api/admin/users", map[string]any{"email": "new@example.com", "password": "correct horse battery", "team_admin": true}, 403},
		{"promote a user", "PATCH", "/api/admin/users/" + u.ID, map[string]any{"team_admin": true}, 403},
		{"change a team admin", "PATCH", "/api/admin/users/" + boss.ID, map[string]any{"password": "another horse battery"}, 403},
		{"delete a team admin", "DELETE", "/api/admin/users/" + boss.ID, nil, 403},
		{"join a group whose permissions it lacks", "PUT", "/api/admin/groups/auditors/members/ada@example.com", nil, 403},
		{"a key of a team admin", "POST", "/api/admin/keys", map[string]any{"user": "boss@example.com"}, 403},
		{"a new secret of a client that holds more", "POST", "/api/admin/clients/" + rich.ID + "/secret", nil, 403},
		{"another team's client", "GET", "/api/admin/clients/" + func() string {
			c, _ := e.h.Client(t, "beta", client.NewClient{Name: "theirs", Scopes: []string{"audit.log:read"}})
			return c.ID
		}(), nil, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.audits(t)
			a := e.call(t, tc.method, tc.path, caller, tc.body)
			if a.status != tc.status {
				t.Fatalf("%v, want %d", a, tc.status)
			}
			if a.status >= 400 && e.audits(t) != before {
				t.Errorf("a refused change wrote an audit event")
			}
		})
	}
	// A token of acme is nothing on beta's host.
	req, _ := http.NewRequest("GET", servertest.URL("beta", "/api/admin/clients"), nil)
	req.Header.Set("Authorization", "Bearer "+caller)
	resp, err := e.h.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("acme's token at beta: %d, want 401", resp.StatusCode)
	}
	// The audit event of a change names the actor and the address.
	evs, _, err := e.h.DB.ListAudit(context.Background(), "acme", store.AuditFilter{Action: "permission.grant"}, store.Page{Limit: 1})
	if err != nil || len(evs) != 1 || !strings.HasPrefix(evs[0].Actor, "client:") || evs[0].IP != "127.0.0.1" {
		t.Errorf("grant's audit event: %+v %v", evs, err)
	}
}

// The validation table: a bad value of every field of every POST, PUT and
// PATCH answers 422 naming the field and writes nothing; a duplicate 409;
// a stale If-Match 412.
func TestAdminAPIValidation(t *testing.T) {
	e := startAPI(t)
	root := e.caller(t, admin2, [2]string{"*", "*"})
	c, _ := e.h.Client(t, "acme", client.NewClient{Name: "existing", Scopes: []string{"audit.log:read"}})
	u := e.h.User(t, "acme", admin.NewUser{Email: "ada@example.com"})
	good := map[string]any{"name": "ok", "grant_types": []string{"client_credentials"}, "auth_method": "client_secret_basic", "scopes": []string{"audit.log:read"}}
	with := func(base map[string]any, k string, v any) map[string]any {
		out := map[string]any{}
		for a, b := range base {
			out[a] = b
		}
		out[k] = v
		return out
	}
	for _, tc := range []struct {
		method, path string
		body         any
		field        string
	}{
		{"POST", "/api/admin/clients", with(good, "name", ""), "name"},
		{"POST", "/api/admin/clients", with(good, "name", 7), "name"},
		{"POST", "/api/admin/clients", with(good, "grant_types", []string{"password"}), "grant_types"},
		{"POST", "/api/admin/clients", with(good, "grant_types", "client_credentials"), "grant_types"},
		{"POST", "/api/admin/clients", with(good, "auth_method", "none"), "auth_method"},
		{"POST", "/api/admin/clients", with(good, "scopes", []string{"nope"}), "scopes"},
		{"POST", "/api/admin/clients", with(good, "redirect_uris", []string{"https://x.example.com/cb"}), "redirect_uris"},
		{"POST", "/api/admin/clients", with(with(good, "grant_types", []string{"authorization_code"}), "redirect_uris", []string{"http://evil.example.com/cb"}), "redirect_uris"},
		{"POST", "/api/admin/clients", with(good, "access_token_ttl", "2s"), "access_token_ttl"},
		{"POST", "/api/admin/clients", with(good, "access_token_ttl", "soon"), "access_token_ttl"},
		{"POST", "/api/admin/clients", with(good, "secret", "mine"), "secret"},
		{"PATCH", "/api/admin/clients/" + c.ID, map[string]any{"name": " padded "}, "name"},
		{"PATCH", "/api/admin/clients/" + c.ID, map[string]any{"scopes": []string{}}, "scopes"},
		{"PATCH", "/api/admin/clients/" + c.ID, map[string]any{"redirect_uris": []string{"https://a.example.com/cb"}}, "redirect_uris"},
		{"PATCH", "/api/admin/clients/" + c.ID, map[string]any{"access_token_ttl": "48h"}, "access_token_ttl"},
		{"POST", "/api/admin/clients/" + c.ID + "/secret", map[string]any{"grace": "720h"}, "grace"},
		{"POST", "/api/admin/apps", map[string]any{"name": "a b"}, "name"},
		{"POST", "/api/admin/groups", map[string]any{"name": ""}, "name"},
		{"POST", "/api/admin/keys", map[string]any{"user": "not an email"}, "user"},
		{"POST", "/api/admin/keys", map[string]any{"user": "nobody@example.com"}, "user"},
		{"POST", "/api/admin/keys", map[string]any{"app": "nope"}, "app"},
		{"POST", "/api/admin/keys", map[string]any{"user": "ada@example.com", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"},
		{"POST", "/api/admin/keys", map[string]any{"user": "ada@example.com", "expires_at": "tomorrow"}, "expires_at"},
		{"PUT", "/api/admin/static-keys/policy", map[string]any{"link": "ftp://x"}, "link"},
		{"PUT", "/api/admin/static-keys/policy", map[string]any{"deprecated_since": "2030-01-01T00:00:00Z", "sunset_at": "2029-01-01T00:00:00Z"}, "sunset_at"},
		{"PUT", "/api/admin/static-keys/policy", map[string]any{"refuse_new": "yes"}, "refuse_new"},
		{"POST", "/api/admin/users", map[string]any{"email": "x", "password": "correct horse battery"}, "email"},
		{"POST", "/api/admin/users", map[string]any{"email": "bo@example.com", "password": "short"}, "password"},
		{"POST", "/api/admin/users", map[string]any{"email": "bo@example.com", "password": "correct horse battery", "name": strings.Repeat("n", 300)}, "name"},
		{"POST", "/api/admin/users", map[string]any{"email": "bo@example.com", "password": "correct horse battery", "team_admin": "no"}, "team_admin"},
		{"PATCH", "/api/admin/users/" + u.ID, map[string]any{"email": "@"}, "email"},
		{"PATCH", "/api/admin/users/" + u.ID, map[string]any{"password": "short"}, "password"},
		{"PATCH", "/api/admin/users/" + u.ID, map[string]any{"disabled": 1}, "disabled"},
		{"POST", "/api/admin/permissions", map[string]any{"principal": "robot:x", "action": "read", "resource": "a"}, "principal"},
		{"POST", "/api/admin/permissions", map[string]any{"principal": "user:nobody@example.com", "action": "read", "resource": "a"}, "principal"},
		{"POST", "/api/admin/permissions", map[string]any{"principal": "user:ada@example.com", "action": "Read", "resource": "a"}, "action"},
		{"POST", "/api/admin/permissions", map[string]any{"principal": "user:ada@example.com", "action": "read", "resource": "a//b"}, "resource"},
		{"POST", "/api/admin/signing-keys/rotate", map[string]any{"alg": "RS1"}, "alg"},
		{"PATCH", "/api/admin/settings", map[string]any{"access_token_ttl": "1s"}, "access_token_ttl"},
		{"PATCH", "/api/admin/settings", map[string]any{"token_scope_format": "csv"}, "token_scope_format"},
		{"PATCH", "/api/admin/settings", map[string]any{"signing_alg": "HS256"}, "signing_alg"},
	} {
		t.Run(tc.method+" "+tc.path+" "+tc.field, func(t *testing.T) {
			before := e.audits(t)
			a := e.call(t, tc.method, tc.path, root, tc.body)
			var p adminapi.Problem
			a.json(t, &p)
			if a.status != 422 || a.header.Get("Content-Type") != adminapi.ProblemType || p.Status != 422 || len(p.Errors) == 0 || p.Errors[0].Field != tc.field {
				t.Errorf("%v, want 422 naming %s", a, tc.field)
			}
			if e.audits(t) != before {
				t.Errorf("a refused change wrote an audit event")
			}
		})
	}
	// Every invalid field at once.
	a := e.call(t, "POST", "/api/admin/clients", root, map[string]any{"name": "", "grant_types": []string{}, "auth_method": "x", "scopes": []string{}})
	var p adminapi.Problem
	a.json(t, &p)
	if a.status != 422 || len(p.Errors) != 4 {
		t.Errorf("four invalid fields: %v", a)
	}
	if a := e.call(t, "POST", "/api/admin/clients", root, "[1, 2]"); a.status != 400 {
		t.Errorf("a body that is no object: %v", a)
	}

	// Duplicates.
	for _, tc := range []struct {
		path string
		body map[string]any
	}{
		{"/api/admin/clients", with(good, "name", "existing")},
		{"/api/admin/users", map[string]any{"email": "ADA@example.com", "password": "correct horse battery"}},
		{"/api/admin/apps", map[string]any{"name": "twice"}},
		{"/api/admin/groups", map[string]any{"name": "twice"}},
	} {
		e.call(t, "POST", tc.path, root, tc.body)
		before := e.audits(t)
		if a := e.call(t, "POST", tc.path, root, tc.body); a.status != 409 || a.header.Get("Content-Type") != adminapi.ProblemType {
			t.Errorf("a second %s %v: %v, want 409", tc.path, tc.body, a)
		}
		if e.audits(t) != before {
			t.Errorf("a duplicate wrote an audit event")
		}
	}

	// If-Match: the ETag of the GET; a stale one is 412 and changes
	// nothing.
	for _, path := range []string{"/api/admin/clients/" + c.ID, "/api/admin/users/" + u.ID, "/api/admin/settings", "/api/admin/static-keys/policy"} {
		method := "PATCH"
		change, other := map[string]any{"name": "first"}, map[string]any{"name": "second"}
		switch path {
		case "/api/admin/settings":
			change, other = map[string]any{"access_token_ttl": "20m"}, map[string]any{"access_token_ttl": "30m"}
		case "/api/admin/static-keys/policy":
			method = "PUT"
			change, other = map[string]any{"link": "https://a.example.com"}, map[string]any{"link": "https://b.example.com"}
		}
		g := e.call(t, "GET", path, root, nil)
		tag := g.header.Get("ETag")
		if g.status != 200 || tag == "" {
			t.Fatalf("GET %s: %v without ETag", path, g)
		}
		a := e.call(t, method, path, root, change, "If-Match", tag)
		if a.status != 200 || a.header.Get("ETag") == tag || a.header.Get("ETag") == "" {
			t.Fatalf("%s %s with a current If-Match: %v", method, path, a)
		}
		before := e.audits(t)
		if a := e.call(t, method, path, root, other, "If-Match", tag); a.status != 412 {
			t.Errorf("%s %s with a stale If-Match: %v, want 412", method, path, a)
		}
		if e.audits(t) != before {
			t.Errorf("a stale change wrote an audit event")
		}
		if a := e.call(t, "GET", path, root, nil); bytes.Contains(a.body, []byte("second")) || bytes.Contains(a.body, []byte("30m")) ||
			bytes.Contains(a.body, []byte("b.example.com")) {
			t.Errorf("the stale change was written: %s", a.body)
		}
	}

	// Lists: pages and filters.
	for i := range 5 {
		e.h.App(t, "acme", fmt.Sprintf("page-%d", i))
	}
	var names []string
	cursor := ""
	for range 10 {
		q := "/api/admin/apps?q=PAGE&limit=2"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		var l adminapi.Listing[adminapi.App]
		e.call(t, "GET", q, root, nil).json(t, &l)
		for _, x := range l.Items {
			names = append(names, x.Name)
		}
		if cursor = l.NextCursor; cursor == "" {
			break
		}
	}
	if strings.Join(names, ",") != "page-0,page-1,page-2,page-3,page-4" {
		t.Errorf("paged apps: %v", names)
	}
	for _, q := range []string{"?limit=0", "?limit=x", "?cursor=", "?cursor=%%%", "?nope=1", "?q=a&q=b"} {
		if a := e.call(t, "GET", "/api/admin/apps"+q, root, nil); a.status != 400 || a.header.Get("Content-Type") != adminapi.ProblemType {
			t.Errorf("GET /api/admin/apps%s: %v, want 400", q, a)
		}
	}
}

// The profile API answers the user's own credential (or session), never
// a client's, and keeps each user to their own keys.
func TestProfileAPI(t *testing.T) {
	e := startAPI(t)
	ada := e.h.User(t, "acme", admin.NewUser{Email: "ada@example.com"})
	e.h.User(t, "acme", admin.NewUser{Email: "bob@example.com"})
	_, adaKey := e.h.StaticKey(t, "acme", statickey.KindUser, "ada@example.com")
	bobKey, _ := e.h.StaticKey(t, "acme", statickey.KindUser, "bob@example.com")
	clientTok := e.caller(t, admin2, [2]string{"*", "*"})

	if a := e.call(t, "GET", "/api/profile", "", nil); a.status != 401 {
		t.Errorf("no credential: %v", a)
	}
	if a := e.call(t, "GET", "/api/profile", clientTok, nil); a.status != 403 {
		t.Errorf("a client's token: %v", a)
	}
	var p adminapi.Profile
	a := e.call(t, "GET", "/api/profile", adaKey, nil)
	a.json(t, &p)
	if a.status != 200 || p.ID != ada.ID || p.Email != "ada@example.com" {
		t.Fatalf("profile: %v", a)
	}
	a = e.call(t, "POST", "/api/profile/keys", adaKey, map[string]any{"expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	var k adminapi.CreatedKey
	a.json(t, &k)
	if a.status != 201 || k.Secret == "" || k.Owner != "ada@example.com" || k.ExpiresAt == nil {
		t.Fatalf("create own key: %v", a)
	}
	var l adminapi.Listing[adminapi.Key]
	e.call(t, "GET", "/api/profile/keys", adaKey, nil).json(t, &l)
	if len(l.Items) != 2 {
		t.Errorf("own keys: %+v", l.Items)
	}
	if a := e.call(t, "DELETE", "/api/profile/keys/"+bobKey.ID, adaKey, nil); a.status != 404 {
		t.Errorf("deleting another's key: %v", a)
	}
	if a := e.call(t, "DELETE", "/api/profile/keys/"+k.ID, adaKey, nil); a.status != 204 {
		t.Errorf("deleting an own key: %v", a)
	}
	if a := e.call(t, "GET", "/api/profile/consents", adaKey, nil); a.status != 200 || !strings.Contains(string(a.body), `"items":[]`) {
		t.Errorf("consents: %v", a)
	}
	// Refused once the team's policy refuses new keys.
	if a := e.call(t, "PUT", "/api/admin/static-keys/policy", clientTok, map[string]any{"refuse_new": true}); a.status != 200 {
		t.Fatalf("policy: %v", a)
	}
	if a := e.call(t, "POST", "/api/profile/keys", adaKey, nil); a.status != 403 {
		t.Errorf("a key past the policy: %v", a)
	}
}

// The OpenAPI document describes every /api/ route of the server, and no
// other: the route list and the document are held against each other.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	e := startAPI(t)
	a := e.call(t, "GET", "/api/openapi.json", "", nil)
	if a.status != 200 {
		t.Fatalf("GET /api/openapi.json: %v", a)
	}
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	a.json(t, &doc)
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
			if path == "/api/openapi.json" {
				continue
			}
			if _, ok := op["x-gatehouse-permission"]; !ok {
				t.Errorf("%s %s: no x-gatehouse-permission", method, path)
			}
			if _, ok := op["security"]; !ok {
				t.Errorf("%s %s: no security requirement", method, path)
			}
		}
	}
	served := map[string]bool{}
	for _, pattern := range e.h.Patterns() {
		method, path, ok := strings.Cut(pattern, " ")
		if !ok {
			path, method = pattern, "*"
		}
		if !strings.HasPrefix(path, "/api/") {
			continue
		}
		path = strings.ReplaceAll(path, "...}", "}") // {path...}: OpenAPI names the wildcard alone
		methods := []string{method}
		if method == "*" {
			// A pattern of any method is documented under every method
			// OpenAPI can name.
			methods = adminapi.ForwardMethods
		}
		for _, m := range methods {
			served[m+" "+path] = true
			if !documented[m+" "+path] {
				t.Errorf("the server serves %s, which the document lacks for %s", pattern, m)
			}
		}
	}
	for op := range documented {
		if !served[op] {
			t.Errorf("the document describes %s, which the server does not serve", op)
		}
	}
}

// The document is valid OpenAPI 3.1, and the answers of the APIs match
// the schemas it gives them (requests and answers checked by
// libopenapi-validator).
func TestOpenAPIValidates(t *testing.T) {
	e := startAPI(t)
	raw := e.call(t, "GET", "/api/openapi.json", "", nil).body
	doc, err := libopenapi.NewDocument(raw)
	if err != nil {
		t.Fatal(err)
	}
	if ok, errs := schema_validation.ValidateOpenAPIDocument(doc); !ok {
		for _, err := range errs {
			t.Errorf("the document is not valid OpenAPI 3.1: %s: %s", err.Message, err.Reason)
			for _, se := range err.SchemaValidationErrors {
				t.Errorf("  %s at %s", se.Reason, se.FieldPath)
			}
		}
		t.FailNow()
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	root := e.caller(t, admin2, [2]string{"*", "*"})
	ada := e.h.User(t, "acme", admin.NewUser{Email: "ada@example.com"})
	_, adaKey := e.h.StaticKey(t, "acme", statickey.KindUser, "ada@example.com")
	e.h.Group(t, "acme", "ops", "ada@example.com")
	check := func(method, path, cred string, body any) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, servertest.URL("acme", path), rd)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if cred != "" {
			req.Header.Set("Authorization", "Bearer "+cred)
		}
		resp, err := e.h.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(raw))
		// The validator reads the request's body again.
		if body != nil {
			b, _ := json.Marshal(body)
			req.Body = io.NopCloser(bytes.NewReader(b))
		}
		if ok, errs := v.ValidateHttpRequestResponse(req, resp); !ok {
			for _, err := range errs {
				t.Errorf("%s %s (%d %s): %s: %s", method, path, resp.StatusCode, raw, err.Message, err.Reason)
				for _, se := range err.SchemaValidationErrors {
					t.Errorf("  %s at %s", se.Reason, se.FieldPath)
				}
			}
		}
	}
	check("POST", "/api/admin/clients", root, map[string]any{"name": "etl", "grant_types": []string{"client_credentials"},
		"auth_method": "client_secret_basic", "scopes": []string{"audit.log:read"}})
	check("GET", "/api/admin/clients?limit=5", root, nil)
	check("POST", "/api/admin/clients", root, map[string]any{"name": "", "grant_types": []string{"client_credentials"},
		"auth_method": "client_secret_basic", "scopes": []string{"audit.log:read"}})
	check("GET", "/api/admin/users/"+ada.ID, root, nil)
	check("GET", "/api/admin/groups", root, nil)
	check("GET", "/api/admin/keys", root, nil)
	check("GET", "/api/admin/static-keys/report", root, nil)
	check("GET", "/api/admin/static-keys/policy", root, nil)
	check("GET", "/api/admin/settings", root, nil)
	check("GET", "/api/admin/signing-keys", root, nil)
	check("GET", "/api/admin/permissions", root, nil)
	check("GET", "/api/profile", adaKey, nil)
	check("GET", "/api/profile/keys", adaKey, nil)
	check("GET", "/api/team/users", adaKey, nil) // 403: ada may not
	check("GET", "/api/admin/clients", "", nil)  // 401
	e.h.Grant(t, "acme", "user:ada@example.com", "read", "users")
	check("GET", "/api/team/users", adaKey, nil)
}

// Listings refuse, with 400 naming the parameter, what no record can hold
// and a database would refuse: a search, filter or cursor that is not
// UTF-8 or carries a NUL (PostgreSQL errors on either in a text
// parameter). On both backends.
func TestAdminListsRefuseMalformedParameters(t *testing.T) {
	for _, backend := range []struct {
		name string
		opts []servertest.Option
	}{
		{"sqlite", nil},
		{"postgres", []servertest.Option{servertest.WithPostgres()}},
	} {
		t.Run(backend.name, func(t *testing.T) {
			e := &apiEnv{h: servertest.Start(t, append(backend.opts, servertest.WithWallClock())...)}
			root := e.caller(t, admin2, [2]string{"*", "*"})
			cursor := func(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }
			for _, tc := range []struct{ path, field string }{
				{"/api/admin/users?q=%00", "q"},
				{"/api/admin/users?q=%FF", "q"},
				{"/api/admin/users?cursor=" + cursor("a\xffb"), "cursor"},
				{"/api/admin/users?cursor=" + cursor("a\x00b"), "cursor"},
				{"/api/admin/groups?q=%C3", "q"},
				{"/api/admin/groups?cursor=" + cursor("\xff"), "cursor"},
				{"/api/admin/apps?q=x%00", "q"},
				{"/api/admin/apps?cursor=" + cursor("\x00"), "cursor"},
				{"/api/admin/clients?scope=%FF", "scope"},
				{"/api/admin/clients?grant_type=%00", "grant_type"},
				{"/api/admin/clients?cursor=" + cursor("\xfe\xff"), "cursor"},
				{"/api/admin/keys?user=%FF", "user"},
				{"/api/admin/keys?cursor=" + cursor("\x00"), "cursor"},
				{"/api/admin/permissions?principal=user:%FF", "principal"},
				{"/api/admin/permissions?cursor=" + cursor("a\x00\xff\x00c"), "cursor"},
				{"/api/admin/permissions?cursor=" + cursor("a\x00b"), "cursor"},
				{"/api/admin/static-keys/report?cursor=" + cursor("\xff"), "cursor"},
			} {
				a := e.call(t, "GET", tc.path, root, nil)
				var p adminapi.Problem
				if a.status != http.StatusBadRequest || a.header.Get("Content-Type") != adminapi.ProblemType {
					t.Errorf("GET %s: %v, want 400", tc.path, a)
					continue
				}
				a.json(t, &p)
				if len(p.Errors) != 1 || p.Errors[0].Field != tc.field {
					t.Errorf("GET %s: errors %+v, want one naming %s", tc.path, p.Errors, tc.field)
				}
			}
			// A record named in the path: none is named so, so 404 (or
			// 422 for what cannot be a name at all), never a 500.
			for _, tc := range []struct{ method, path string }{
				{"GET", "/api/admin/users/%FF"}, {"GET", "/api/admin/users/a%00b"}, {"PATCH", "/api/admin/users/%FF"},
				{"DELETE", "/api/admin/users/%00"}, {"DELETE", "/api/admin/users/%FF/sessions"},
				{"GET", "/api/admin/clients/%FF"}, {"DELETE", "/api/admin/clients/%00"}, {"POST", "/api/admin/clients/%FF/secret"},
				{"DELETE", "/api/admin/apps/%FF"}, {"DELETE", "/api/admin/groups/%00"},
				{"PUT", "/api/admin/groups/%FF/members/ada@example.com"}, {"DELETE", "/api/admin/groups/eng/members/%FF"},
				{"DELETE", "/api/admin/keys/%FF"}, {"POST", "/api/admin/static-keys/%00/migrate"},
				{"DELETE", "/api/admin/permissions?principal=user:a%00b&action=read&resource=x"},
			} {
				var body any
				if tc.method == "PATCH" || tc.method == "POST" {
					body = map[string]any{}
				}
				a := e.call(t, tc.method, tc.path, root, body)
				if a.status != http.StatusNotFound && a.status != http.StatusUnprocessableEntity && a.status != http.StatusBadRequest {
					t.Errorf("%s %s: %v, want 404, 422 or 400", tc.method, tc.path, a)
				}
			}
		})
	}
}

// Group names as identity providers send them (spaces, any Unicode, even
// '/' escaped in the path) work through every group route of the admin
// API and in the group: principal of a permission.
func TestAdminAPIGroupNamesWithSpacesAndUnicode(t *testing.T) {
	t.Parallel()
	e := startAPI(t)
	root := e.caller(t, admin2, [2]string{"manage", "groups"}, [2]string{"read", "groups"}, [2]string{"manage", "permissions"}, [2]string{"read", "audit-log"})
	u := e.h.User(t, "acme", admin.NewUser{Email: "member@example.com"})
	for _, name := range []string{"Sales Team", "Ventes – Europe", "営業 部", "R&D: Tools/Infra"} {
		t.Run(name, func(t *testing.T) {
			path := "/api/admin/groups/" + url.PathEscape(name)
			if a := e.call(t, "POST", "/api/admin/groups", root, map[string]any{"name": name}); a.status != 201 {
				t.Fatalf("create: %s", a)
			} else if loc := a.header.Get("Location"); loc != path {
				t.Errorf("Location %q, want %q", loc, path)
			}
			if a := e.call(t, "PUT", path+"/members/"+u.Email, root, nil); a.status != 204 {
				t.Fatalf("add member: %s", a)
			}
			var list struct {
				Items []struct {
					Name    string   `json:"name"`
					Members []string `json:"members"`
				} `json:"items"`
			}
			if a := e.call(t, "GET", "/api/admin/groups?q="+url.QueryEscape(name), root, nil); a.status != 200 {
				t.Fatalf("search: %s", a)
			} else {
				a.json(t, &list)
			}
			if len(list.Items) != 1 || list.Items[0].Name != name || !slices.Equal(list.Items[0].Members, []string{u.Email}) {
				t.Errorf("search %q: %+v", name, list.Items)
			}
			perm := map[string]any{"principal": "group:" + name, "action": "read", "resource": "audit-log"}
			if a := e.call(t, "POST", "/api/admin/permissions", root, perm); a.status != 201 {
				t.Fatalf("grant: %s", a)
			}
			q := url.Values{"principal": {"group:" + name}, "action": {"read"}, "resource": {"audit-log"}}
			if a := e.call(t, "DELETE", "/api/admin/permissions?"+q.Encode(), root, nil); a.status != 204 {
				t.Fatalf("revoke: %s", a)
			}
			if a := e.call(t, "DELETE", path+"/members/"+u.Email, root, nil); a.status != 204 {
				t.Fatalf("remove member: %s", a)
			}
			if a := e.call(t, "DELETE", path, root, nil); a.status != 204 {
				t.Fatalf("delete: %s", a)
			}
		})
	}
	// Still refused: control characters and white space at either end.
	for _, name := range []string{" Sales", "Sales\tTeam", "a\u202eb"} {
		if a := e.call(t, "POST", "/api/admin/groups", root, map[string]any{"name": name}); a.status != 422 {
			t.Errorf("create %q: %s, want 422", name, a)
		}
	}
}
