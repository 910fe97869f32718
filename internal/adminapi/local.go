package adminapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/internal/edge"
	"github.com/gatehouse/gatehouse/internal/kernel"
)

// Local returns the admin routes for the gatehouse command's local mode,
// which holds the database and the master key and so acts as kernel.CLI,
// bound by no permission (as it always has): the same handlers as the
// admin API, so that a command's output, JSON and exit code are the same
// whether it acts on the local database or on a server at --url.
//
// The team is the first label of the request's host. Local reads no
// credential and passes no guard: it must never be served on a listener.
// The command calls it in-process, through adminclient with a
// RoundTripper that calls the handler (the CLI's local transport).
func (a *API) Local(teams kernel.TeamReader, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	for _, rt := range a.routes() {
		if rt.Profile || rt.Public {
			continue
		}
		mux.HandleFunc(rt.Method+" "+rt.Path, plainPath(rt, rt.handler))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, _, _ := strings.Cut(r.Host, ".")
		info := &edge.Info{Log: log}
		r = r.WithContext(context.WithValue(edge.WithInfo(r.Context(), info), localKey{}, true))
		if err := kernel.TeamExists(r.Context(), teams, name); err != nil {
			fail(w, r, err)
			return
		}
		t, err := teams.Team(r.Context(), name)
		if err != nil {
			fail(w, r, err)
			return
		}
		info.Team = t
		mux.ServeHTTP(w, r)
	})
}

// localKey marks a request of Local, whose actor is kernel.CLI.
type localKey struct{}

func isLocal(r *http.Request) bool {
	v, _ := r.Context().Value(localKey{}).(bool)
	return v
}
