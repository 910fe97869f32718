package config

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"time"
)

// Config is Gatehouse's resolved configuration. Each field's yaml tag is the
// name of its setting: its flag, its YAML key and (upper-cased, with a
// GATEHOUSE_ prefix) its environment variable.
type Config struct {
	// Storage and logging: every command.
	DataDir     string `yaml:"data-dir"`
	DatabaseURL string `yaml:"database-url"`
	LogLevel    string `yaml:"log-level"`
	LogFormat   string `yaml:"log-format"`

	// File is the YAML file that was read, if any (--config, GATEHOUSE_CONFIG).
	File string `yaml:"-"`

	// Listeners and URLs.
	Listen    string `yaml:"listen"`
	Domain    string `yaml:"domain"`
	Scheme    string `yaml:"scheme"`
	Dev       bool   `yaml:"dev"`
	OpsListen string `yaml:"ops-listen"`
	Routes    string `yaml:"routes"`
	// GatewayDomain, if set, serves the gateway's routes at
	// <team>.<GatewayDomain> and no longer on the team hosts, so that no
	// upstream content shares the origin of the sign-in pages.
	GatewayDomain string `yaml:"gateway-domain"`

	// TrustedProxies are the proxies (CIDRs or addresses, comma-separated)
	// whose TrustedProxyHeader names the client; from any other peer the
	// client is the peer. Read them parsed with TrustedProxyPrefixes.
	TrustedProxies     string `yaml:"trusted-proxies"`
	TrustedProxyHeader string `yaml:"trusted-proxy-header"`

	// HTTP server limits.
	MaxBodyBytes      int64         `yaml:"max-body-bytes"`
	ReadHeaderTimeout time.Duration `yaml:"read-header-timeout"`
	ReadTimeout       time.Duration `yaml:"read-timeout"`
	WriteTimeout      time.Duration `yaml:"write-timeout"`
	IdleTimeout       time.Duration `yaml:"idle-timeout"`
	ShutdownTimeout   time.Duration `yaml:"shutdown-timeout"`
	// LameDuck is how long, on SIGTERM, the server keeps serving with
	// /readyz answering 503, so load balancers stop sending before the
	// listener closes. It is part of ShutdownTimeout.
	LameDuck time.Duration `yaml:"lame-duck"`

	// Faults: how long a request waits for the database before it is
	// answered 503 with Retry-After, and the local audit spool that holds
	// acknowledged audit events until the database has them.
	DatabaseTimeout    time.Duration `yaml:"database-timeout"`
	AuditSpoolDir      string        `yaml:"audit-spool-dir"`
	AuditSpoolMaxBytes int64         `yaml:"audit-spool-max-bytes"`

	// Retention: audit events and login history older than these are
	// purged in the background (0: kept forever).
	AuditRetention        time.Duration `yaml:"audit-retention"`
	LoginHistoryRetention time.Duration `yaml:"login-history-retention"`

	// Tokens and signing keys.
	AccessTokenTTL time.Duration `yaml:"access-token-ttl"`
	// TokenLeeway is the clock skew tolerated on the times an access
	// token carries (exp, nbf, iat), the same wherever one is checked: the
	// access guard (team APIs, gateway, /api/authz/check) and introspection
	// and revocation.
	TokenLeeway            time.Duration `yaml:"token-leeway"`
	SigningAlg             string        `yaml:"signing-alg"`
	SigningKeyRotation     time.Duration `yaml:"signing-key-rotation"`
	SigningKeyPublishAhead time.Duration `yaml:"signing-key-publish-ahead"`
	AuthCodeTTL            time.Duration `yaml:"auth-code-ttl"`
	RefreshIdleTTL         time.Duration `yaml:"refresh-idle-ttl"`
	RefreshAbsoluteTTL     time.Duration `yaml:"refresh-absolute-ttl"`

	// Failed client authentications allowed per client_id and per IP
	// within ClientAuthWindow before the token endpoint answers 429.
	ClientAuthFailures int           `yaml:"client-auth-failures"`
	ClientAuthWindow   time.Duration `yaml:"client-auth-window"`

	// The web login: failed logins allowed per account and per IP within
	// LoginWindow before /login answers 429, and the lifetime of a
	// session.
	LoginFailures   int           `yaml:"login-failures"`
	LoginIPFailures int           `yaml:"login-ip-failures"`
	LoginWindow     time.Duration `yaml:"login-window"`
	SessionTTL      time.Duration `yaml:"session-ttl"`

	// The server's static key sunset policy, which every team without a
	// policy of its own takes. Times are RFC 3339; "" means unset. Read
	// them parsed with StaticKeyPolicy.
	StaticKeysDeprecatedSince string `yaml:"static-keys-deprecated-since"`
	StaticKeysSunsetAt        string `yaml:"static-keys-sunset-at"`
	StaticKeysLink            string `yaml:"static-keys-link"`
	StaticKeysRefuseNew       bool   `yaml:"static-keys-refuse-new"`

	// Scopes are operator-added entries of the scope catalog (YAML only).
	Scopes []ScopeEntry `yaml:"scopes"`

	// explicit holds the names of the settings that Load found in a flag,
	// the environment or the file, so that ApplyDev derives only the rest.
	explicit map[string]bool
}

