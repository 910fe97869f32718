package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/internal/change"
	"github.com/gatehouse/gatehouse/internal/edge"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/team"
)

// teamResolver maps a request's host to its team, from a cache that the
// change hub keeps true (unknown names are cached too, so a flood of bogus
// hosts costs no database reads).
type teamResolver struct {
	store          store.Store
	domain, scheme string
	cache          *change.Cache[string, *store.Team] // nil value: no such team
}

func newTeamResolver(st store.Store, domain, scheme string) *teamResolver {
	return &teamResolver{store: st, domain: domain, scheme: scheme,
		cache: change.NewCache[string, *store.Team](10*time.Minute, 100_000)}
}

func (t *teamResolver) invalidate(c store.Change) {
	if c.Kind != "" && c.Kind != store.KindTeam {
		return
	}
	t.cache.Invalidate(func(name string) bool { return c.Team == "" || c.Team == name })
}

// lookup returns the team named name, or nil.
func (t *teamResolver) lookup(ctx context.Context, name string) (*store.Team, error) {
	return t.cache.Get(name, func() (*store.Team, error) {
		tm, err := t.store.Team(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return &tm, nil
	})
}

// resolveTeam serves next only on the host of an existing team; any other
// host gets 404 and nothing else.
func (s *Server) resolveTeam(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := edge.RequestInfo(r)
		name, ok := team.FromHost(r.Host, s.teams.domain)
		if !ok {
			edge.Error(w, http.StatusNotFound, "unknown_team", "no team is served at this host")
			return
		}
		tm, err := s.teams.lookup(r.Context(), name)
		if err != nil {
			info.Log.Error("resolve team", "err", err)
			edge.Error(w, http.StatusServiceUnavailable, "temporarily_unavailable", "try again shortly")
			return
		}
		if tm == nil {
			edge.Error(w, http.StatusNotFound, "unknown_team", "no team is served at this host")
			return
		}
		info.Team = *tm
		info.TeamURL = team.URL(s.teams.scheme, name, s.teams.domain)
		info.TeamHost = team.Host(name, s.teams.domain)
		info.Log = info.Log.With("team", name)
		next.ServeHTTP(w, r)
	})
}
