package server

import (
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/adminapi"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/gateway"
	"github.com/gatehouse/gatehouse/internal/scim"
	"github.com/gatehouse/gatehouse/internal/teamapi"
)

// GatewayRoutes are the routes of a gateway route table as the static key
// migration counts them (authz.Route): each resource template's path
// values become '*' segments ("data-pools/{pool}" is "data-pools/*"), and
// a {name...} value, which may span segments, a final '*'.
func GatewayRoutes(t *gateway.Table) []authz.Route {
	var out []authz.Route
	for _, rt := range t.Routes() {
		out = append(out, authz.Route{Scope: rt.Scope, Action: rt.Action, Resource: resourcePattern(rt.Resource)})
	}
	return out
}

// resourcePattern turns a gateway resource template into a pattern.
func resourcePattern(tmpl string) string {
	segs := strings.Split(tmpl, "/")
	for i, seg := range segs {
		if !strings.Contains(seg, "{") {
			continue
		}
		segs[i] = "*"
		if strings.Contains(seg, "...}") {
			return strings.Join(segs[:i+1], "/")
		}
	}
	return strings.Join(segs, "/")
}

// MigrationRoutes are the routes whose scopes a migrated static key's
// client may need: the team APIs', SCIM's, the admin API's and those of
// the gateway table gw (nil: none).
func MigrationRoutes(gw *gateway.Table) []authz.Route {
	routes := append(teamapi.Routes(), authz.Route{Scope: scim.Scope, Action: scim.Action, Resource: scim.Resource})
	for _, rt := range adminapi.Routes() {
		if !rt.Profile && !rt.Public {
			routes = append(routes, authz.Route{Scope: rt.Scope, Action: rt.Action, Resource: rt.Resource})
		}
	}
	if gw != nil {
		routes = append(routes, GatewayRoutes(gw)...)
	}
	return routes
}

// migrationRoutes are MigrationRoutes with the gateway's current table
// (decision-only routes included: a migrated client's token must pass
// forward authentication as the key did).
func (s *Server) migrationRoutes() []authz.Route { return MigrationRoutes(s.gateway.Table()) }

// Patterns lists the pattern of every route the server serves itself, in
// the order they were registered ("GET /api/team/users", "/oauth2/token").
func (s *Server) Patterns() []string { return slices.Clone(s.own) }
