package statickey

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Policy is a static key sunset policy:
// the server's, from the configuration, or a team's, from its settings. A
// nil time is unset.
type Policy struct {
	DeprecatedSince *time.Time
	SunsetAt        *time.Time
	Link            string // sent as Link: <Link>; rel="deprecation"
	RefuseNew       bool   // no new keys once deprecated
}

// IsZero reports whether the policy sets nothing.
func (p Policy) IsZero() bool {
	return p.DeprecatedSince == nil && p.SunsetAt == nil && p.Link == "" && !p.RefuseNew
}

// deprecatedSince is when keys become deprecated: DeprecatedSince, or
// SunsetAt when only that is set (a key is deprecated at the latest when
// it is retired).
func (p Policy) deprecatedSince() *time.Time {
	if p.DeprecatedSince != nil {
		return p.DeprecatedSince
	}
	return p.SunsetAt
}

// Statuses of a policy at a time.
const (
	StatusActive     = "active"     // static keys work, without notice
	StatusDeprecated = "deprecated" // they work, with Deprecation headers
	StatusSunset     = "sunset"     // they are refused
)

// Status is the policy's status at now.
func (p Policy) Status(now time.Time) string {
	switch since := p.deprecatedSince(); {
	case p.SunsetAt != nil && !now.Before(*p.SunsetAt):
		return StatusSunset
	case since != nil && !now.Before(*since):
		return StatusDeprecated
	}
	return StatusActive
}

// Notice is what a static key's caller is told once keys are deprecated:
// the guard writes it as Deprecation (RFC 9745), Sunset (RFC 8594) and
// Link rel="deprecation" headers. The zero Notice says nothing.
type Notice struct {
	DeprecatedSince *time.Time
	SunsetAt        *time.Time
	Link            string
}

// Active reports whether there is anything to tell.
func (n Notice) Active() bool { return n.DeprecatedSince != nil }

// Notice is the notice of the policy at now: zero before deprecation.
func (p Policy) Notice(now time.Time) Notice {
	since := p.deprecatedSince()
	if since == nil || now.Before(*since) {
		return Notice{}
	}
	return Notice{DeprecatedSince: since, SunsetAt: p.SunsetAt, Link: p.Link}
}

// refusesNew reports whether a policy refuses new keys at now.
func (p Policy) refusesNew(now time.Time) bool {
	since := p.deprecatedSince()
	return p.RefuseNew && (since == nil || !now.Before(*since))
}

// maxLinkLen bounds the deprecation link, in bytes.
const maxLinkLen = 2000

// Validate checks a policy: the sunset date is not before the deprecation
// date (RFC 8594 section 3 and RFC 9745 section 2.1), and the link is an
// absolute http or https URL that can be sent in a header as it is. The
// error wraps kernel.ErrInvalid and names the setting.
func (p Policy) Validate() error {
	if p.DeprecatedSince != nil && p.SunsetAt != nil && p.SunsetAt.Before(*p.DeprecatedSince) {
		return kernel.AsInvalidField("sunset_at", fmt.Errorf("%w sunset-at %s: must not be before deprecated-since %s", kernel.ErrInvalid,
			p.SunsetAt.UTC().Format(time.RFC3339), p.DeprecatedSince.UTC().Format(time.RFC3339)))
	}
	if p.Link != "" {
		if err := validateLink(p.Link); err != nil {
			return err
		}
	}
	return nil
}

func validateLink(link string) error {
	bad := func(why string) error {
		return kernel.AsInvalidField("link", fmt.Errorf("%w link %s: %s", kernel.ErrInvalid, strconv.Quote(link), why))
	}
	if len(link) > maxLinkLen {
		return bad(fmt.Sprintf("at most %d bytes", maxLinkLen))
	}
	for i := 0; i < len(link); i++ {
		if c := link[i]; c <= ' ' || c >= 0x7f || c == '<' || c == '>' || c == '"' || c == '\\' {
			return bad(`spaces, control and non-ASCII characters, <, >, " and \ must be percent-encoded`)
		}
	}
	u, err := url.Parse(link)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return bad("want an absolute http:// or https:// URL such as https://docs.example.com/oauth")
	}
	return nil
}

// TeamPolicy is the policy a team's settings hold; it is zero when the
// team has none and takes the server's.
func TeamPolicy(s store.TeamSettings) Policy {
	return Policy{
		DeprecatedSince: s.StaticKeysDeprecatedSince,
		SunsetAt:        s.StaticKeysSunsetAt,
		Link:            s.StaticKeysLink,
		RefuseNew:       s.StaticKeysRefuseNew,
	}
}

