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
// handler that the server mounts on team hosts, behind its own routes, or
// on gateway hosts of their own (--gateway-domain).
type Gateway struct {
	opts Options
	log  *slog.Logger
	pool *pool

	reload  sync.Mutex // one Reload at a time
	current atomic.Pointer[served]
}

// served is a table, the handler of its routes and their decider.
type served struct {
	table   *Table
	handler http.Handler
	decider *decider
}

// Options are what a Gateway is built from.
type Options struct {
	// Path is the route file, loaded by New and by every Reload of it;
	// "": no routes (forward authentication then refuses every request).
	Path string
	// Scopes is the catalog that every route's scope must be in.
	Scopes Scopes
	// Auth authorizes each request.
	Auth Authorizer
	// Log receives the proxies' own complaints and WatchSIGHUP's
	// reports; nil discards them.
	Log *slog.Logger
	// Reserved are the first path segments of the server's own routes,
	// which no route may match (nil: DefaultReserved). The server derives
	// them from the routes it mounts.
	Reserved []string
	// OwnOrigin says that the gateway is served on hosts of its own
	// (--gateway-domain), which no page of Gatehouse shares. Otherwise
	// every proxied response is sandboxed (Content-Security-Policy:
	// sandbox), as the package documentation says.
	OwnOrigin bool
	// TrustedPeer reports whether a request came straight from a proxy
	// the operator trusts (clientaddr.Resolver.TrustsPeer): forward
	// authentication answers no one else. nil: no one.
	TrustedPeer func(*http.Request) bool
}

// New loads the route file at o.Path (see Load) and returns a gateway that
// serves it, authorizing each request with o.Auth, and decides forward
// authentication requests with the same routes (ServeForward,
// ServeEnvoy).
func New(o Options) (*Gateway, error) {
	if o.Scopes == nil || o.Auth == nil {
		return nil, errors.New("new gateway: no scope catalog or authorizer")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	g := &Gateway{opts: o, log: o.Log, pool: newPool()}
	if err := g.Reload(o.Path); err != nil {
		return nil, err
	}
	return g, nil
}

// ServeHTTP serves r with the current table.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.current.Load().handler.ServeHTTP(w, r)
}

// Table is the current table.
func (g *Gateway) Table() *Table { return g.current.Load().table }

// Reload loads the route file at path and, if it is valid, serves it from
// now on; requests in flight finish with the table they started with. If
// it is not, the current table stays and Reload returns every problem.
func (g *Gateway) Reload(path string) error {
	g.reload.Lock()
	defer g.reload.Unlock()
	t := &Table{proxied: http.NewServeMux()} // no file: no routes
	if path != "" {
		var err error
		if t, err = load(path, g.opts.Scopes, g.opts.Reserved, g.pool, g.log, g.opts.OwnOrigin); err != nil {
			return err
		}
	}
	g.current.Store(&served{table: t, handler: t.Handler(g.opts.Auth), decider: t.decider(g.opts.Auth)})
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
