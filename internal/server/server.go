// Package server is Gatehouse's HTTP composition root: on the services
// that internal/compose builds it makes every handler explicitly, with all
// of its dependencies, registers every route in one list (routes.go), and
// runs the HTTP listeners and the background components with a graceful,
// bounded shutdown.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse/gatehouse/internal/access"
	"github.com/gatehouse/gatehouse/internal/adminapi"
	"github.com/gatehouse/gatehouse/internal/change"
	"github.com/gatehouse/gatehouse/internal/clientaddr"
	"github.com/gatehouse/gatehouse/internal/compose"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/gateway"
	"github.com/gatehouse/gatehouse/internal/lifecycle"
	"github.com/gatehouse/gatehouse/internal/masterkey"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/scim"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/webui"
)

// Options are what a server is built from: compose.Options, for New.
type Options struct {
	Config    config.Config
	Store     store.Store
	MasterKey masterkey.Key
	Log       *slog.Logger
	Now       func() time.Time // nil: time.Now
	Gen       secret.Generator // zero: crypto/rand
}

// Server is a Gatehouse node: the domain services of compose, the HTTP
// handlers built on them, and the listeners.
type Server struct {
	cfg     config.Config
	svc     *compose.Services
	store   store.Store
	log     *slog.Logger
	teams   *teamResolver
	clients *clientaddr.Resolver // who the client of a request is
	metrics *metrics
	reg     *prometheus.Registry
	handler http.Handler
	ready   *readiness

	oauth   *oauth.Endpoints
	guard   *access.Guard
	gateway *gateway.Gateway // without --routes, one of no routes (forward authentication refuses all)
	own     []string         // the patterns of the server's own routes
	ui      *webui.UI
	admin   *adminapi.API
	scim    *scim.API
}

// New builds a server: the services (internal/compose), then every
// handler with all of its dependencies, then the routes.
func New(o Options) (*Server, error) {
	svc, err := compose.New(compose.Options{Config: o.Config, Store: o.Store, MasterKey: o.MasterKey,
		Log: o.Log, Now: o.Now, Gen: o.Gen, AuditSpool: true})
	if err != nil {
		return nil, fmt.Errorf("new server: %w", err)
	}
	return NewWith(svc)
}

