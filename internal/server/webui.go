package server

import (
	"github.com/gatehouse/gatehouse/internal/consent"
	"github.com/gatehouse/gatehouse/internal/denylist"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/webui"
)

// buildWebUI makes the authorization code flow: the consent service
// (codes, refresh-token families, consents), which the token endpoint's
// authorization_code and refresh_token grants use, and the web UI (login,
// /oauth2/authorize with its consent page, the profile), with the login
// limits.
func (s *Server) buildWebUI(o Options, hasher *secret.Hasher, scopes *scope.Catalog, deny *denylist.List) error {
	cfg := o.Config
	consents := &consent.Service{Store: o.Store, Hasher: hasher, Gen: o.Gen, Now: o.Now, Denylist: deny,
		CodeTTL: cfg.AuthCodeTTL, RefreshIdleTTL: cfg.RefreshIdleTTL, RefreshAbsoluteTTL: cfg.RefreshAbsoluteTTL}
	s.oauth.Consents = consents
	ui, err := webui.New(webui.Options{
		Store: o.Store, Clients: s.clients, Consents: consents, Scopes: scopes, Key: o.MasterKey,
		Secure: cfg.Scheme == "https", SessionTTL: cfg.SessionTTL,
		AccountLimit: &ratelimit.Limiter{Limit: cfg.LoginFailures, Window: cfg.LoginWindow, Now: o.Now},
		IPLimit:      &ratelimit.Limiter{Limit: cfg.LoginIPFailures, Window: cfg.LoginWindow, Now: o.Now},
		Audit:        s.audit, Now: o.Now, Gen: o.Gen,
	})
	if err != nil {
		return err
	}
	s.ui = ui
	return nil
}
