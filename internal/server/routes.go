package server

import (
	"net/http"
)

// routes registers every route of the server, in one readable list.
func (s *Server) routes() http.Handler {
	// Routes served on every host, team or not (load balancers probe by IP).
	global := http.NewServeMux()
	global.HandleFunc("GET /healthz", s.healthz)
	global.HandleFunc("GET /readyz", s.readyz)

	// Routes of a team's host.
	team := http.NewServeMux()
	team.HandleFunc("/", s.notFound)

	return s.middleware(global, s.resolveTeam(team))
}