// NewWith builds a server on services already built (with their audit
// trail: compose.Options.AuditSpool), whose background components it
// starts and stops in Run.
func NewWith(svc *compose.Services) (*Server, error) {
	if svc.Audit == nil {
		return nil, errors.New("new server: the services have no audit trail (compose.Options.AuditSpool)")
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	cfg := svc.Config
	s := &Server{
		cfg:     cfg,
		svc:     svc,
		store:   svc.Store,
		log:     svc.Log,
		teams:   newTeamResolver(svc.Store, cfg.Domain, cfg.Scheme, svc.Now, svc.Caches),
		metrics: newMetrics(reg),
		reg:     reg,
		ready:   &readiness{now: svc.Now, log: svc.Log},
	}
	svc.Hub.Subscribe(s.teams.invalidate)
	trusted, err := cfg.TrustedProxyPrefixes()
	if err != nil {
		return nil, fmt.Errorf("new server: %w", err)
	}
	if s.clients, err = clientaddr.New(trusted, cfg.TrustedProxyHeader); err != nil {
		return nil, fmt.Errorf("new server: %w", err)
	}
	reg.MustRegister(staleServed{svc.Caches})
	// Readiness: the database accepts writes. Add a check for every other
	// dependency a request needs (AddReadinessCheck).
	s.AddReadinessCheck(ReadinessCheck{Name: "database", Check: svc.Store.Probe, Every: ProbeInterval})
	// The audit spool takes events: not past its cap, its disk writable.
	s.AddReadinessCheck(ReadinessCheck{Name: "audit spool", Check: func(context.Context) error { return svc.Audit.Health() }})

	s.guard = &access.Guard{Keys: svc.Signing, Denylist: svc.Denylist, Checker: svc.Checker,
		StaticKeys: svc.StaticKeys, Audit: svc.Audit, Now: svc.Now, Verified: svc.Verified, Leeway: cfg.TokenLeeway}
	s.oauth = &oauth.Endpoints{
		Clients:        svc.Clients,
		Tokens:         svc.Tokens,
		Keys:           svc.Signing,
		Denylist:       svc.Denylist,
		Verified:       svc.Verified,
		ScopeNames:     svc.Scopes.Names(),
		ClientLimit:    svc.Limits.Client,
		IPLimit:        svc.Limits.ClientIP,
		Refusals:       svc.Refusals,
		Audit:          svc.Audit,
		Now:            svc.Now,
		AccessTokenTTL: cfg.AccessTokenTTL,
		SigningAlg:     cfg.SigningAlg,
		Leeway:         cfg.TokenLeeway,
		Consents:       svc.Consents,
		IDTokens:       svc.IDTokens,
		Users:          svc.Store,
	}
	// The web UI: sign-in, /oauth2/authorize with its consent page, the
	// profile, with the login limits.
	if s.ui, err = webui.New(webui.Options{
		Users: svc.Store, Clients: svc.Clients, Consents: svc.Consents, Sessions: svc.Sessions, Scopes: svc.Scopes, Key: svc.MasterKey,
		IDTokens:     svc.Signing,
		Secure:       cfg.Scheme == "https",
		AccountLimit: svc.Limits.Account, IPLimit: svc.Limits.LoginIP, Passwords: svc.Passwords,
		Refusals: svc.Refusals,
		Audit:    svc.Audit, Now: svc.Now, Gen: svc.Gen,
		// The console calls the services the admin API calls.
		Console: webui.ConsoleOptions{Admin: svc.Admin, Clients: svc.Clients, Keys: svc.StaticKeys, Signing: svc.Signing,
			Principals: svc.Checker, History: svc.Store, Catalog: svc.Scopes, Routes: s.migrationRoutes},
	}); err != nil {
		return nil, fmt.Errorf("new server: %w", err)
	}
	// The admin and profile APIs, on the services the CLI uses.
	s.admin = adminapi.New(adminapi.Options{Guard: s.guard, Admin: svc.Admin, Clients: svc.Clients, Keys: svc.StaticKeys,
		Signing: svc.Signing, Consents: svc.Consents, Sessions: s.ui, Principals: svc.Checker, Scopes: svc.Scopes,
		Routes: s.migrationRoutes, NoSession: webui.ErrNoSession, CSRF: webui.ErrCSRF, Now: svc.Now})
	// SCIM 2.0, for the teams' identity providers, on the same services.
	s.scim = scim.New(s.guard, svc.Admin)
	s.handler, s.own = s.routes()
	// The gateway puts upstream APIs behind the same rule (--routes), on
	// the team's hosts or on hosts of its own (--gateway-domain), and
	// decides forward authentication with the same routes, for the
	// trusted proxies only. No route of it may match a path of the
	// server's own routes.
	if s.gateway, err = gateway.New(gateway.Options{Path: cfg.Routes, Scopes: svc.Scopes, Auth: s.guard, Log: s.log,
		Reserved: reservedPrefixes(s.own), OwnOrigin: cfg.GatewayDomain != "", TrustedPeer: s.clients.TrustsPeer}); err != nil {
		return nil, fmt.Errorf("new server: %w", err)
	}
	if cfg.Routes != "" {
		err := svc.Background.Add(lifecycle.Component{Name: "gateway routes reload",
			Run: func(ctx context.Context) { s.gateway.WatchSIGHUP(ctx, cfg.Routes) }})
		if err != nil {
			return nil, fmt.Errorf("new server: %w", err)
		}
	}
	return s, nil
}

var _ gateway.Authorizer = (*access.Guard)(nil)

// Handler is the server's whole HTTP handler, for tests with httptest.
func (s *Server) Handler() http.Handler { return s.handler }

// Hub is the server's change hub.
func (s *Server) Hub() *change.Hub { return s.svc.Hub }

// Services are the domain services the server is built on.
func (s *Server) Services() *compose.Services { return s.svc }

// errRequestsCut ends the requests still running when the shutdown's
// drain runs out.
var errRequestsCut = errors.New("shutdown: the drain ran out; requests still running are cut")

// Run serves on ln (and the metrics on ops, if not nil) until ctx ends,
// then shuts down within the shutdown timeout, whatever the database
// does, giving each stage what remains of that one deadline:
//
//  1. lame duck: /readyz answers 503 at once, and the listener keeps
//     serving for the lame-duck period (keep-alives off, so that clients
//     come back through their load balancer), so that load balancers stop
//     sending before connections close;
//  2. drain: stop accepting and finish the requests in flight, until a
//     quarter of the time left is all that remains; requests still running
//     then are cut;
//  3. background: stop the background components and flush what they hold
//     (lifecycle.Group.Stop), in the time left. One that overruns is
//     abandoned and named.
//
// Run returns an error when serving failed or when work that was
// acknowledged may be lost (a component's flush did not report it
// durable); what was abandoned without loss is logged.
func (s *Server) Run(ctx context.Context, ln, ops net.Listener) error {
	s.svc.Background.Start(ctx)

	// The requests' contexts end with errRequestsCut when the drain runs
	// out and the server cuts what is still running, so that those are
	// not taken for clients that went away (edge.ClientGone).
	base, cut := context.WithCancelCause(context.Background())
	defer cut(nil)
	srv := &http.Server{
		Handler:           s.handler,
		BaseContext:       func(net.Listener) context.Context { return base },
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	servers := []*http.Server{srv}
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	if ops != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg}))
		// Profiles of the running server, on the loopback-only ops
		// listener (config refuses any other address for it).
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
		opsSrv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		servers = append(servers, opsSrv)
		go func() { errc <- opsSrv.Serve(ops) }()
	}

	var runErr error
	serveFailed := func(err error) {
		if !errors.Is(err, http.ErrServerClosed) {
			runErr = errors.Join(runErr, fmt.Errorf("serve: %w", err))
		}
	}
	lameDuck := s.cfg.LameDuck
	select {
	case <-ctx.Done():
	case err := <-errc:
		serveFailed(err)
		lameDuck = 0 // a listener failed: nothing to keep serving on
	}
	began := time.Now()
	deadline := began.Add(s.cfg.ShutdownTimeout)
	sctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	defer cancel()

	s.ready.stopping.Store(true)
	if lameDuck > 0 {
		s.log.Info("shutting down: lame duck, serving with /readyz at 503", "lame_duck", lameDuck,
			"shutdown_timeout", s.cfg.ShutdownTimeout)
		srv.SetKeepAlivesEnabled(false)
		t := time.NewTimer(lameDuck)
		select {
		case <-t.C:
		case err := <-errc:
			serveFailed(err)
		case <-sctx.Done():
		}
		t.Stop()
	}

	hctx, hcancel := context.WithDeadline(sctx, deadline.Add(-time.Until(deadline)/4))
	s.log.Info("shutting down: draining requests in flight")
	for _, hs := range servers {
		if err := hs.Shutdown(hctx); err != nil {
			cut(errRequestsCut)
			hs.Close()
			s.log.Warn("shutting down: requests still in flight at the drain deadline were cut", "err", err)
		}
	}
	hcancel()

	if err := s.svc.Background.Stop(sctx); err != nil {
		var se *lifecycle.StopError
		if !errors.As(err, &se) {
			runErr = errors.Join(runErr, fmt.Errorf("stop: %w", err))
		} else {
			for _, f := range se.Failures {
				if f.Lost {
					runErr = errors.Join(runErr, fmt.Errorf("stop: %w", f))
					continue
				}
				s.log.Warn("shutting down: background component abandoned; nothing acknowledged is lost",
					"component", f.Component, "err", f.Err)
			}
		}
	}
	s.log.Info("stopped", "took", time.Since(began).Round(time.Millisecond))
	return runErr
}
