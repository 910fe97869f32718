package authz

import (
	"slices"
	"strings"
)

// Route is what a route of an API requires: a scope, and an action on a
// resource. Resource is a pattern in which the route's path placeholders
// are '*' segments (a gateway route "data-pools/{pool}" is
// "data-pools/*"); a route whose resource does not depend on the request
// has a plain resource ("audit-log"). An empty Scope means the route
// requires none.
type Route struct {
	Scope    string
	Action   string
	Resource string
}

// ScopesFor returns, sorted and without repeats, the scopes of every route
// that grants could pass: those whose action the grants permit on some
// resource the route's pattern can take (see Overlap). Routes that need no
// scope add nothing. It answers "which scopes does an OAuth client need to
// reach what these permissions reach", for migrating a static key, which
// carries every scope, to a client, which carries only its own.
func ScopesFor(grants Grants, routes []Route) []string {
	var out []string
	for _, rt := range routes {
		if rt.Scope == "" || slices.Contains(out, rt.Scope) {
			continue
		}
		if grants.Permit(rt.Action, rt.Resource) {
			out = append(out, rt.Scope)
		}
	}
	slices.Sort(out)
	return out
}

// Permit tells whether the grants permit action on at least one resource
// that pattern matches: Allows for a pattern rather than a resource.
func (g Grants) Permit(action, pattern string) bool {
	if g.TeamAdmin {
		return true
	}
	for _, p := range g.List {
		if (p.Action == "*" || p.Action == action) && Overlap(p.Resource, pattern) {
			return true
		}
	}
	return false
}

// Overlap tells whether two resource patterns match at least one resource
// in common. Patterns are compared segment by segment: a '*' segment
// matches any one segment, and a final '*' one or more, so "data-pools/*"
// overlaps "data-pools/42" and "*/42", but not "data-pools" or
// "packages/*".
func Overlap(a, b string) bool {
	for {
		aseg, arest, amore := strings.Cut(a, "/")
		bseg, brest, bmore := strings.Cut(b, "/")
		if aseg == "" || bseg == "" {
			return false
		}
		if aseg == "*" && !amore || bseg == "*" && !bmore {
			return true // a final '*' takes whatever the other has left
		}
		if aseg != "*" && bseg != "*" && aseg != bseg {
			return false
		}
		if !amore || !bmore {
			return amore == bmore
		}
		a, b = arest, brest
	}
}
