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
	"github.com/gatehouse/gatehouse/internal/change"
	"github.com/gatehouse/gatehouse/internal/compose"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/gateway"
	"github.com/gatehouse/gatehouse/internal/lifecycle"
	"github.com/gatehouse/gatehouse/internal/masterkey"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
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
	metrics *metrics
	reg     *prometheus.Registry
	handler http.Handler

	oauth   *oauth.Endpoints
	guard   *access.Guard
	gateway *gateway.Gateway // nil without --routes
	ui      *webui.UI
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
	var err error
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	cfg := svc.Config
	s := &Server{
		cfg:     cfg,
		svc:     svc,
		store:   svc.Store,
		log:     svc.Log,
		teams:   newTeamResolver(svc.Store, cfg.Domain, cfg.Scheme),
		metrics: newMetrics(reg),
		reg:     reg,
	}
	svc.Hub.Subscribe(s.teams.invalidate)

	s.guard = &access.Guard{Keys: svc.Signing, Denylist: svc.Denylist, Checker: svc.Checker,
		StaticKeys: svc.StaticKeys, Audit: svc.Audit, Now: svc.Now, Verified: svc.Verified}
	s.oauth = &oauth.Endpoints{
		Clients:        svc.Clients,
		Tokens:         svc.Tokens,
		Keys:           svc.Signing,
		Denylist:       svc.Denylist,
		Verified:       svc.Verified,
		ScopeNames:     svc.Scopes.Names(),
		ClientLimit:    &ratelimit.Limiter{Limit: cfg.ClientAuthFailures, Window: cfg.ClientAuthWindow, Now: svc.Now},
		IPLimit:        &ratelimit.Limiter{Limit: cfg.ClientAuthFailures, Window: cfg.ClientAuthWindow, Now: svc.Now},
		Audit:          svc.Audit,
		Now:            svc.Now,
		AccessTokenTTL: cfg.AccessTokenTTL,
		SigningAlg:     cfg.SigningAlg,
		Consents:       svc.Consents,
	}
	// The web UI: sign-in, /oauth2/authorize with its consent page, the
	// profile, with the login limits.
	if s.ui, err = webui.New(webui.Options{
		Users: svc.Store, Clients: svc.Clients, Consents: svc.Consents, Scopes: svc.Scopes, Key: svc.MasterKey,
		Secure: cfg.Scheme == "https", SessionTTL: cfg.SessionTTL,
		AccountLimit: &ratelimit.Limiter{Limit: cfg.LoginFailures, Window: cfg.LoginWindow, Now: svc.Now},
		IPLimit:      &ratelimit.Limiter{Limit: cfg.LoginIPFailures, Window: cfg.LoginWindow, Now: svc.Now},
		Audit:        svc.Audit, Now: svc.Now, Gen: svc.Gen,
	}); err != nil {
		return nil, fmt.Errorf("new server: %w", err)
	}
	// The gateway puts upstream APIs behind the same rule (--routes).
	if cfg.Routes != "" {
		if s.gateway, err = gateway.New(cfg.Routes, svc.Scopes, s.guard, s.log); err != nil {
			return nil, fmt.Errorf("new server: %w", err)
		}
		err := svc.Background.Add(lifecycle.Component{Name: "gateway routes reload",
			Run: func(ctx context.Context) { s.gateway.WatchSIGHUP(ctx, cfg.Routes) }})
		if err != nil {
			return nil, fmt.Errorf("new server: %w", err)
		}
	}
	s.handler = s.routes()
	return s, nil
}

var _ gateway.Authorizer = (*access.Guard)(nil)

// Handler is the server's whole HTTP handler, for tests with httptest.
func (s *Server) Handler() http.Handler { return s.handler }

// Hub is the server's change hub.
func (s *Server) Hub() *change.Hub { return s.svc.Hub }

// Services are the domain services the server is built on.
func (s *Server) Services() *compose.Services { return s.svc }

// Run serves on ln (and the metrics on ops, if not nil) until ctx ends,
// then stops accepting, drains requests in flight for up to the shutdown
// timeout, and flushes batched writes.
func (s *Server) Run(ctx context.Context, ln, ops net.Listener) error {
	s.svc.Background.Start(ctx)

	srv := &http.Server{
		Handler:           s.handler,
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
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			runErr = fmt.Errorf("serve: %w", err)
		}
	}
	s.log.Info("shutting down: draining requests in flight", "timeout", s.cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	for _, hs := range servers {
		if err := hs.Shutdown(sctx); err != nil {
			runErr = errors.Join(runErr, fmt.Errorf("shutdown: %w", err))
		}
	}
	if err := s.svc.Background.Stop(sctx); err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("stop: %w", err))
	}
	s.log.Info("stopped")
	return runErr
}
