package server

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/edge"
)

// healthz answers while the process serves: liveness.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	edge.JSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// notReadyBody is the answer of /readyz when the node should get no
// traffic: the RFC 6749-shaped error of every 503, with the failing checks
// and their reasons.
type notReadyBody struct {
	Status      string            `json:"status"` // "not_ready" or "shutting_down"
	Error       string            `json:"error"`  // "temporarily_unavailable"
	Description string            `json:"error_description"`
	Checks      map[string]string `json:"failing_checks,omitempty"`
}

// readyz answers 200 only while every readiness check holds (the database
// accepts writes, and whatever else was added with AddReadinessCheck), and
// 503 from the moment shutdown begins, while the node still serves its
// lame-duck period.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if s.ready.stopping.Load() {
		w.Header().Set("Retry-After", strconv.Itoa(edge.RetryAfterSeconds))
		edge.JSON(w, http.StatusServiceUnavailable, notReadyBody{Status: "shutting_down",
			Error: "temporarily_unavailable", Description: "shutting down"})
		return
	}
	failing := s.ready.failing()
	if len(failing) == 0 {
		edge.JSON(w, http.StatusOK, map[string]string{"status": "ready", "database": s.store.Dialect()})
		return
	}
	body := notReadyBody{Status: "not_ready", Error: "temporarily_unavailable", Checks: map[string]string{}}
	var desc []string
	for _, f := range failing {
		body.Checks[f.name] = f.err.Error()
		desc = append(desc, f.name+": "+f.err.Error())
	}
	body.Description = strings.Join(desc, "; ")
	w.Header().Set("Retry-After", strconv.Itoa(edge.RetryAfterSeconds))
	edge.JSON(w, http.StatusServiceUnavailable, body)
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) { edge.NotFound(w, r) }