// ScopeEntry is an operator-added OAuth scope. Name is an RFC 6749
// section 3.3 scope-token.
type ScopeEntry struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
}

// Default returns the configuration used when no source sets anything.
func Default() Config {
	return Config{
		DataDir:   "./gatehouse-data",
		LogLevel:  "info",
		LogFormat: "text",

		Listen: ":8080",
		Domain: "localhost:8080",
		Scheme: "https",

		TrustedProxyHeader: "x-forwarded-for",

		MaxBodyBytes:      1 << 20,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ShutdownTimeout:   20 * time.Second,
		LameDuck:          5 * time.Second,

		DatabaseTimeout:    750 * time.Millisecond,
		AuditSpoolMaxBytes: 1 << 30,

		AuditRetention:        2160 * time.Hour,
		LoginHistoryRetention: 2160 * time.Hour,

		AccessTokenTTL:         15 * time.Minute,
		TokenLeeway:            30 * time.Second,
		SigningAlg:             "ES384",
		SigningKeyRotation:     720 * time.Hour,
		SigningKeyPublishAhead: time.Hour,
		AuthCodeTTL:            60 * time.Second,
		RefreshIdleTTL:         720 * time.Hour,
		RefreshAbsoluteTTL:     2160 * time.Hour,

		ClientAuthFailures: 10,
		ClientAuthWindow:   time.Minute,

		LoginFailures:   5,
		LoginIPFailures: 20,
		LoginWindow:     15 * time.Minute,
		SessionTTL:      12 * time.Hour,
	}
}

// StaticKeyPolicy is the server's static key sunset policy with its times
// parsed. A nil time is unset.
type StaticKeyPolicy struct {
	DeprecatedSince *time.Time
	SunsetAt        *time.Time
	Link            string
	RefuseNew       bool
}

// StaticKeyPolicy returns the static key settings with their times parsed.
// It fails only where Validate does.
func (c Config) StaticKeyPolicy() (StaticKeyPolicy, error) {
	since, err := parseTime("static-keys-deprecated-since", c.StaticKeysDeprecatedSince)
	if err != nil {
		return StaticKeyPolicy{}, err
	}
	sunset, err := parseTime("static-keys-sunset-at", c.StaticKeysSunsetAt)
	if err != nil {
		return StaticKeyPolicy{}, err
	}
	return StaticKeyPolicy{
		DeprecatedSince: since,
		SunsetAt:        sunset,
		Link:            c.StaticKeysLink,
		RefuseNew:       c.StaticKeysRefuseNew,
	}, nil
}

// parseTime parses an RFC 3339 setting; "" is nil.
func parseTime(name, s string) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil, fmt.Errorf("%s: %q is not an RFC 3339 time such as 2026-01-31T00:00:00Z", name, s)
	}
	return &t, nil
}

// TrustedProxyPrefixes returns TrustedProxies parsed: each entry a CIDR
// (10.0.0.0/8, 2001:db8::/32) or a single address. It fails only where
// Validate does.
func (c Config) TrustedProxyPrefixes() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, e := range strings.Split(c.TrustedProxies, ",") {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if a, err := netip.ParseAddr(e); err == nil && a.Zone() == "" {
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(e)
		if err != nil {
			return nil, fmt.Errorf("trusted-proxies: %q is not a CIDR such as 10.0.0.0/8 or an address such as 192.0.2.10", e)
		}
		if p != p.Masked() {
			return nil, fmt.Errorf("trusted-proxies: %q has bits set past its prefix length; write %s for the network, or %s for the one address",
				e, p.Masked(), netip.PrefixFrom(p.Addr(), p.Addr().BitLen()))
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p)
	}
	return out, nil
}

// SpoolDir is the audit spool's directory: AuditSpoolDir, or audit-spool
// in DataDir.
func (c Config) SpoolDir() string {
	if c.AuditSpoolDir != "" {
		return c.AuditSpoolDir
	}
	return filepath.Join(c.DataDir, "audit-spool")
}
