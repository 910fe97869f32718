package server

import (
	"net/http"
	"net/http/httptest"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse/gatehouse/internal/access"
)

// SetTeamHandler replaces the team routes with h, keeping the middleware
// and team resolution, so that tests can exercise them with any handler.
func (s *Server) SetTeamHandler(h http.Handler) {
	s.handler = s.middleware(s.globalRoutes(new([]string)), s.resolveTeam(h, nil))
}

// ReservedPrefixes are the first path segments the server keeps from the
// gateway: those of its own routes, and gateway.DefaultReserved.
func (s *Server) ReservedPrefixes() []string { return reservedPrefixes(s.own) }

// Guard is the server's access guard.
func (s *Server) Guard() *access.Guard { return s.guard }

// MetricsText is what GET /metrics on the ops listener answers.
func (s *Server) MetricsText() string {
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}
