// Package scope is the catalog of OAuth 2.0 scopes: the fifteen built-in
// scopes of the Celonis authentication guide, with their descriptions, plus
// the ones an operator adds in the configuration file. A scope names the
// APIs a token may reach; it never grants a permission.
//
// It also parses the scope request parameter of RFC 6749 section 3.3.
package scope

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Scope is an entry of the catalog.
type Scope struct {
	Name        string
	Description string
}

// builtin is the Celonis guide's scope table, word for word.
var builtin = []Scope{
	{"intelligence.knowledge-models:read", "Allows read access to Knowledge Models and their data, filters, records, KPIs, OData metadata, specs, and triggers (based on granted permissions)."},
	{"intelligence.subscriptions:manage", "Allows managing subscriptions to Knowledge Model triggers, including creation, updates, and event replay, based on granted permissions."},
	{"intelligence.tools:execute", "Allows executing AI Copilot Tools, based on granted permissions."},
	{"intelligence.conversations:write", "Gives access to Studio Copilot conversational API."},
	{"user-provisioning.scim", "Gives access to the SCIM API."},
	{"audit.log:read", "Gives read-only access audit logs."},
	{"integration.data-pools", "Gives access to data pools."},
	{"integration.data-pools:data_push", "Gives access to push data to data pools."},
	{"integration.data-pools:continuous_data_push", "Gives access to continuously push data to data pools."},
	{"platform-adoption.tracking-events:read", "Gives read-only access to platform-adoption tracking-events."},
	{"team.user-group-info:read", "Gives read-only access to team user and group information."},
	{"team.login-history:read", "Gives read-only access to team login history."},
	{"task-mining.gateway", "Gives access to Task Mining Gateway integration API."},
	{"task-mining.metadata:read", "Gives read-only access to Task Mining user metadata."},
	{"action-engine.projects", "Gives access to projects."},
}

// own are the scopes of Gatehouse's own APIs, besides the Celonis guide's.
// Like every scope they only let a token reach those APIs: the caller's
// permissions still decide what it may do there.
var own = []Scope{
	{TeamAdmin, "Manage the team's applications, OAuth clients, keys, users, groups, permissions and settings, as far as the caller's permissions go."},
	{OpenID, "Sign you in to the application with your account (OpenID Connect): the application learns your user ID and when you signed in."},
	{Profile, "Gives the application your name."},
	{Email, "Gives the application your email address."},
}

// TeamAdmin is the scope of the admin API (/api/admin/) and of a token's
// use of the profile API (/api/profile/).
const TeamAdmin = "team.admin"

// The OpenID Connect scopes (OpenID Connect Core 1.0 sections 3.1.2.1
// and 5.4): openid asks for an ID token and lets the access token reach
// the userinfo endpoint; profile and email add the user's name and email
// address to both. Like every scope they grant no permission.
const (
	OpenID  = "openid"
	Profile = "profile"
	Email   = "email"
)

// Names of the built-in scopes that Gatehouse's own routes require.
const (
	AuditLogRead          = "audit.log:read"
	TeamUserGroupInfoRead = "team.user-group-info:read"
	TeamLoginHistoryRead  = "team.login-history:read"
	UserProvisioningSCIM  = "user-provisioning.scim"
)

// Own returns the scopes of Gatehouse's own APIs, sorted by name.
func Own() []Scope {
	out := slices.Clone(own)
	sortScopes(out)
	return out
}

// Builtin returns the built-in scopes, sorted by name.
func Builtin() []Scope {
	out := slices.Clone(builtin)
	sortScopes(out)
	return out
}

// ErrInvalid reports a scope that is not an RFC 6749 scope-token or a
// scope parameter that is not a space-separated list of them.
var ErrInvalid = errors.New("invalid scope")

// ErrUnknown reports a scope that is not in the catalog.
var ErrUnknown = errors.New("unknown scope")

// Catalog is the set of scopes a client may be registered with and a
// token may carry. It is immutable once built and safe for concurrent use.
type Catalog struct {
	all   []Scope // sorted by name
	names []string
	desc  map[string]string
}

