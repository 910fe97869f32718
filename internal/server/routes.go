package server

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/teamapi"
	"github.com/gatehouse/gatehouse/internal/webui"
)

// globalPaths are the paths served on every host, team or not (load
// balancers probe by IP); the middleware looks them up for these paths
// only.
var globalPaths = map[string]bool{"/healthz": true, "/readyz": true}

// globalRoutes serves globalPaths.
func (s *Server) globalRoutes() *http.ServeMux {
	global := http.NewServeMux()
	global.HandleFunc("GET /healthz", s.healthz)
	global.HandleFunc("GET /readyz", s.readyz)
	return global
}

// routes registers every route of the server, in one readable list.
func (s *Server) routes() http.Handler {
	// Routes served on every host, team or not (load balancers probe by IP).
	global := s.globalRoutes()

	// Routes of a team's host.
	s.patterns = nil
	team := recordingMux{http.NewServeMux(), &s.patterns}
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

	// The web UI (internal/webui): sign-in, the authorization endpoint
	// with its consent page (RFC 6749 section 4.1), and the profile with
	// the user's consents, also as JSON.
	team.HandleFunc("GET /oauth2/authorize", s.ui.ServeAuthorize)
	team.HandleFunc("POST /oauth2/authorize", s.ui.ServeAuthorize)
	team.HandleFunc("GET /login", s.ui.ServeLoginPage)
	team.HandleFunc("POST /login", s.ui.ServeLogin)
	team.HandleFunc("POST /logout", s.ui.ServeLogout)
	team.HandleFunc("GET /profile", s.ui.ServeProfile)
	team.HandleFunc("POST /profile/consents/{client_id}/revoke", s.ui.ServeRevokeConsent)
	team.HandleFunc("POST /profile/sessions/revoke", s.ui.ServeLogoutEverywhere)
	// The admin API (scope team.admin and a permission per route) and
	// the profile API (the user's session or token), with their OpenAPI
	// description.
	s.admin.Register(team)
	team.HandleFunc("GET /api/openapi.json", s.admin.ServeOpenAPI)

	// Anything else: a gateway route, if --routes names one, else 404.
	var rest http.Handler = http.HandlerFunc(s.notFound)
	if s.gateway != nil {
		rest = s.gateway
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

	return s.middleware(global, s.resolveTeam(team))
}
