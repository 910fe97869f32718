package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Bounds of a team's access token lifetime (0 means the server default).
const (
	MinAccessTokenTTL = time.Minute
	MaxAccessTokenTTL = 24 * time.Hour
)

// Values a team's settings take.
var (
	// ScopeFormats are the shapes of the scope claim: a JSON array (the
	// Celonis guide's) or an RFC 9068 space-separated string.
	ScopeFormats = []string{"array", "string"}
	// SigningAlgs are the algorithms of a team's signing keys, as
	// internal/signing names them.
	SigningAlgs = []string{"ES384", "ES256", "EdDSA"}
)

// TeamSettingsChange says which settings of a team to change: a nil field
// keeps the setting, a pointer to the zero value resets it to the server's.
type TeamSettingsChange struct {
	AccessTokenTTL *time.Duration // 0 or within [MinAccessTokenTTL, MaxAccessTokenTTL]
	ScopeFormat    *string        // "", "array" or "string"
	SigningAlg     *string        // "", "ES384", "ES256" or "EdDSA"
	// IfVersion, when set, must be the settings' SettingsVersion, or
	// nothing changes and the error wraps kernel.ErrStale.
	IfVersion string
}

// validate checks every field that is set.
func (c TeamSettingsChange) validate() error {
	var errs []error
	if c.AccessTokenTTL != nil {
		if d := *c.AccessTokenTTL; d != 0 && (d < MinAccessTokenTTL || d > MaxAccessTokenTTL) {
			errs = append(errs, kernel.InvalidField("access_token_ttl", "access token TTL %s: want 0 (the server default) or from %s to %s", d, MinAccessTokenTTL, MaxAccessTokenTTL))
		}
	}
	if c.ScopeFormat != nil && *c.ScopeFormat != "" && !slices.Contains(ScopeFormats, *c.ScopeFormat) {
		errs = append(errs, kernel.InvalidField("token_scope_format", "token scope format %q: want array or string", *c.ScopeFormat))
	}
	if c.SigningAlg != nil && *c.SigningAlg != "" && !slices.Contains(SigningAlgs, *c.SigningAlg) {
		errs = append(errs, kernel.InvalidField("signing_alg", "signing algorithm %q: want ES384, ES256 or EdDSA", *c.SigningAlg))
	}
	return errors.Join(errs...)
}

// SetTeamSettings changes the settings of a team that c names, leaving the
// others as they are, and returns them all. The audit event
// "team.settings" records the new value of each setting changed.
func (s *Service) SetTeamSettings(ctx context.Context, a kernel.Actor, teamName string, c TeamSettingsChange) (store.TeamSettings, error) {
	if err := validateTeamName(teamName); err != nil {
		return store.TeamSettings{}, err
	}
	if err := c.validate(); err != nil {
		return store.TeamSettings{}, err
	}
	var out store.TeamSettings
	err := s.Store.Tx(ctx, func(q store.Queries) error {
		t, err := teamByName(ctx, q, teamName)
		if err != nil {
			return err
		}
		set := t.Settings
		if c.IfVersion != "" && c.IfVersion != SettingsVersion(set) {
			return fmt.Errorf("team %s settings: %w", teamName, kernel.ErrStale)
		}
		detail := map[string]string{}
		if c.AccessTokenTTL != nil {
			set.AccessTokenTTL = *c.AccessTokenTTL
			detail["access_token_ttl"] = c.AccessTokenTTL.String()
		}
		if c.ScopeFormat != nil {
			set.ScopeFormat = *c.ScopeFormat
			detail["token_scope_format"] = *c.ScopeFormat
		}
		if c.SigningAlg != nil {
			set.SigningAlg = *c.SigningAlg
			detail["signing_alg"] = *c.SigningAlg
		}
		if err := q.UpdateTeamSettings(ctx, teamName, set); err != nil {
			return fmt.Errorf("team %s settings: %w", teamName, err)
		}
		out = set
		return q.AppendAudit(ctx, s.audit(a, teamName, "team.settings", teamName, detail))
	})
	if err != nil {
		return store.TeamSettings{}, err
	}
	return out, nil
}

// TeamSettings returns a team's settings.
func (s *Service) TeamSettings(ctx context.Context, teamName string) (store.TeamSettings, error) {
	if err := validateTeamName(teamName); err != nil {
		return store.TeamSettings{}, err
	}
	t, err := teamByName(ctx, s.Store, teamName)
	return t.Settings, err
}

// teamByName reads a team whose name is valid, naming it when missing.
func teamByName(ctx context.Context, q store.Queries, teamName string) (store.Team, error) {
	t, err := q.Team(ctx, teamName)
	if errors.Is(err, store.ErrNotFound) {
		return store.Team{}, fmt.Errorf("team %q: %w", teamName, store.ErrNotFound)
	}
	return t, err
}
