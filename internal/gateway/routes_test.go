package gateway_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/internal/gateway"
)

func TestLoad(t *testing.T) {
	path := writeRoutes(t, "", `
routes:
  - match: "POST /integration/api/pools/{pool}/push"   # the contract's example
    scope: integration.data-pools:data_push
    permission: "push data-pools/{pool}"
    upstream: http://127.0.0.1:9001
  - match: GET /files/{path...}
    scope: integration.data-pools
    permission: read files/{path}
    upstream: https://files.internal:8443/v1/
    timeout: 2m
    body_timeout: 10m
    max_duration: 1h
    pass_headers: [X-HTTP-Method-Override, x_real_ip]
  - match: GET /integration/api/pools/{$}
    scope: integration.data-pools
    permission: list data-pools
    upstream: http://127.0.0.1:9001
`)
	tab, err := gateway.Load(path, catalog(t))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := []gateway.Route{
		{Match: "POST /integration/api/pools/{pool}/push", Scope: "integration.data-pools:data_push",
			Action: "push", Resource: "data-pools/{pool}", Upstream: "http://127.0.0.1:9001",
			Timeout: gateway.DefaultTimeout, BodyTimeout: gateway.DefaultBodyTimeout, MaxDuration: gateway.DefaultMaxDuration},
		{Match: "GET /files/{path...}", Scope: "integration.data-pools",
			Action: "read", Resource: "files/{path}", Upstream: "https://files.internal:8443/v1/",
			Timeout: 2 * time.Minute, BodyTimeout: 10 * time.Minute, MaxDuration: time.Hour,
			PassHeaders: []string{"X-HTTP-Method-Override", "x_real_ip"}},
		{Match: "GET /integration/api/pools/{$}", Scope: "integration.data-pools",
			Action: "list", Resource: "data-pools", Upstream: "http://127.0.0.1:9001",
			Timeout: gateway.DefaultTimeout, BodyTimeout: gateway.DefaultBodyTimeout, MaxDuration: gateway.DefaultMaxDuration},
	}
	if diff := cmp.Diff(want, tab.Routes()); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
}

// A route without an upstream is decision-only: loaded with the same
// rules and defaults, for forward authentication alone.
func TestLoadDecisionOnly(t *testing.T) {
	path := writeRoutes(t, "", `routes:
  - match: "POST /integration/api/pools/{pool}/push"
    scope: integration.data-pools:data_push
    permission: "push data-pools/{pool}"
  - match: GET /integration/api/pools/{$}
    scope: integration.data-pools
    permission: list data-pools
    upstream: http://127.0.0.1:9001
`)
	tab, err := gateway.Load(path, catalog(t))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	routes := tab.Routes()
	if len(routes) != 2 || !routes[0].DecisionOnly() || routes[1].DecisionOnly() {
		t.Fatalf("routes %+v: want the first decision-only, the second not", routes)
	}
	if r := routes[0]; r.Action != "push" || r.Resource != "data-pools/{pool}" || r.Upstream != "" {
		t.Errorf("decision-only route %+v", r)
	}
}

func TestLoadEmptyList(t *testing.T) {
	tab, err := gateway.Load(writeRoutes(t, "", "routes: []\n"), catalog(t))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if tab.Len() != 0 {
		t.Errorf("Len = %d, want 0", tab.Len())
	}
}

