package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/authz"
)

// pattern is a route's match, parsed.
type pattern struct {
	method string
	path   string
	names  []string // the wildcards' names, in order
	rest   string   // the name of a final {name...}, or ""
	key    string   // method and path with wildcard names erased, to find duplicates
}

// String is the pattern as net/http reads it.
func (p pattern) String() string { return p.method + " " + p.path }

// DefaultReserved are the first path segments that belong to Gatehouse
// when no server says which (Load, for the command line): the prefixes of
// the server's own routes (internal/server/routes.go, whose test checks
// that this list holds every one of them) and a few kept for pages to
// come. The server passes the prefixes of the routes it mounts
// (Options.Reserved).
var DefaultReserved = []string{"oauth2", ".well-known", "api", "login", "logout", "profile", "healthz", "readyz",
	"consent", "scim", "admin", "console"}

// parseMatch parses "METHOD /path/{name}/...", returning every problem. A
// path that could match a path under one of the reserved first segments
// is refused: a route may not take a request that Gatehouse serves, nor
// decide anything for it.
func parseMatch(s string, reserved []string) (pattern, []error) {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	fields := strings.Fields(s)
	if len(fields) != 2 {
		bad("match: want a method and a path, such as \"POST /pools/{pool}/push\"")
		return pattern{}, errs
	}
	p := pattern{method: fields[0], path: fields[1]}
	if !isMethod(p.method) {
		bad("method %q is not an upper-case HTTP method such as GET or POST", p.method)
	}

	if !strings.HasPrefix(p.path, "/") {
		bad("path %q must start with '/'", p.path)
		return p, errs
	}
	if strings.ContainsAny(p.path, "?#%\\") || strings.ContainsFunc(p.path, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		// net/http unescapes a %XX in a pattern: /oauth%32 would be /oauth2.
		bad("path %q may not hold '?', '#', '%%', '\\' or control characters", p.path)
		return p, errs
	}
	segs := strings.Split(p.path[1:], "/")
	switch first := segs[0]; {
	case p.path == "/{$}": // the root alone, which no route of Gatehouse's takes from API clients
	case first == "":
		bad("path %q matches every path, Gatehouse's own too: start it with a prefix of your own, such as /integration/", p.path)
	case strings.HasPrefix(first, "{"):
		bad("path %q: a wildcard first segment matches Gatehouse's own paths too (under /%s): start the path with a prefix of your own, such as /integration/",
			p.path, strings.Join(reserved, ", /"))
	case slices.Contains(reserved, first):
		bad("/%s is Gatehouse's own path: pick another prefix", first)
	}
	keys := make([]string, len(segs))
	for i, seg := range segs {
		keys[i] = seg
		if !strings.ContainsAny(seg, "{}") {
			continue
		}
		last := i == len(segs)-1
		if len(seg) < 2 || seg[0] != '{' || seg[len(seg)-1] != '}' || strings.Count(seg, "{") != 1 || strings.Count(seg, "}") != 1 {
			bad("segment %q: a wildcard {name} must be a whole segment", seg)
			continue
		}
		name := seg[1 : len(seg)-1]
		if name == "$" {
			if !last {
				bad("{$} may only end the path")
			}
			continue
		}
		keys[i] = "{}"
		if n, ok := strings.CutSuffix(name, "..."); ok {
			if !last {
				bad("{%s} may only end the path", name)
			}
			name = n
			p.rest = n
			keys[i] = "{...}"
		}
		switch {
		case !isName(name):
			bad("wildcard {%s}: a name is a letter or '_' followed by letters, digits or '_'", name)
		case slices.Contains(p.names, name):
			bad("wildcard {%s} appears twice", name)
		default:
			p.names = append(p.names, name)
		}
	}
	p.key = p.method + " /" + strings.Join(keys, "/")
	if len(errs) == 0 {
		// Last, net/http's own parse, for anything the rules above miss.
		if err := register(http.NewServeMux(), p.String(), http.NotFoundHandler()); err != nil {
			bad("%v", err)
		}
	}
	return p, errs
}

// isMethod reports whether m is an upper-case HTTP token (RFC 9110 section
// 5.6.2); methods are case-sensitive, and lower case is always a typo.
func isMethod(m string) bool {
	if m == "" {
		return false
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// isName reports whether s is an ASCII identifier.
func isName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// register adds a pattern to mux, turning net/http's panic on a bad or
// conflicting pattern into an error.
func register(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	mux.Handle(pattern, h)
	return nil
}

// part is a piece of a resource template: a literal, or the name of a path
// value.
type part struct {
	lit  string
	name string
}

// sampleValue stands for every path value when a template is checked.
const sampleValue = "x"

// parseResource parses a permission's resource template, such as
// "data-pools/{pool}", whose placeholders must be p's wildcards.
func parseResource(tmpl string, p pattern) ([]part, error) {
	var (
		parts  []part
		sample strings.Builder
	)
	for rest := tmpl; rest != ""; {
		open := strings.IndexByte(rest, '{')
		if close := strings.IndexByte(rest, '}'); close >= 0 && (open < 0 || close < open) {
			return nil, fmt.Errorf("resource %q: '}' without '{'", tmpl)
		}
		if open < 0 {
			parts = append(parts, part{lit: rest})
			sample.WriteString(rest)
			break
		}
		if open > 0 {
			parts = append(parts, part{lit: rest[:open]})
			sample.WriteString(rest[:open])
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return nil, fmt.Errorf("resource %q: '{' without '}'", tmpl)
		}
		name := rest[open+1 : open+end]
		if !slices.Contains(p.names, name) {
			return nil, fmt.Errorf("resource %q: {%s} is not a wildcard of the match (it has %s)", tmpl, name, listNames(p.names))
		}
		parts = append(parts, part{name: name})
		sample.WriteString(sampleValue)
		rest = rest[open+end+1:]
	}
	s := sample.String()
	if err := authz.ValidateResource(s); err != nil {
		return nil, fmt.Errorf("resource %q, with path values filled in as %q: %w", tmpl, sampleValue, err)
	}
	if slices.Contains(strings.Split(s, "/"), "*") {
		return nil, fmt.Errorf("resource %q: a route names one resource; '*' belongs in grants", tmpl)
	}
	return parts, nil
}

func listNames(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	b := make([]string, len(names))
	for i, n := range names {
		b[i] = "{" + n + "}"
	}
	return strings.Join(b, ", ")
}

// errPathValue reports a path value that may not reach the upstream.
var errPathValue = errors.New("invalid path value")

// checkValue checks the path value v of wildcard name: one segment (or,
// for a final {name...}, segments) that is not "." or "..", and, when the
// resource uses it, a valid resource segment.
func checkValue(name, v string, rest, used bool) error {
	segs := []string{v}
	if rest {
		segs = strings.Split(v, "/")
	} else if strings.Contains(v, "/") {
		return fmt.Errorf("%w {%s}=%q: a path segment may not hold '/'", errPathValue, name, v)
	}
	for _, seg := range segs {
		switch {
		case seg == "." || seg == "..":
			return fmt.Errorf("%w {%s}=%q: \".\" and \"..\" are not segments", errPathValue, name, v)
		case !used:
		case seg == "" || seg == "*" || !isResourceSegment(seg):
			return fmt.Errorf("%w {%s}=%q: want letters, digits and .-_:@ in each segment", errPathValue, name, v)
		}
	}
	return nil
}

// isResourceSegment mirrors authz.ValidateResource's rule for a segment.
func isResourceSegment(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(".-_:@", c) >= 0) {
			return false
		}
	}
	return true
}