// setTeamPolicy writes p into settings.
func setTeamPolicy(s *store.TeamSettings, p Policy) {
	s.StaticKeysDeprecatedSince = utcPtr(p.DeprecatedSince)
	s.StaticKeysSunsetAt = utcPtr(p.SunsetAt)
	s.StaticKeysLink = p.Link
	s.StaticKeysRefuseNew = p.RefuseNew
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// EffectivePolicy is the policy that applies to a team: its own if it has
// one, else the server's. own tells which.
func (s *Service) EffectivePolicy(t store.Team) (p Policy, own bool) {
	if p := TeamPolicy(t.Settings); !p.IsZero() {
		return p, true
	}
	return s.Default, false
}

// PolicyChange says how to change a team's policy. Fields whose Set flag
// is false (or whose pointer is nil) keep their value. The first change of
// a team without a policy starts from a copy of the server's, so that
// setting only a link keeps the server's dates. Clear, which takes no other
// field, removes the team's policy: it takes the server's again.
type PolicyChange struct {
	Clear bool

	SetDeprecatedSince bool
	DeprecatedSince    *time.Time // nil: unset
	SetSunsetAt        bool
	SunsetAt           *time.Time // nil: unset
	Link               *string    // "": unset
	RefuseNew          *bool
	// IfVersion, when set, must be the PolicyVersion of the team's
	// effective policy, or nothing changes and the error wraps
	// kernel.ErrStale.
	IfVersion string
}

// PolicyVersion names the state of a team's effective policy (an HTTP
// ETag).
func PolicyVersion(p Policy, own bool) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%v %q %q %q %v", own, fmtTime(p.DeprecatedSince), fmtTime(p.SunsetAt), p.Link, p.RefuseNew))
	return hex.EncodeToString(h[:16])
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func (c PolicyChange) empty() bool {
	return !c.SetDeprecatedSince && !c.SetSunsetAt && c.Link == nil && c.RefuseNew == nil
}

// SetPolicy changes a team's policy, validates the result, and writes it
// with the audit event "static-keys.policy" in one transaction. It returns
// the team's effective policy and whether it is the team's own. A policy
// that ends up setting nothing is no policy: the team takes the server's.
func (s *Service) SetPolicy(ctx context.Context, a kernel.Actor, team string, c PolicyChange) (Policy, bool, error) {
	if c.Clear && !c.empty() {
		return Policy{}, false, kernel.AsInvalidField("clear", fmt.Errorf("%w policy change: clear takes no other setting", kernel.ErrInvalid))
	}
	if !c.Clear && c.empty() {
		return Policy{}, false, kernel.AsInvalidField("clear", fmt.Errorf("%w policy change: nothing to change", kernel.ErrInvalid))
	}
	var (
		out Policy
		own bool
	)
	err := s.Store.Tx(ctx, func(q store.Queries) error {
		t, err := teamIn(ctx, q, team)
		if err != nil {
			return err
		}
		if c.IfVersion != "" {
			if cur, own := s.EffectivePolicy(t); PolicyVersion(cur, own) != c.IfVersion {
				return fmt.Errorf("static key policy of team %s: %w", team, kernel.ErrStale)
			}
		}
		p := Policy{}
		if !c.Clear {
			p, _ = s.EffectivePolicy(t)
			if c.SetDeprecatedSince {
				p.DeprecatedSince = c.DeprecatedSince
			}
			if c.SetSunsetAt {
				p.SunsetAt = c.SunsetAt
			}
			if c.Link != nil {
				p.Link = *c.Link
			}
			if c.RefuseNew != nil {
				p.RefuseNew = *c.RefuseNew
			}
			if err := p.Validate(); err != nil {
				return err
			}
		}
		setTeamPolicy(&t.Settings, p)
		if err := q.UpdateTeamSettings(ctx, team, t.Settings); err != nil {
			return fmt.Errorf("team %s static key policy: %w", team, err)
		}
		out, own = s.EffectivePolicy(t)
		return q.AppendAudit(ctx, kernel.Event(a, s.now(), team, "static-keys.policy", team, policyDetail(p)))
	})
	if err != nil {
		return Policy{}, false, err
	}
	return out, own, nil
}

// Policy returns a team's effective policy and whether it is its own.
func (s *Service) Policy(ctx context.Context, team string) (Policy, bool, error) {
	t, err := teamIn(ctx, s.Store, team)
	if err != nil {
		return Policy{}, false, err
	}
	p, own := s.EffectivePolicy(t)
	return p, own, nil
}

func policyDetail(p Policy) map[string]string {
	d := map[string]string{"link": p.Link, "refuse_new": strconv.FormatBool(p.RefuseNew), "deprecated_since": "", "sunset_at": ""}
	if p.DeprecatedSince != nil {
		d["deprecated_since"] = p.DeprecatedSince.UTC().Format(time.RFC3339)
	}
	if p.SunsetAt != nil {
		d["sunset_at"] = p.SunsetAt.UTC().Format(time.RFC3339)
	}
	return d
}
