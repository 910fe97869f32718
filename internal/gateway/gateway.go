package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
)

// Gateway serves the routes of a route file and reloads them: it is the
// handler that the server mounts on team hosts, behind its own routes.
type Gateway struct {
	scopes Scopes
	auth   Authorizer
	log    *slog.Logger
	pool   *pool

	reload  sync.Mutex // one Reload at a time
	current atomic.Pointer[served]
}

// served is a table and the handler of its routes.
type served struct {
	table   *Table
	handler http.Handler
}

// New loads the route file at path (see Load) and returns a gateway that
// serves it, authorizing each request with auth. log receives the
// proxies' own complaints and WatchSIGHUP's reports.
func New(path string, scopes Scopes, auth Authorizer, log *slog.Logger) (*Gateway, error) {
	if scopes == nil || auth == nil {
		return nil, errors.New("new gateway: no scope catalog or authorizer")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := &Gateway{scopes: scopes, auth: auth, log: log, pool: newPool()}
	if err := g.Reload(path); err != nil {
		return nil, err
	}
	return g, nil
}

// ServeHTTP serves r with the current table.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.current.Load().handler.ServeHTTP(w, r)
}

// Matches reports whether r is for a route of the current table: see
// Table.Matches.
func (g *Gateway) Matches(r *http.Request) bool { return g.current.Load().table.Matches(r) }

// Table is the current table.
func (g *Gateway) Table() *Table { return g.current.Load().table }

// Reload loads the route file at path and, if it is valid, serves it from
// now on; requests in flight finish with the table they started with. If
// it is not, the current table stays and Reload returns every problem.
func (g *Gateway) Reload(path string) error {
	g.reload.Lock()
	defer g.reload.Unlock()
	t, err := load(path, g.scopes, g.pool, g.log)
	if err != nil {
		return err
	}
	g.current.Store(&served{table: t, handler: t.Handler(g.auth)})
	g.pool.retain(t)
	return nil
}

// WatchSIGHUP reloads the route file at path on every SIGHUP until ctx
// ends, logging each outcome. It blocks: run it in a goroutine.
func (g *Gateway) WatchSIGHUP(ctx context.Context, path string) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGHUP)
	defer signal.Stop(c)
	g.watch(ctx, path, c)
}

func (g *Gateway) watch(ctx context.Context, path string, c <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c:
			if err := g.Reload(path); err != nil {
				g.log.Error("gateway routes not reloaded: the old routes stay", "file", path, "err", err)
				continue
			}
			g.log.Info("gateway routes reloaded", "file", path, "routes", g.Table().Len())
		}
	}
}
