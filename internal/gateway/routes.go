package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/gatehouse/gatehouse/internal/authz"
)

// Scopes is the scope catalog that a route's scope must be in;
// *scope.Catalog is one.
type Scopes interface {
	Has(name string) bool
}

// A route's deadlines unless it sets its own.
const (
	// DefaultTimeout is how long a route waits for the upstream's
	// response headers once the request is sent (timeout).
	DefaultTimeout = 30 * time.Second
	// DefaultBodyTimeout is how long the caller has to send the whole
	// request body once the call is authorized (body_timeout).
	DefaultBodyTimeout = time.Minute
	// DefaultMaxDuration bounds a whole call, from authorization to the
	// last byte of the answer (max_duration): a stream that must last
	// longer says so in its route.
	DefaultMaxDuration = 5 * time.Minute
)

// Route is a route of the route file, validated.
type Route struct {
	Match    string // "POST /integration/api/pools/{pool}/push"
	Scope    string
	Action   string
	Resource string // a template: "data-pools/{pool}"
	// Upstream is where the gateway proxies the route's calls; "" for a
	// decision-only route, which only forward authentication decides
	// (its proxy sends the calls on itself).
	Upstream    string
	Timeout     time.Duration // for the upstream's response headers
	BodyTimeout time.Duration // for the caller's request body
	MaxDuration time.Duration // for the whole call
	PassHeaders []string      // override headers passed to the upstream, as written
}

// route is a Route ready to serve.
type route struct {
	Route
	pattern  pattern
	resource []part
	used     map[string]bool // the wildcards the resource uses
	pass     map[string]bool // headerKeys of PassHeaders
	upstream *url.URL        // nil: decision-only
	proxy    http.Handler    // nil: decision-only
}

// DecisionOnly reports whether the route has no upstream: forward
// authentication decides its calls, and the gateway does not serve it.
func (r Route) DecisionOnly() bool { return r.Upstream == "" }

// Table is the routes of one route file. It is immutable and safe for
// concurrent use.
type Table struct {
	routes  []*route
	proxied *http.ServeMux // the patterns of the routes with an upstream, to match without serving
	methods []string       // the method of every route with an upstream, for 405's Allow
}

// Load reads and validates the route file at path, with DefaultReserved
// as Gatehouse's own paths. It reports every problem of the file at once,
// joined, one line each, naming the route.
func Load(path string, scopes Scopes) (*Table, error) {
	return load(path, scopes, nil, newPool(), nil, false)
}

// load reads and validates the route file at path (see Load) and makes
// each route's proxy, with the transports of pool; reserved are the first
// path segments that are Gatehouse's own (nil: DefaultReserved).
func load(path string, scopes Scopes, reserved []string, pool *pool, log *slog.Logger, ownOrigin bool) (*Table, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("gateway routes: %w", err)
	}
	if reserved == nil {
		reserved = DefaultReserved
	}
	probs := &problems{file: path}
	specs := parseFile(data, probs)
	t := build(specs, scopes, reserved, probs)
	if err := probs.err(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for _, rt := range t.routes {
		if rt.upstream != nil {
			rt.proxy = newProxy(rt, pool.transport(rt.upstream, rt.Timeout), log, ownOrigin)
		}
	}
	return t, nil
}

// Routes returns the table's routes, in file order.
func (t *Table) Routes() []Route {
	out := make([]Route, len(t.routes))
	for i, rt := range t.routes {
		out[i] = rt.Route
	}
	return out
}

// Len is the number of routes.
func (t *Table) Len() int { return len(t.routes) }

// spec is a route as written in the file.
type spec struct {
	match, scope, permission, upstream string
	timeout, bodyTimeout, maxDuration  string
	passHeaders                        []string

	index int             // 1-based
	line  int             // of the route
	lines map[string]int  // of each key's value
	skip  map[string]bool // keys whose value is not a string
}

var specKeys = []string{"match", "scope", "permission", "upstream", "timeout", "body_timeout", "max_duration", "pass_headers"}

// problems collects what is wrong with a route file.
type problems struct {
	file string
	list []problem
}

type problem struct {
	line int // 0: the whole file
	err  error
}

func (p *problems) add(line int, err error) { p.list = append(p.list, problem{line, err}) }

func (p *problems) addf(line int, format string, a ...any) { p.add(line, fmt.Errorf(format, a...)) }

// err is every problem, in the order of the file, one a line: file:line:
// what.
func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	slices.SortStableFunc(p.list, func(a, b problem) int { return a.line - b.line })
	errs := make([]error, len(p.list))
	for i, pr := range p.list {
		if pr.line == 0 {
			errs[i] = fmt.Errorf("%s: %w", p.file, pr.err)
		} else {
			errs[i] = fmt.Errorf("%s:%d: %w", p.file, pr.line, pr.err)
		}
	}
	return errors.Join(errs...)
}

