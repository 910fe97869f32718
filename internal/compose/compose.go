// Package compose builds Gatehouse's domain services from the
// configuration, once, for every entry point: the server, every CLI
// command and the load tool. Each service gets all of its dependencies in
// its constructor here, so the secret hasher, the scope catalog, the
// static-key policy and the signing manager are made in one place and no
// copy can drift. Nothing in it speaks HTTP: internal/server builds the
// handlers on top of these services.
package compose

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/auditlog"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/change"
	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/consent"
	"github.com/gatehouse/gatehouse/internal/denylist"
	"github.com/gatehouse/gatehouse/internal/lifecycle"
	"github.com/gatehouse/gatehouse/internal/masterkey"
	"github.com/gatehouse/gatehouse/internal/oidc"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/statickey"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/token"
)

// Options are what the services are built from.
type Options struct {
	Config    config.Config
	Store     store.Store
	MasterKey masterkey.Key
	Log       *slog.Logger     // nil: discard
	Now       func() time.Time // nil: time.Now
	Gen       secret.Generator // zero: crypto/rand
	// AuditSpool opens the audit trail (Services.Audit) on its spool in
	// Config.SpoolDir(), which a serving node needs. A CLI command, which
	// audits nothing on hot paths, leaves it false: Audit is then nil and
	// the spool directory is left alone (one process at a time holds it).
	AuditSpool bool
	// AuditWait is the longest an audit event's Add waits to be durable
	// (0: 100 ms, the server's). Tests on a busy machine's disk set more,
	// so that a slow fsync does not fail them.
	AuditWait time.Duration
}

// MaxAccessTokenTTL is the longest access-token lifetime any setting
// allows (configuration and team settings cap it at 24 h); retired
// signing keys stay published this long.
const MaxAccessTokenTTL = 24 * time.Hour

// refusalWindow is how long attempts refused by a limit are counted
// together before their one audit event is written.
const refusalWindow = time.Minute

// Services are the domain services of one process, built once.
type Services struct {
	Config    config.Config
	Store     store.Store
	MasterKey masterkey.Key
	Log       *slog.Logger
	Now       func() time.Time
	Gen       secret.Generator

	// Hasher keys the hashes of client secrets, static keys, codes and
	// refresh tokens, from the master key's "secret-hash" derivation.
	Hasher *secret.Hasher
	// Scopes is the catalog: the built-in scopes plus the configuration's.
	Scopes *scope.Catalog
	// StaticKeyPolicy is the server-wide sunset policy of static keys; a
	// team's own replaces it.
	StaticKeyPolicy statickey.Policy

	// Hub carries changes from the store to every cache below.
	Hub *change.Hub
	// Caches counts and logs, per cache, the entries served stale while
	// the store cannot answer (the server exports the counts).
	Caches  *change.Monitor
	Signing *signing.Manager
	Tokens  *token.Issuer
	// IDTokens makes OpenID Connect ID tokens, signed by Signing.
	IDTokens *oidc.Issuer
	Denylist *denylist.List
	Checker  *authz.Checker
	// Verified remembers the access tokens whose signature this node has
	// checked, for the guard and introspection alike.
	Verified *token.Verified
	// Audit is the hot paths' audit trail: durable in the local spool
	// before a response leaves, shipped to the store in the background.
	// nil unless Options.AuditSpool.
	Audit *auditlog.Batcher
	// Refusals counts the attempts that the sign-in and client
	// authentication limits refuse, and audits them through Audit, one
	// event per key and minute. nil (counting nothing) without Audit.
	Refusals *ratelimit.Refusals
	// Limits are the brute-force budgets of sign-in and client
	// authentication, counted on this node and, for every node, in the
	// store.
	Limits Limits
	// Passwords bounds the Argon2id checks of sign-in: a few at once, a
	// few more waiting, the rest refused at once.
	Passwords *secret.PasswordQueue

	Admin      *admin.Service
	Clients    *client.Service
	StaticKeys *statickey.Service
	Consents   *consent.Service
	// Sessions are the web UI's sign-in sessions, kept in the store.
	Sessions *session.Service

	// Background holds the components that run behind the services
	// (change listener, audit shipper, key rotation, last-use writer,
	// purge); a server starts and stops them, a CLI command need not.
	Background lifecycle.Group
}

