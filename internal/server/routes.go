package server

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/gateway"
	"github.com/gatehouse/gatehouse/internal/teamapi"
	"github.com/gatehouse/gatehouse/internal/webui"
)

// globalPaths are the paths served on every host, team or not (load
// balancers probe by IP); the middleware looks them up for these paths
// only.
var globalPaths = map[string]bool{"/healthz": true, "/readyz": true}

// mux is a ServeMux that keeps the patterns registered on it: the
// server's own routes, which no gateway route may match.
type mux struct {
	*http.ServeMux
	patterns *[]string
}

func newMux(patterns *[]string) mux { return mux{http.NewServeMux(), patterns} }

func (m mux) Handle(pattern string, h http.Handler) {
	m.ServeMux.Handle(pattern, h)
	*m.patterns = append(*m.patterns, pattern)
}

func (m mux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(h))
}

// globalRoutes serves globalPaths.
func (s *Server) globalRoutes(patterns *[]string) *http.ServeMux {
	global := newMux(patterns)
	global.HandleFunc("GET /healthz", s.healthz)
	global.HandleFunc("GET /readyz", s.readyz)
	return global.ServeMux
}

// routes registers every route of the server, in one readable list, and
// returns the server's handler and the patterns of its own routes.
func (s *Server) routes() (http.Handler, []string) {
	var own []string
	// Routes served on every host, team or not (load balancers probe by IP).
	global := s.globalRoutes(&own)

	// Routes of a team's host.
	team := newMux(&own)
	// OAuth 2.0 (RFC 6749, 7662, 7009, 8414, 7517). The POST endpoints
	// answer other methods themselves, with an OAuth error.
	team.HandleFunc("/oauth2/token", s.oauth.ServeToken)
	team.HandleFunc("/oauth2/introspect", s.oauth.ServeIntrospect)
	team.HandleFunc("/oauth2/revoke", s.oauth.ServeRevoke)
	team.HandleFunc("GET /oauth2/jwks", s.oauth.ServeJWKS)
	team.HandleFunc("GET /.well-known/jwks.json", s.oauth.ServeJWKS)
	team.HandleFunc("GET /.well-known/oauth-authorization-server", s.oauth.ServeMetadata)
	team.HandleFunc("GET /.well-known/openid-configuration", s.oauth.ServeMetadata)
	// The built-in team APIs, each behind a scope and a permission.
	teamapi.Register(team, s.guard, s.store)
	// The access rule's decision, for resource servers.
	team.HandleFunc("POST /api/authz/check", s.guard.ServeCheck)
	// Forward authentication: the gateway's decision on a request that a
	// trusted proxy holds (NGINX, Caddy, Traefik; Envoy's ext_authz), any
	// method. Envoy's paths reach it before the mux (envoyFirst).
	team.HandleFunc(gateway.ForwardPath, s.serveForward)
	team.HandleFunc(envoyPattern, s.serveEnvoy)

	// The web UI (internal/webui): sign-in, the authorization endpoint
	// with its consent page (RFC 6749 section 4.1), and the profile with
	// the user's consents, also as JSON. Its forms are urlencoded: any
	// other body is refused unread (FormOnly).
	team.HandleFunc("GET /oauth2/authorize", s.ui.ServeAuthorize)
	team.HandleFunc("POST /oauth2/authorize", s.ui.FormOnly(s.ui.ServeAuthorize))
	team.HandleFunc("GET /login", s.ui.ServeLoginPage)
	team.HandleFunc("POST /login", s.ui.FormOnly(s.ui.ServeLogin))
	team.HandleFunc("POST /logout", s.ui.FormOnly(s.ui.ServeLogout))
	team.HandleFunc("GET /profile", s.ui.ServeProfile)
	team.HandleFunc("POST /profile/consents/{client_id}/revoke", s.ui.FormOnly(s.ui.ServeRevokeConsent))
	team.HandleFunc("POST /profile/sessions/revoke", s.ui.FormOnly(s.ui.ServeLogoutEverywhere))
	// OpenID Connect: the userinfo endpoint (Core 1.0 section 5.3; the
	// access token as Bearer or in a form body) and RP-initiated logout
	// (RP-Initiated Logout 1.0). ID tokens come from /oauth2/token, the
	// demands on the sign-in (prompt, max_age, hints) go to
	// /oauth2/authorize, and the discovery fields to the metadata.
	team.HandleFunc("GET /oauth2/userinfo", s.oauth.ServeUserInfo)
	team.HandleFunc("POST /oauth2/userinfo", s.oauth.ServeUserInfo)
	team.HandleFunc("GET /oauth2/logout", s.ui.ServeEndSession)
	team.HandleFunc("POST /oauth2/logout", s.ui.FormOnly(s.ui.ServeEndSession))
	// The web console (/admin/...: the team's management, each page
	// behind the permission of the admin API's matching route) and the
	// profile's account, password and API key forms.
	s.ui.RegisterConsole(team)
	// The admin API (scope team.admin and a permission per route) and
	// the profile API (the user's session or token), with their OpenAPI
	// description.
	s.admin.Register(team)
	team.HandleFunc("GET /api/openapi.json", s.admin.ServeOpenAPI)
	// SCIM 2.0 (RFC 7643, 7644): /Users and /Groups behind scope
	// user-provisioning.scim and manage on users; discovery open.
	s.scim.Register(team)

	// Anything else: a gateway route, if --routes names one and the
	// gateway shares the team's host (no --gateway-domain), else 404.
	var rest http.Handler = http.HandlerFunc(s.notFound)
	if s.cfg.Routes != "" && s.cfg.GatewayDomain == "" {
		rest = http.HandlerFunc(s.serveGateway)
	}
	team.Handle("/", rest)
	// The team's root: a browser goes to the profile (or to sign in
	// first); an API client gets what any other path gets.
	team.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		if webui.WantsPage(r) {
			s.ui.ServeRoot(w, r)
			return
		}
		rest.ServeHTTP(w, r)
	})

	// A gateway host (<team>.<gateway-domain>) serves the gateway's
	// routes and nothing of the team's own but forward authentication
	// (Envoy asks at the host of the API it guards).
	var gw http.Handler
	if s.cfg.GatewayDomain != "" {
		var routes http.Handler = http.HandlerFunc(s.notFound)
		if s.cfg.Routes != "" {
			routes = http.HandlerFunc(s.serveGateway)
		}
		gwMux := http.NewServeMux() // the team host's patterns again: not recorded
		gwMux.HandleFunc(gateway.ForwardPath, s.serveForward)
		gwMux.Handle("/", routes)
		gw = s.envoyFirst(gwMux)
	}
	return s.middleware(global, s.resolveTeam(s.envoyFirst(team.ServeMux), gw)), own
}

