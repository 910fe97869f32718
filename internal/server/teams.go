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

// Team cache bounds. Teams live until a change invalidates them; the
// maximum ages are safety nets for a change that never arrives.
const (
	teamCacheLimit   = 100_000
	teamMaxAge       = 10 * time.Minute
	unknownTeamLimit = 10_000 // a spray of bogus hosts fills this, never the teams' side
	unknownTeamAge   = time.Minute
)

// teamResolver maps a request's host to its team, from a cache that the
// change hub keeps true. Unknown names are cached too, on the cache's
// bounded absent side: a flood of bogus hosts costs one database read per
// name at most, and never evicts a team that exists.
type teamResolver struct {
	store          store.Store
	domain, scheme string
	cache          *change.Cache[string, store.Team]
}

func newTeamResolver(st store.Store, domain, scheme string, now func() time.Time, caches *change.Monitor) *teamResolver {
	return &teamResolver{store: st, domain: domain, scheme: scheme,
		cache: change.New[string, store.Team](change.Options[string]{
			Limit: teamCacheLimit, MaxAge: teamMaxAge,
			AbsentLimit: unknownTeamLimit, AbsentMaxAge: unknownTeamAge,
			Now: now, Label: "teams", Monitor: caches})}
}

// invalidate drops the team a change names (a change of the team, or of
// everything in it: a team deleted), or every team for a change of
// everything. Word of missed changes (change.Missed) only expires every
// team: each is read again before it is used fresh, and served as it is
// while the store cannot answer.
func (t *teamResolver) invalidate(c store.Change) {
	switch {
	case change.Missed(c):
		t.cache.Expire(func(string) bool { return true })
	case c.Kind != "" && c.Kind != store.KindTeam:
	case c.Team != "":
		t.cache.InvalidateKey(c.Team)
	default:
		t.cache.Invalidate(func(string) bool { return true })
	}
}

// lookup returns the team named name, and whether it exists.
func (t *teamResolver) lookup(ctx context.Context, name string) (store.Team, bool, error) {
	// The load is shared by every caller that misses the key meanwhile:
	// it must not end when the caller that started it goes away (the
	// store's own bound still holds it).
	lctx := context.WithoutCancel(ctx)
	return t.cache.Get(name, func() (store.Team, bool, error) {
		tm, err := t.store.Team(lctx, name)
		if errors.Is(err, store.ErrNotFound) {
			return store.Team{}, false, nil
		}
		return tm, err == nil, err
	})
}

// resolveTeam serves next only on the host of an existing team, and gw
// (if not nil) only on the gateway host of an existing team,
// <team>.<gateway-domain>; any other host gets 404 and nothing else. On
// both, the request's team URL and host are the team's own, the tokens'
// issuer and audience.
func (s *Server) resolveTeam(next, gw http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := edge.RequestInfo(r)
		h := next
		name, ok := team.FromHost(r.Host, s.teams.domain)
		if !ok && gw != nil {
			if name, ok = team.FromHost(r.Host, s.cfg.GatewayDomain); ok {
				h = gw
			}
		}
		if !ok {
			edge.Error(w, http.StatusNotFound, "unknown_team", "no team is served at this host")
			return
		}
		tm, found, err := s.teams.lookup(r.Context(), name)
		if err != nil {
			// A team this node does not hold while the store cannot
			// answer: it may exist, so not 404.
			edge.LogFailure(r.Context(), info.Log, "resolve team", err)
			edge.Unavailable(w, "the team cannot be looked up right now; try again shortly")
			return
		}
		if !found {
			edge.Error(w, http.StatusNotFound, "unknown_team", "no team is served at this host")
			return
		}
		info.Team = tm
		info.TeamURL = team.URL(s.teams.scheme, name, s.teams.domain)
		info.TeamHost = team.Host(name, s.teams.domain)
		info.Log = info.Log.With("team", name)
		h.ServeHTTP(w, r)
	})
}