// parseFile decodes a route file: a mapping whose one key, routes, is a
// list of mappings with the keys of specKeys.
func parseFile(data []byte, probs *problems) []spec {
	bad := probs.addf
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			bad(0, "the file is empty: want a routes: list (routes: [] for none)")
			return nil
		}
		probs.add(0, err)
		return nil
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		bad(0, "want one YAML document, found more")
		return nil
	}
	top := deref(&doc)
	if top.Kind == yaml.DocumentNode && len(top.Content) == 1 {
		top = deref(top.Content[0])
	}
	if top.Kind != yaml.MappingNode {
		bad(top.Line, "want a mapping with a routes: list")
		return nil
	}
	var list *yaml.Node
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], deref(top.Content[i+1])
		switch {
		case k.Value != "routes":
			bad(k.Line, "unknown key %q: the file has only routes:", k.Value)
		case list != nil:
			bad(k.Line, "routes: appears twice")
		default:
			list = v
		}
	}
	switch {
	case list == nil:
		bad(top.Line, "no routes: list (routes: [] for none)")
		return nil
	case list.Kind != yaml.SequenceNode:
		bad(list.Line, "routes: want a list of routes (routes: [] for none)")
		return nil
	}

	specs := make([]spec, 0, len(list.Content))
	for i, n := range list.Content {
		n = deref(n)
		s := spec{index: i + 1, line: n.Line, lines: map[string]int{}, skip: map[string]bool{}}
		if n.Kind != yaml.MappingNode {
			bad(n.Line, "route %d: want a mapping with keys %s", s.index, strings.Join(specKeys, ", "))
			continue
		}
		// The match names the route in messages about its other keys.
		for j := 0; j+1 < len(n.Content); j += 2 {
			if n.Content[j].Value == "match" {
				s.match = deref(n.Content[j+1]).Value
			}
		}
		for j := 0; j+1 < len(n.Content); j += 2 {
			k, v := n.Content[j], deref(n.Content[j+1])
			var field *string
			switch k.Value {
			case "match":
				field = &s.match
			case "scope":
				field = &s.scope
			case "permission":
				field = &s.permission
			case "upstream":
				field = &s.upstream
			case "timeout":
				field = &s.timeout
			case "body_timeout":
				field = &s.bodyTimeout
			case "max_duration":
				field = &s.maxDuration
			case "pass_headers":
			default:
				bad(k.Line, "%s: unknown key %q (want %s)", s.label(), k.Value, strings.Join(specKeys, ", "))
				continue
			}
			if _, dup := s.lines[k.Value]; dup {
				bad(k.Line, "%s: %s appears twice", s.label(), k.Value)
				continue
			}
			s.lines[k.Value] = v.Line
			if field == nil { // pass_headers: a list of names
				names, ok := stringList(v)
				if !ok {
					bad(v.Line, "%s: pass_headers: want a list of header names, such as [X-HTTP-Method-Override]", s.label())
					s.skip[k.Value] = true
					continue
				}
				s.passHeaders = names
				continue
			}
			if v.Kind != yaml.ScalarNode {
				bad(v.Line, "%s: %s: want a string", s.label(), k.Value)
				s.skip[k.Value] = true // reported: not missing, not to check
				continue
			}
			*field = v.Value
		}
		specs = append(specs, s)
	}
	return specs
}

// stringList reads a YAML list of strings.
func stringList(n *yaml.Node) ([]string, bool) {
	if n.Kind != yaml.SequenceNode {
		return nil, false
	}
	out := make([]string, 0, len(n.Content))
	for _, e := range n.Content {
		e = deref(e)
		if e.Kind != yaml.ScalarNode {
			return nil, false
		}
		out = append(out, e.Value)
	}
	return out, true
}

// deref follows a YAML alias.
func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// label names a route in messages: its index and its match.
func (s spec) label() string {
	if s.match == "" {
		return fmt.Sprintf("route %d", s.index)
	}
	return fmt.Sprintf("route %d %q", s.index, s.match)
}

// lineOf is the line of key's value, or of the route.
func (s spec) lineOf(key string) int {
	if l, ok := s.lines[key]; ok {
		return l
	}
	return s.line
}

