package server

import (
	"fmt"

	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/statickey"
)

// buildStaticKeys makes the static key service (user API keys and
// AppKeys) with the server's sunset policy, lets the guard accept static
// keys, subscribes the key cache to the change hub, and runs the last-use
// flusher in the background, flushing it on shutdown.
func (s *Server) buildStaticKeys(o Options, hasher *secret.Hasher) error {
	cp, err := o.Config.StaticKeyPolicy()
	if err != nil {
		return err
	}
	policy := statickey.Policy{DeprecatedSince: cp.DeprecatedSince, SunsetAt: cp.SunsetAt, Link: cp.Link, RefuseNew: cp.RefuseNew}
	if err := policy.Validate(); err != nil {
		return fmt.Errorf("static key policy: %w", err)
	}
	keys := &statickey.Service{Store: o.Store, Hasher: hasher, Gen: o.Gen, Now: o.Now, Default: policy,
		Clients: s.clients, Audit: s.audit, Log: s.log}
	s.guard.StaticKeys = keys
	s.hub.Subscribe(keys.Invalidate)
	s.background = append(s.background, keys.Run)
	s.flushers = append(s.flushers, keys.Flush)
	return nil
}
