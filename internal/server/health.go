package server

import (
	"context"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/internal/edge"
)

// healthz answers while the process serves: liveness.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	edge.JSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 only while the database does: readiness.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		edge.RequestInfo(r).Log.Warn("readiness check failed", "err", err)
		edge.Error(w, http.StatusServiceUnavailable, "unavailable", "the database does not answer")
		return
	}
	edge.JSON(w, http.StatusOK, map[string]string{"status": "ready", "database": s.store.Dialect()})
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) { edge.NotFound(w, r) }