// envoyPattern is the pattern of Envoy's ext_authz requests: its
// path_prefix, then the original path.
const envoyPattern = gateway.EnvoyPrefix + "/{path...}"

// envoyFirst serves Envoy's ext_authz requests (gateway.EnvoyPrefix and
// below) before next, a ServeMux, sees them: a ServeMux redirects a path
// it would clean, and forward authentication never redirects (the gateway
// refuses such a path itself).
func (s *Server) envoyFirst(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; p == gateway.EnvoyPrefix || strings.HasPrefix(p, gateway.EnvoyPrefix+"/") {
			r.Pattern = envoyPattern // for the request log and the metrics
			s.serveEnvoy(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// serveGateway serves r with the gateway's routes.
func (s *Server) serveGateway(w http.ResponseWriter, r *http.Request) { s.gateway.ServeHTTP(w, r) }

// serveForward and serveEnvoy decide forward authentication requests
// with the gateway's routes (none without --routes).
func (s *Server) serveForward(w http.ResponseWriter, r *http.Request) { s.gateway.ServeForward(w, r) }
func (s *Server) serveEnvoy(w http.ResponseWriter, r *http.Request)   { s.gateway.ServeEnvoy(w, r) }

// reservedPrefixes are the first path segments of the patterns, which
// no gateway route may start with, and gateway.DefaultReserved (the
// prefixes kept for Gatehouse's pages to come).
func reservedPrefixes(patterns []string) []string {
	out := slices.Clone(gateway.DefaultReserved)
	for _, p := range patterns {
		if _, path, ok := strings.Cut(p, " "); ok {
			p = path
		}
		first, _, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
		if first == "" || first == "{$}" || slices.Contains(out, first) {
			continue // the root and the catch-all, which routes.go hands to the gateway
		}
		out = append(out, first)
	}
	return out
}
