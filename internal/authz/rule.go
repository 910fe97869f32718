package authz

import (
	"strings"
)

// Subject is who makes a call, as authentication found it.
type Subject struct {
	Team      string
	Principal Principal // user:<email>, app:<name> or client:<client_id>
	UserID    string    // for users
	ClientID  string    // the OAuth client of a token; "" for static keys
	// Scopes are the scopes the credential carries; AllScopes is set for
	// static keys, which carry every scope (what makes them dangerous).
	Scopes    []string
	AllScopes bool
	// Credential names the kind of credential: "access_token",
	// "user_api_key" or "app_key".
	Credential string
	TokenID    string // jti of an access token, or the static key's ID
}

// HasScope tells whether the credential carries scope.
func (s Subject) HasScope(scope string) bool {
	if s.AllScopes {
		return true
	}
	for _, x := range s.Scopes {
		if x == scope {
			return true
		}
	}
	return false
}

// Grant is one permission of a principal: an action on a resource pattern.
type Grant struct {
	Action   string
	Resource string
}

// Grants is everything a principal may do: its own permissions, and for a
// user its groups' and, for a team admin, everything.
type Grants struct {
	TeamAdmin bool
	List      []Grant
}

// Allows tells whether the grants permit action on resource.
func (g Grants) Allows(action, resource string) bool {
	if g.TeamAdmin {
		return true
	}
	for _, p := range g.List {
		if (p.Action == "*" || p.Action == action) && Match(p.Resource, resource) {
			return true
		}
	}
	return false
}

// Match tells whether a resource pattern covers resource: segments are
// joined by '/'; a '*' segment matches any one segment, and a final '*'
// any one or more.
func Match(pattern, resource string) bool {
	for {
		pseg, prest, pmore := strings.Cut(pattern, "/")
		rseg, rrest, rmore := strings.Cut(resource, "/")
		if rseg == "" {
			return false
		}
		if pseg == "*" && !pmore {
			return true // a final '*' takes the rest
		}
		if pseg != "*" && pseg != rseg {
			return false
		}
		if !pmore || !rmore {
			return pmore == rmore
		}
		pattern, resource = prest, rrest
	}
}

// Outcome is the result of the access rule.
type Outcome int

const (
	Allow Outcome = iota
	// DenyScope: the credential lacks the route's scope (403
	// insufficient_scope). Scopes never add permissions, and a missing one
	// is refused before permissions are looked at.
	DenyScope
	// DenyPermission: the principal lacks the permission (403).
	DenyPermission
)

// Decision is what the rule decided and why.
type Decision struct {
	Outcome  Outcome
	Scope    string
	Action   string
	Resource string
}

// Allowed reports whether the call passes.
func (d Decision) Allowed() bool { return d.Outcome == Allow }

// Decide is the access rule: a call passes iff the
// credential carries the route's scope AND the principal's grants permit
// the action on the resource. An empty scope means the route requires none.
func Decide(s Subject, g Grants, scope, action, resource string) Decision {
	d := Decision{Scope: scope, Action: action, Resource: resource}
	switch {
	case scope != "" && !s.HasScope(scope):
		d.Outcome = DenyScope
	case !g.Allows(action, resource):
		d.Outcome = DenyPermission
	default:
		d.Outcome = Allow
	}
	return d
}