// route is a valid route, for the tests to break one key at a time.
func route(match, scope, permission, upstream string, extra ...string) string {
	s := "  - match: " + quote(match) + "\n"
	if scope != "" {
		s += "    scope: " + quote(scope) + "\n"
	}
	if permission != "" {
		s += "    permission: " + quote(permission) + "\n"
	}
	if upstream != "" {
		s += "    upstream: " + quote(upstream) + "\n"
	}
	for _, e := range extra {
		s += "    " + e + "\n"
	}
	return s
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

const (
	okMatch = "POST /integration/api/pools/{pool}/push"
	okScope = "integration.data-pools:data_push"
	okPerm  = "push data-pools/{pool}"
	okUp    = "http://127.0.0.1:9001"
)

// TestLoadErrors has one case per class of problem: each must be reported,
// on one line that names the file, the line and the route.
func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		file string
		want []string // substrings of the error, each on a line of its own
	}{
		// The file's shape.
		{"empty file", "", []string{"the file is empty"}},
		{"yaml syntax", "routes: [\n", []string{"yaml:"}},
		{"two documents", "routes: []\n---\nroutes: []\n", []string{"want one YAML document"}},
		{"not a mapping", "- a\n- b\n", []string{":1: want a mapping with a routes: list"}},
		{"no routes key", "other: 1\n", []string{`unknown key "other"`}},
		{"routes not a list", "routes: 3\n", []string{"routes: want a list of routes"}},
		{"routes null", "routes:\n", []string{"routes: want a list of routes"}},
		{"route not a mapping", "routes:\n  - just a string\n", []string{":2: route 1: want a mapping"}},
		{"unknown key", "routes:\n" + route(okMatch, okScope, okPerm, okUp, "tmeout: 5s"),
			[]string{`:6: route 1 "POST /integration/api/pools/{pool}/push": unknown key "tmeout"`}},
		{"repeated key", "routes:\n" + route(okMatch, okScope, okPerm, okUp, "scope: audit.log:read"),
			[]string{`:6: route 1 "POST /integration/api/pools/{pool}/push": scope appears twice`}},
		{"value not a string", "routes:\n" + route(okMatch, okScope, okPerm, okUp, "timeout: [1, 2]"),
			[]string{"timeout: want a string"}},

		// match
		{"missing match", "routes:\n  - scope: " + okScope + "\n    permission: push data-pools\n    upstream: " + okUp + "\n",
			[]string{"route 1: match is missing"}},
		{"no method", "routes:\n" + route("/integration/api/pools", okScope, "push data-pools", okUp),
			[]string{`route 1 "/integration/api/pools": match: want a method and a path`}},
		{"lower-case method", "routes:\n" + route("post /integration/x", okScope, "push data-pools", okUp),
			[]string{`method "post" is not an upper-case HTTP method`}},
		{"method not a token", "routes:\n" + route("PO(ST /integration/x", okScope, "push data-pools", okUp),
			[]string{`method "PO(ST" is not an upper-case HTTP method`}},
		{"relative path", "routes:\n" + route("POST integration/x", okScope, "push data-pools", okUp),
			[]string{`path "integration/x" must start with '/'`}},
		{"query in path", "routes:\n" + route("POST /integration/x?a=1", okScope, "push data-pools", okUp),
			[]string{`may not hold '?'`}},
		{"wildcard not a segment", "routes:\n" + route("POST /integration/pool-{id}", okScope, "push data-pools", okUp),
			[]string{`segment "pool-{id}": a wildcard {name} must be a whole segment`}},
		{"bad wildcard name", "routes:\n" + route("POST /integration/{1pool}", okScope, "push data-pools", okUp),
			[]string{`wildcard {1pool}: a name is a letter or '_'`}},
		{"empty wildcard", "routes:\n" + route("POST /integration/{}", okScope, "push data-pools", okUp),
			[]string{`wildcard {}: a name`}},
		{"repeated wildcard", "routes:\n" + route("POST /integration/{pool}/x/{pool}", okScope, "push data-pools/{pool}", okUp),
			[]string{`wildcard {pool} appears twice`}},
		{"rest wildcard not last", "routes:\n" + route("POST /integration/{rest...}/push", okScope, "push data-pools", okUp),
			[]string{`{rest...} may only end the path`}},
		{"{$} not last", "routes:\n" + route("POST /integration/{$}/push", okScope, "push data-pools", okUp),
			[]string{`{$} may only end the path`}},
		{"Gatehouse's own path", "routes:\n" + route("POST /oauth2/token", okScope, "push data-pools", okUp),
			[]string{`/oauth2 is Gatehouse's own path`}},
		{"Gatehouse's own well-known path", "routes:\n" + route("GET /.well-known/x", okScope, "push data-pools", okUp),
			[]string{`/.well-known is Gatehouse's own path`}},
		{"Gatehouse's own page", "routes:\n" + route("GET /login/{rest...}", okScope, "push data-pools", okUp),
			[]string{`/login is Gatehouse's own path`}},
		{"catch-all of the finding", "routes:\n" + route("POST /{service}/{rest...}", okScope, "push data-pools", okUp),
			[]string{`path "/{service}/{rest...}": a wildcard first segment matches Gatehouse's own paths too (under /oauth2, /.well-known, /api`}},
		{"wildcard first segment", "routes:\n" + route("GET /{tenant}/reports", okScope, "push data-pools", okUp),
			[]string{`a wildcard first segment matches Gatehouse's own paths`}},
		{"rest wildcard at the root", "routes:\n" + route("GET /{path...}", okScope, "push data-pools", okUp),
			[]string{`a wildcard first segment matches Gatehouse's own paths`}},
		{"root subtree", "routes:\n" + route("POST /", okScope, "push data-pools", okUp),
			[]string{`path "/" matches every path, Gatehouse's own too`}},
		{"escaped own path", "routes:\n" + route("POST /oauth%32/token", okScope, "push data-pools", okUp),
			[]string{`may not hold '?', '#', '%', '\'`}},
		{"duplicate match", "routes:\n" + route(okMatch, okScope, okPerm, okUp) + route("POST /integration/api/pools/{id}/push", okScope, "push data-pools/{id}", okUp),
			[]string{`:6: route 2 "POST /integration/api/pools/{id}/push": duplicate match: route "POST /integration/api/pools/{pool}/push"`}},
		{"conflicting match", "routes:\n" + route("GET /integration/{a}/x", okScope, "read data-pools", okUp) + route("GET /integration/y/{b}", okScope, "read data-pools", okUp),
			[]string{`route 2 "GET /integration/y/{b}": match conflicts with route "GET /integration/{a}/x"`}},

		// scope
		{"missing scope", "routes:\n" + route(okMatch, "", okPerm, okUp), []string{"scope is missing"}},
		{"unknown scope", "routes:\n" + route(okMatch, "integration.data-pools:push", okPerm, okUp),
			[]string{`:3: route 1 "POST /integration/api/pools/{pool}/push": scope "integration.data-pools:push" is not in the scope catalog`}},

		// permission
		{"missing permission", "routes:\n" + route(okMatch, okScope, "", okUp), []string{"permission is missing"}},
		{"permission without resource", "routes:\n" + route(okMatch, okScope, "push", okUp),
			[]string{`permission "push": want an action and a resource`}},
		{"permission with three words", "routes:\n" + route(okMatch, okScope, "push data pools", okUp),
			[]string{`permission "push data pools": want an action and a resource`}},
		{"bad action", "routes:\n" + route(okMatch, okScope, "Push data-pools/{pool}", okUp),
			[]string{`permission "Push data-pools/{pool}": invalid action "Push"`}},
		{"wildcard action", "routes:\n" + route(okMatch, okScope, "* data-pools/{pool}", okUp),
			[]string{`a route names one action`}},
		{"placeholder not in match", "routes:\n" + route(okMatch, okScope, "push data-pools/{id}", okUp),
			[]string{`{id} is not a wildcard of the match (it has {pool})`}},
		{"unclosed placeholder", "routes:\n" + route(okMatch, okScope, "push data-pools/{pool", okUp),
			[]string{`'{' without '}'`}},
		{"stray brace", "routes:\n" + route(okMatch, okScope, "push data-pools}/{pool}", okUp),
			[]string{`'}' without '{'`}},
		{"bad resource literal", "routes:\n" + route(okMatch, okScope, "push data+pools/{pool}", okUp),
			[]string{`resource "data+pools/{pool}", with path values filled in as "x": invalid resource`}},
		{"empty resource segment", "routes:\n" + route(okMatch, okScope, "push data-pools//{pool}", okUp),
			[]string{`empty segment`}},
		{"wildcard resource", "routes:\n" + route(okMatch, okScope, "push data-pools/*", okUp),
			[]string{`'*' belongs in grants`}},

		// upstream
		{"empty upstream", "routes:\n" + route(okMatch, okScope, okPerm, "", `upstream: ""`), []string{"upstream is missing"}},
		{"null upstream", "routes:\n" + route(okMatch, okScope, okPerm, "", "upstream:"), []string{"upstream is missing"}},
		{"upstream not http", "routes:\n" + route(okMatch, okScope, okPerm, "ftp://127.0.0.1/"),
			[]string{`upstream "ftp://127.0.0.1/": want an http:// or https:// URL`}},
		{"upstream without scheme", "routes:\n" + route(okMatch, okScope, okPerm, "localhost:9001"),
			[]string{`upstream "localhost:9001": want an http:// or https:// URL`}},
		{"upstream without host", "routes:\n" + route(okMatch, okScope, okPerm, "http:///base"),
			[]string{`upstream "http:///base": want a host`}},
		{"upstream with query", "routes:\n" + route(okMatch, okScope, okPerm, "http://127.0.0.1:9001/?a=1"),
			[]string{`may not hold a query`}},
		{"upstream with fragment", "routes:\n" + route(okMatch, okScope, okPerm, "http://127.0.0.1:9001/#x"),
			[]string{`may not hold a fragment`}},
		{"upstream with credentials", "routes:\n" + route(okMatch, okScope, okPerm, "http://u:p@127.0.0.1:9001/"),
			[]string{`may not hold credentials`}},
		{"upstream unparsable", "routes:\n" + route(okMatch, okScope, okPerm, "http://127.0.0.1:port/"),
			[]string{`upstream "http://127.0.0.1:port/"`}},

		// timeout
		{"timeout without unit", "routes:\n" + route(okMatch, okScope, okPerm, okUp, "timeout: 30"),
			[]string{`timeout "30": want a duration such as 30s`}},
		{"negative timeout", "routes:\n" + route(okMatch, okScope, okPerm, okUp, "timeout: -1s"),
			[]string{`timeout "-1s": want a positive duration`}},
		{"bad body_timeout", "routes:\n" + route(okMatch, okScope, okPerm, okUp, "body_timeout: soon"),
			[]string{`body_timeout "soon": want a duration`}},
		{"zero max_duration", "routes:\n" + route(okMatch, okScope, okPerm, okUp, "max_duration: 0s"),
			[]string{`max_duration "0s": want a positive duration`}},

		// pass_headers
		{"pass_headers not a list", "routes:\n" + route(okMatch, okScope, okPerm, okUp, "pass_headers: X-Real-IP"),
			[]string{`pass_headers: want a list of header names`}},
		{"pass_headers of a header never stripped", "routes:\n" + route(okMatch, okScope, okPerm, okUp, "pass_headers: [Content-Type]"),
			[]string{`pass_headers: Content-Type is never stripped`}},
		{"pass_headers of the gateway's own", "routes:\n" + route(okMatch, okScope, okPerm, okUp, "pass_headers: [X-Forwarded-For]"),
			[]string{`pass_headers: X-Forwarded-For is set by the gateway itself`}},
		{"pass_headers of a credential", "routes:\n" + route(okMatch, okScope, okPerm, okUp, "pass_headers: [X-Gatehouse-Team]"),
			[]string{`pass_headers: X-Gatehouse-Team is Gatehouse's own: the gateway never passes the caller's`}},

		// decision-only routes: the same rules, and nothing about a call
		{"decision-only with timeout", "routes:\n" + route(okMatch, okScope, okPerm, "", "timeout: 1s"),
			[]string{`timeout is for a route with an upstream; a route without one is decision-only`}},
		{"decision-only with body_timeout", "routes:\n" + route(okMatch, okScope, okPerm, "", "body_timeout: 1s"),
			[]string{`body_timeout is for a route with an upstream`}},
		{"decision-only with max_duration", "routes:\n" + route(okMatch, okScope, okPerm, "", "max_duration: 1s"),
			[]string{`max_duration is for a route with an upstream`}},
		{"decision-only with pass_headers", "routes:\n" + route(okMatch, okScope, okPerm, "", "pass_headers: [X-Real-IP]"),
			[]string{`pass_headers is for a route with an upstream`}},
		{"decision-only on Gatehouse's path", "routes:\n" + route("GET /oauth2/token", okScope, "read x", ""),
			[]string{`/oauth2 is Gatehouse's own path`}},
		{"decision-only with a bad scope", "routes:\n" + route(okMatch, "no.such:scope", okPerm, ""),
			[]string{`scope "no.such:scope" is not in the scope catalog`}},
		{"decision-only conflicting", "routes:\n" + route(okMatch, okScope, okPerm, okUp) + route(okMatch, okScope, okPerm, ""),
			[]string{`duplicate match`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeRoutes(t, "", tt.file)
			tab, err := gateway.Load(path, catalog(t))
			if err == nil {
				t.Fatalf("Load succeeded with %d routes, want an error", tab.Len())
			}
			checkLines(t, path, err, tt.want)
		})
	}
}