// New returns the catalog of the built-in scopes, Gatehouse's own, plus
// extra, the operator's scopes. An extra scope that is not an RFC 6749
// scope-token, or that repeats a built-in, an own or another extra scope,
// is an error.
func New(extra []Scope) (*Catalog, error) {
	c := &Catalog{desc: make(map[string]string, len(builtin)+len(own)+len(extra))}
	for _, s := range builtin {
		c.desc[s.Name] = s.Description
	}
	for _, s := range own {
		c.desc[s.Name] = s.Description
	}
	var errs []error
	for _, s := range extra {
		switch {
		case !IsToken(s.Name):
			errs = append(errs, fmt.Errorf("%w %q: want printable ASCII without spaces, '\"' or '\\' (RFC 6749 section 3.3)", ErrInvalid, s.Name))
		case c.has(s.Name):
			errs = append(errs, fmt.Errorf("scope %q is defined twice (a built-in scope or a repeated entry)", s.Name))
		default:
			c.desc[s.Name] = s.Description
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("scope catalog: %w", err)
	}
	for name, d := range c.desc {
		c.all = append(c.all, Scope{Name: name, Description: d})
	}
	sortScopes(c.all)
	for _, s := range c.all {
		c.names = append(c.names, s.Name)
	}
	return c, nil
}

func sortScopes(s []Scope) {
	slices.SortFunc(s, func(a, b Scope) int { return strings.Compare(a.Name, b.Name) })
}

func (c *Catalog) has(name string) bool {
	_, ok := c.desc[name]
	return ok
}

// All returns every scope of the catalog, sorted by name.
func (c *Catalog) All() []Scope { return slices.Clone(c.all) }

// Names returns the name of every scope of the catalog, sorted.
func (c *Catalog) Names() []string { return slices.Clone(c.names) }

// Has reports whether the catalog holds the scope name.
func (c *Catalog) Has(name string) bool { return c.has(name) }

// Describe returns the description of the scope name, and whether the
// catalog holds it.
func (c *Catalog) Describe(name string) (string, bool) {
	d, ok := c.desc[name]
	return d, ok
}

// Check returns an error wrapping ErrUnknown that names the first of names
// not in the catalog, or nil when the catalog holds them all.
func (c *Catalog) Check(names []string) error {
	for _, n := range names {
		if !c.has(n) {
			return fmt.Errorf("%w %q", ErrUnknown, n)
		}
	}
	return nil
}

// IsToken reports whether s is an RFC 6749 section 3.3 scope-token:
// 1*( %x21 / %x23-5B / %x5D-7E ), that is printable ASCII except space,
// '"' and '\'.
func IsToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if b := s[i]; b != 0x21 && (b < 0x23 || b > 0x5B) && (b < 0x5D || b > 0x7E) {
			return false
		}
	}
	return true
}

// Parse splits a scope request parameter (RFC 6749 section 3.3,
// scope = scope-token *( SP scope-token )) into its scope names, in order,
// without repeats. It is strict: a leading, trailing or doubled space, or
// a character outside scope-token, is an error wrapping ErrInvalid. The
// empty string, an absent parameter, gives nil and no error.
//
// Parse does not consult a catalog: see Catalog.Check.
func Parse(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var (
		out  []string
		seen map[string]bool // past a few scopes, so that repeats cost O(n)
	)
	for i, tok := range strings.Split(s, " ") {
		if tok == "" {
			return nil, fmt.Errorf("%w parameter: empty scope-token at position %d: separate scopes with exactly one space", ErrInvalid, i+1)
		}
		if !IsToken(tok) {
			return nil, fmt.Errorf("%w %q: want printable ASCII without spaces, '\"' or '\\' (RFC 6749 section 3.3)", ErrInvalid, tok)
		}
		switch {
		case seen != nil:
			if seen[tok] {
				continue
			}
			seen[tok] = true
		case slices.Contains(out, tok):
			continue
		case len(out) == 16:
			seen = make(map[string]bool, 32)
			for _, o := range out {
				seen[o] = true
			}
			seen[tok] = true
		}
		out = append(out, tok)
	}
	return out, nil
}

// Format joins scope names into a scope parameter, the inverse of Parse.
func Format(names []string) string { return strings.Join(names, " ") }
