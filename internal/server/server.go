// Package server is Gatehouse's composition root: it builds every part
// explicitly from the configuration and the store, registers every route
// in one list (routes.go), and runs the HTTP listeners with graceful
// shutdown.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse/gatehouse/internal/access"
	"github.com/gatehouse/gatehouse/internal/auditlog"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/change"
	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/denylist"
	"github.com/gatehouse/gatehouse/internal/gateway"
	"github.com/gatehouse/gatehouse/internal/masterkey"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/token"
	"github.com/gatehouse/gatehouse/internal/webui"
)

// Options are what a server is built from.
type Options struct {
	Config    config.Config
	Store     store.Store
	MasterKey masterkey.Key
	Log       *slog.Logger
	Now       func() time.Time // nil: time.Now
	Gen       secret.Generator // zero: crypto/rand
}

// Server is a Gatehouse node.
type Server struct {
	cfg     config.Config
	store   store.Store
	log     *slog.Logger
	now     func() time.Time
	gen     secret.Generator
	hub     *change.Hub
	teams   *teamResolver
	metrics *metrics
	reg     *prometheus.Registry
	handler http.Handler

	clients *client.Service
	keys    *signing.Manager
	audit   *auditlog.Batcher
	oauth   *oauth.Endpoints
	guard   *access.Guard
	gateway *gateway.Gateway // nil without --routes
	ui      *webui.UI

	// background work started by Run and waited for on shutdown
	background []func(ctx context.Context)
	// flushers write what hot paths batched, on shutdown
	flushers []func(ctx context.Context) error
}

// New builds a server.
func New(o Options) (*Server, error) {
	if o.Store == nil {
		return nil, errors.New("new server: no store")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s := &Server{
		cfg:     o.Config,
		store:   o.Store,
		log:     o.Log,
		now:     o.Now,
		gen:     o.Gen,
		hub:     change.NewHub(),
		metrics: newMetrics(reg),
		reg:     reg,
	}
	if err := s.build(o); err != nil {
		return nil, fmt.Errorf("new server: %w", err)
	}
	s.handler = s.routes()
	return s, nil
}

// build makes every part of the server and subscribes every cache to the
// change hub.
func (s *Server) build(o Options) error {
	cfg := o.Config
	s.teams = newTeamResolver(o.Store, cfg.Domain, cfg.Scheme)

	extra := make([]scope.Scope, 0, len(cfg.Scopes))
	for _, e := range cfg.Scopes {
		extra = append(extra, scope.Scope{Name: e.Name, Description: e.Description})
	}
	scopes, err := scope.New(extra)
	if err != nil {
		return err
	}
	hasher, err := secret.NewHasher(o.MasterKey.Derive("secret-hash"))
	if err != nil {
		return err
	}
	s.clients = &client.Service{Store: o.Store, Hasher: hasher, Gen: o.Gen, Now: o.Now, Scopes: scopes}
	s.keys = signing.NewManager(signing.Options{
		Store: o.Store, MasterKey: o.MasterKey, Gen: o.Gen, Now: o.Now, Alg: cfg.SigningAlg,
		Rotation: rotation(cfg.SigningKeyRotation), PublishAhead: cfg.SigningKeyPublishAhead,
		MaxTokenTTL: maxAccessTokenTTL, Logger: s.log,
	})
	deny := denylist.New(o.Store, o.Now)
	verified := new(token.Verified) // shared by introspection and the guard
	s.audit = auditlog.New(o.Store, s.log, 200*time.Millisecond, 500)
	s.oauth = &oauth.Endpoints{
		Clients:        s.clients,
		Tokens:         &token.Issuer{Signer: s.keys, Gen: o.Gen, Now: o.Now, MaxTTL: s.keys.MaxTokenTTL()},
		Keys:           s.keys,
		Denylist:       deny,
		Verified:       verified,
		ScopeNames:     scopes.Names(),
		ClientLimit:    &ratelimit.Limiter{Limit: cfg.ClientAuthFailures, Window: cfg.ClientAuthWindow, Now: o.Now},
		IPLimit:        &ratelimit.Limiter{Limit: cfg.ClientAuthFailures, Window: cfg.ClientAuthWindow, Now: o.Now},
		Audit:          s.audit,
		Now:            o.Now,
		AccessTokenTTL: cfg.AccessTokenTTL,
		SigningAlg:     cfg.SigningAlg,
	}

	checker := authz.NewChecker(o.Store)
	s.guard = &access.Guard{Keys: s.keys, Denylist: deny, Checker: checker, Audit: s.audit, Now: o.Now, Verified: verified}
	// Static keys: user API keys and AppKeys (statickeys.go).
	if err := s.buildStaticKeys(o, hasher); err != nil {
		return err
	}
	// The authorization code flow, consents and the web UI (webui.go).
	if err := s.buildWebUI(o, hasher, scopes, deny); err != nil {
		return err
	}

	for _, fn := range []func(store.Change){s.teams.invalidate, s.clients.Invalidate, s.keys.Invalidate, deny.Invalidate, checker.Invalidate} {
		s.hub.Subscribe(fn)
	}
	s.background = append(s.background, s.audit.Run, s.keys.RunRotation, s.purge)

	// The gateway puts upstream APIs behind the same rule (--routes).
	if cfg.Routes != "" {
		if s.gateway, err = gateway.New(cfg.Routes, scopes, s.guard, s.log); err != nil {
			return err
		}
		s.background = append(s.background, func(ctx context.Context) { s.gateway.WatchSIGHUP(ctx, cfg.Routes) })
	}
	s.flushers = append(s.flushers, s.audit.Wait)
	return nil
}

var _ gateway.Authorizer = (*access.Guard)(nil)

// maxAccessTokenTTL is the longest access-token lifetime any setting
// allows (config and team settings cap it at 24 h); retired signing keys
// stay published this long.
const maxAccessTokenTTL = 24 * time.Hour

// rotation maps the configured rotation period, where 0 means never, to
// the signing manager's, where a negative value does.
func rotation(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// purgeInterval is how often expired codes, tokens and denylist entries
// are deleted.
const purgeInterval = 10 * time.Minute

func (s *Server) purge(ctx context.Context) {
	t := time.NewTicker(purgeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.store.Purge(ctx, s.now()); err != nil && ctx.Err() == nil {
				s.log.Error("purge expired records", "err", err)
			}
		}
	}
}

// Handler is the server's whole HTTP handler, for tests with httptest.
func (s *Server) Handler() http.Handler { return s.handler }

// Hub is the server's change hub.
func (s *Server) Hub() *change.Hub { return s.hub }

// Run serves on ln (and the metrics on ops, if not nil) until ctx ends,
// then stops accepting, drains requests in flight for up to the shutdown
// timeout, and flushes batched writes.
func (s *Server) Run(ctx context.Context, ln, ops net.Listener) error {
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { s.hub.Run(bg, s.store, s.log) })
	for _, fn := range s.background {
		wg.Go(func() { fn(bg) })
	}

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
	stopBG()
	wg.Wait()
	for _, flush := range s.flushers {
		if err := flush(sctx); err != nil {
			runErr = errors.Join(runErr, fmt.Errorf("flush: %w", err))
		}
	}
	s.log.Info("stopped")
	return runErr
}