// TestLoadErrorsAtOnce checks that every problem of a file is reported in
// one error, one line each.
func TestLoadErrorsAtOnce(t *testing.T) {
	path := writeRoutes(t, "", "routes:\n"+
		route(okMatch, okScope, okPerm, okUp)+ // good
		route("post /integration/x", "no.such:scope", "push data-pools/{id}", "ftp://x/", "timeout: soon")+
		route(okMatch, okScope, okPerm, okUp, "extra: 1")+
		route("GET /integration/y/{a}", okScope, "Read data-pools/{a}", "http://127.0.0.1:9001?q"))
	_, err := gateway.Load(path, catalog(t))
	if err == nil {
		t.Fatal("Load succeeded, want an error")
	}
	checkLines(t, path, err, []string{
		`:6: route 2 "post /integration/x": method "post" is not an upper-case HTTP method`,
		`:7: route 2 "post /integration/x": scope "no.such:scope" is not in the scope catalog`,
		`:9: route 2 "post /integration/x": upstream "ftp://x/"`,
		`:10: route 2 "post /integration/x": timeout "soon"`,
		`:15: route 3 "POST /integration/api/pools/{pool}/push": unknown key "extra"`,
		`:11: route 3 "POST /integration/api/pools/{pool}/push": duplicate match`,
		`:18: route 4 "GET /integration/y/{a}": permission "Read data-pools/{a}": invalid action`,
		`:19: route 4 "GET /integration/y/{a}": upstream "http://127.0.0.1:9001?q": may not hold a query`,
	})
	if n := strings.Count(err.Error(), "\n") + 1; n != 8 {
		t.Errorf("got %d problems, want 8:\n%v", n, err)
	}
}

// checkLines checks that each of want is in a line of err, and that every
// line of err names the file.
func checkLines(t *testing.T, path string, err error, want []string) {
	t.Helper()
	lines := strings.Split(err.Error(), "\n")
	for _, l := range lines {
		if !strings.HasPrefix(l, path+":") {
			t.Errorf("line %q does not start with the file name", l)
		}
	}
	for _, w := range want {
		found := false
		for _, l := range lines {
			found = found || strings.Contains(l, w)
		}
		if !found {
			t.Errorf("no line holds %q; the error:\n%v", w, err)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := gateway.Load(t.TempDir()+"/nope.yaml", catalog(t))
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Errorf("Load = %v, want an error naming the file", err)
	}
}