// build validates the specs and makes the table, without proxies.
func build(specs []spec, scopes Scopes, reserved []string, probs *problems) *Table {
	t := &Table{proxied: http.NewServeMux()}
	var accepted []*route // routes whose match is good, to check against each other
	for _, s := range specs {
		bad := func(key string, err error) {
			if !s.skip[key] {
				probs.add(s.lineOf(key), fmt.Errorf("%s: %w", s.label(), err))
			}
		}
		rt := &route{Route: Route{Match: s.match, Scope: s.scope, Upstream: s.upstream,
			Timeout: DefaultTimeout, BodyTimeout: DefaultBodyTimeout, MaxDuration: DefaultMaxDuration}}
		nprobs := len(probs.list)

		matchOK := false
		if s.match == "" {
			bad("match", errors.New("match is missing: want a method and a path, such as \"POST /pools/{pool}/push\""))
		} else {
			var perrs []error
			rt.pattern, perrs = parseMatch(s.match, reserved)
			for _, err := range perrs {
				bad("match", err)
			}
			if matchOK = perrs == nil; matchOK {
				rt.Match = rt.pattern.String() // one space between method and path
			}
		}

		switch {
		case s.scope == "":
			bad("scope", errors.New("scope is missing: every route requires a scope of the catalog"))
		case !scopes.Has(s.scope):
			bad("scope", fmt.Errorf("scope %q is not in the scope catalog (add it under scopes: in the configuration)", s.scope))
		}

		if s.permission == "" {
			bad("permission", errors.New("permission is missing: want an action and a resource, such as \"push data-pools/{pool}\""))
		} else if f := strings.Fields(s.permission); len(f) != 2 {
			bad("permission", fmt.Errorf("permission %q: want an action and a resource, such as \"push data-pools/{pool}\"", s.permission))
		} else {
			rt.Action, rt.Resource = f[0], f[1]
			if err := authz.ValidateAction(rt.Action); err != nil {
				bad("permission", fmt.Errorf("permission %q: %w", s.permission, err))
			} else if rt.Action == "*" {
				bad("permission", fmt.Errorf("permission %q: a route names one action; '*' belongs in grants", s.permission))
			}
			if matchOK {
				parts, err := parseResource(rt.Resource, rt.pattern)
				if err != nil {
					bad("permission", fmt.Errorf("permission %q: %w", s.permission, err))
				}
				rt.resource = parts
				rt.used = map[string]bool{}
				for _, p := range parts {
					if p.name != "" {
						rt.used[p.name] = true
					}
				}
			}
		}

		if _, given := s.lines["upstream"]; given || s.skip["upstream"] || s.upstream != "" {
			if u, err := parseUpstream(s.upstream); err != nil {
				bad("upstream", err)
			} else {
				rt.upstream = u
			}
		} else {
			// A decision-only route: its proxy calls the upstream, so the
			// keys about the call have nothing to act on.
			for _, k := range []string{"timeout", "body_timeout", "max_duration", "pass_headers"} {
				if _, ok := s.lines[k]; ok {
					probs.add(s.lines[k], fmt.Errorf("%s: %s is for a route with an upstream; a route without one is decision-only (its proxy makes the call)", s.label(), k))
				}
			}
		}

		for _, d := range []struct {
			key, value string
			into       *time.Duration
		}{{"timeout", s.timeout, &rt.Timeout}, {"body_timeout", s.bodyTimeout, &rt.BodyTimeout}, {"max_duration", s.maxDuration, &rt.MaxDuration}} {
			if d.value == "" {
				continue
			}
			v, err := time.ParseDuration(d.value)
			switch {
			case err != nil:
				bad(d.key, fmt.Errorf("%s %q: want a duration such as 30s or 2m", d.key, d.value))
			case v <= 0:
				bad(d.key, fmt.Errorf("%s %q: want a positive duration", d.key, d.value))
			default:
				*d.into = v
			}
		}

		if s.passHeaders != nil {
			var errs []error
			rt.pass, errs = parsePassHeaders(s.passHeaders)
			for _, err := range errs {
				bad("pass_headers", err)
			}
			rt.PassHeaders = s.passHeaders
		}

		if matchOK {
			if err := checkConflicts(rt, accepted); err != nil {
				bad("match", err)
			} else {
				accepted = append(accepted, rt)
			}
		}
		if len(probs.list) == nprobs {
			t.routes = append(t.routes, rt)
			if rt.upstream != nil {
				register(t.proxied, rt.pattern.String(), http.NotFoundHandler())
				if !slices.Contains(t.methods, rt.pattern.method) {
					t.methods = append(t.methods, rt.pattern.method)
				}
			}
		}
	}
	return t
}

// checkConflicts finds a route of before that rt repeats, or that matches
// the same requests as rt with neither more specific (which net/http
// refuses).
func checkConflicts(rt *route, before []*route) error {
	for _, o := range before {
		if o.pattern.key == rt.pattern.key {
			return fmt.Errorf("duplicate match: route %q already matches the same requests", o.Match)
		}
	}
	for _, o := range before {
		mux := http.NewServeMux()
		register(mux, o.pattern.String(), http.NotFoundHandler())
		if err := register(mux, rt.pattern.String(), http.NotFoundHandler()); err != nil {
			return fmt.Errorf("match conflicts with route %q: both match some requests and neither is more specific", o.Match)
		}
	}
	return nil
}

// parseUpstream checks an upstream URL: absolute http or https with a
// host, maybe a path prefix, no query, fragment or credentials.
func parseUpstream(s string) (*url.URL, error) {
	if s == "" {
		return nil, errors.New("upstream is missing: want a URL such as http://127.0.0.1:9001")
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("upstream %q: %w", s, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("upstream %q: want an http:// or https:// URL", s)
	case u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("upstream %q: want a host", s)
	case u.Opaque != "":
		return nil, fmt.Errorf("upstream %q: want scheme://host[/path]", s)
	case u.User != nil:
		return nil, fmt.Errorf("upstream %q: may not hold credentials", s)
	case u.RawQuery != "" || u.ForceQuery:
		return nil, fmt.Errorf("upstream %q: may not hold a query; the caller's query is passed on", s)
	case u.Fragment != "" || strings.Contains(s, "#"):
		return nil, fmt.Errorf("upstream %q: may not hold a fragment", s)
	}
	return u, nil
}