// Limits are the failure budgets (internal/ratelimit).
type Limits struct {
	// Client and ClientIP count failed client authentications per
	// client_id and per address (--client-auth-failures in
	// --client-auth-window). Only failures are written: the token
	// endpoint's warm path reads no database.
	Client, ClientIP *ratelimit.Budget
	// Account and LoginIP count failed sign-ins per account and per
	// address (--login-failures, --login-ip-failures in --login-window).
	// Each attempt reserves its unit in the store, so that nodes checking
	// at once never check more than the allowance between them.
	Account, LoginIP *ratelimit.Budget
}

// New builds every service from o.
func New(o Options) (*Services, error) {
	if o.Store == nil {
		return nil, fmt.Errorf("compose: no store")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	cfg := o.Config
	// Every store operation is bounded by --database-timeout, so that a
	// database that does not answer costs a request that long, not a hang.
	if t, ok := o.Store.(interface{ SetTimeout(time.Duration) }); ok {
		t.SetTimeout(cfg.DatabaseTimeout)
	}
	s := &Services{Config: cfg, Store: o.Store, MasterKey: o.MasterKey, Log: o.Log, Now: o.Now, Gen: o.Gen,
		Hub: change.NewHub(), Caches: change.NewMonitor(o.Log)}

	var err error
	if s.Hasher, err = secret.NewHasher(o.MasterKey.Derive("secret-hash")); err != nil {
		return nil, fmt.Errorf("compose: secret hasher: %w", err)
	}
	if s.Scopes, err = Catalog(cfg); err != nil {
		return nil, fmt.Errorf("compose: scope catalog: %w", err)
	}
	if s.StaticKeyPolicy, err = StaticKeyPolicy(cfg); err != nil {
		return nil, fmt.Errorf("compose: %w", err)
	}

	s.Clients = &client.Service{Store: o.Store, Hasher: s.Hasher, Gen: o.Gen, Now: o.Now, Scopes: s.Scopes,
		Caches: s.Caches}
	s.Signing = signing.NewManager(signing.Options{
		Store: o.Store, MasterKey: o.MasterKey, Gen: o.Gen, Now: o.Now, Alg: cfg.SigningAlg,
		Rotation: rotation(cfg.SigningKeyRotation), PublishAhead: cfg.SigningKeyPublishAhead,
		MaxTokenTTL: MaxAccessTokenTTL, Logger: o.Log, Caches: s.Caches,
		// The keys of the ID token algorithms that the team's clients
		// registered rotate like the access-token key.
		InUse: s.Clients.IDTokenAlgsInUse,
	})
	s.Tokens = &token.Issuer{Signer: s.Signing, Gen: o.Gen, Now: o.Now, MaxTTL: s.Signing.MaxTokenTTL()}
	s.IDTokens = &oidc.Issuer{Signer: s.Signing, Now: o.Now}
	s.Denylist = denylist.New(o.Store, o.Now, s.Caches)
	s.Checker = authz.NewChecker(o.Store, o.Now, s.Caches)
	s.Verified = new(token.Verified)
	var keyAudit statickey.Auditor // nil, not a nil *Batcher, without the spool
	if o.AuditSpool {
		if s.Audit, err = auditlog.Open(auditlog.Options{Dir: cfg.SpoolDir(), MaxBytes: cfg.AuditSpoolMaxBytes,
			Store: o.Store, Log: o.Log, Now: o.Now, Wait: o.AuditWait}); err != nil {
			return nil, fmt.Errorf("compose: %w", err)
		}
		keyAudit = s.Audit
		s.Refusals = ratelimit.NewRefusals(s.Audit, refusalWindow, o.Now)
	}

	budget := func(name string, max int, window time.Duration, reserve bool) *ratelimit.Budget {
		b := ratelimit.NewBudget(ratelimit.BudgetOptions{Name: name, Max: max, Window: window, Now: o.Now,
			Shared: o.Store, Reserve: reserve, Monitor: s.Caches, Log: o.Log})
		s.Hub.Subscribe(b.Invalidate)
		return b
	}
	s.Limits = Limits{
		Client:   budget("client", cfg.ClientAuthFailures, cfg.ClientAuthWindow, false),
		ClientIP: budget("client.ip", cfg.ClientAuthFailures, cfg.ClientAuthWindow, false),
		Account:  budget("login.account", cfg.LoginFailures, cfg.LoginWindow, true),
		LoginIP:  budget("login.ip", cfg.LoginIPFailures, cfg.LoginWindow, true),
	}
	s.Passwords = secret.NewPasswordQueue(secret.PasswordQueueOptions{})

	s.Admin = &admin.Service{Store: o.Store, Gen: o.Gen, Now: o.Now}
	s.StaticKeys = &statickey.Service{Store: o.Store, Hasher: s.Hasher, Gen: o.Gen, Now: o.Now,
		Default: s.StaticKeyPolicy, Clients: s.Clients, Audit: keyAudit, Log: o.Log, Caches: s.Caches}
	s.Consents = &consent.Service{Store: o.Store, Hasher: s.Hasher, Gen: o.Gen, Now: o.Now, Denylist: s.Denylist,
		CodeTTL: cfg.AuthCodeTTL, RefreshIdleTTL: cfg.RefreshIdleTTL, RefreshAbsoluteTTL: cfg.RefreshAbsoluteTTL}
	s.Sessions = &session.Service{Store: o.Store, Hasher: s.Hasher, Gen: o.Gen, Now: o.Now, TTL: cfg.SessionTTL, Log: o.Log}

	// Every cache drops what a change, by any process, made stale.
	for _, fn := range []func(store.Change){s.Clients.Invalidate, s.Signing.Invalidate, s.Denylist.Invalidate,
		s.Checker.Invalidate, s.StaticKeys.Invalidate} {
		s.Hub.Subscribe(fn)
	}
	comps := []lifecycle.Component{
		{Name: "change listener", Run: func(ctx context.Context) { s.Hub.Run(ctx, o.Store, o.Log) }},
	}
	if s.Audit != nil {
		comps = append(comps, lifecycle.Component{Name: "audit shipper", Run: s.runAudit, Flush: s.Audit.Flush})
	}
	comps = append(comps,
		lifecycle.Component{Name: "signing key rotation", Run: s.Signing.RunRotation},
		// Last-use times are acknowledged to no one: a shutdown that cannot
		// write them loses nothing promised.
		lifecycle.Component{Name: "static key last use", Run: s.StaticKeys.Run, Flush: s.StaticKeys.Flush, BestEffort: true},
		lifecycle.Component{Name: "purge", Run: s.runPurge},
	)
	if err = s.Background.Add(comps...); err != nil {
		return nil, fmt.Errorf("compose: %w", err)
	}
	return s, nil
}

// Catalog is the scope catalog of cfg: the built-in scopes plus the
// operator's.
func Catalog(cfg config.Config) (*scope.Catalog, error) {
	extra := make([]scope.Scope, 0, len(cfg.Scopes))
	for _, e := range cfg.Scopes {
		extra = append(extra, scope.Scope{Name: e.Name, Description: e.Description})
	}
	return scope.New(extra)
}

// StaticKeyPolicy is the server-wide static key policy of cfg.
func StaticKeyPolicy(cfg config.Config) (statickey.Policy, error) {
	cp, err := cfg.StaticKeyPolicy()
	if err != nil {
		return statickey.Policy{}, err
	}
	p := statickey.Policy{DeprecatedSince: cp.DeprecatedSince, SunsetAt: cp.SunsetAt, Link: cp.Link, RefuseNew: cp.RefuseNew}
	if err := p.Validate(); err != nil {
		return statickey.Policy{}, fmt.Errorf("static key policy: %w", err)
	}
	return p, nil
}

// rotation maps the configured rotation period, where 0 means never, to
// the signing manager's, where a negative value does.
func rotation(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// runAudit runs the audit writer with the tally of refused attempts in
// front of it. On stop the tally hands every open window over first, and
// only then is the writer told to write what it holds and end: the
// components of a lifecycle.Group stop all at once, which would lose
// events handed over after the writer's last write.
func (s *Services) runAudit(ctx context.Context) {
	wctx, stopWriter := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWriter()
	written := make(chan struct{})
	go func() {
		defer close(written)
		s.Audit.Run(wctx)
	}()
	s.Refusals.Run(ctx) // returns once ctx has ended and every window is handed over
	stopWriter()
	<-written
}
