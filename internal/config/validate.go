package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/token"
)

// Validate reports every problem with c at once, joined with errors.Join:
// one line each, starting with the name of the setting.
func (c Config) Validate() error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}
	oneOf := func(name, value string, allowed ...string) {
		for _, a := range allowed {
			if value == a {
				return
			}
		}
		bad(name, "must be %s, got %q", orList(allowed), value)
	}
	positive := func(name string, d time.Duration) {
		if d <= 0 {
			bad(name, "must be positive, got %s", d)
		}
	}

	// Storage and logging.
	if c.DatabaseURL == "" && c.DataDir == "" {
		bad("data-dir", "must not be empty unless database-url is set")
	}
	if c.DatabaseURL != "" && !isPostgresURL(c.DatabaseURL) {
		// The value is not shown: it may hold a password.
		bad("database-url", "must be a postgres:// or postgresql:// URL")
	}
	oneOf("log-level", c.LogLevel, "debug", "info", "warn", "error")
	oneOf("log-format", c.LogFormat, "text", "json")

	// Listeners and URLs.
	if _, err := splitHostPort(c.Listen); err != nil {
		bad("listen", "%v", err)
	}
	if err := checkDomain(c.Domain); err != nil {
		bad("domain", "%v", err)
	}
	oneOf("scheme", c.Scheme, "https", "http")
	if c.GatewayDomain != "" {
		if err := checkDomain(c.GatewayDomain); err != nil {
			bad("gateway-domain", "%v", err)
		} else if hostOf(c.GatewayDomain) == hostOf(c.Domain) {
			bad("gateway-domain", "must name another host than domain (%q): the gateway's hosts must not be the team hosts", c.Domain)
		}
	}
	if c.OpsListen != "" {
		host, err := splitHostPort(c.OpsListen)
		switch {
		case err != nil:
			bad("ops-listen", "%v", err)
		case !isLoopback(host):
			bad("ops-listen", "must be a loopback address such as 127.0.0.1:9090, [::1]:9090 or localhost:9090, got %q", c.OpsListen)
		}
	}

	if _, err := c.TrustedProxyPrefixes(); err != nil {
		errs = append(errs, err)
	}
	oneOf("trusted-proxy-header", strings.ToLower(c.TrustedProxyHeader), "x-forwarded-for", "forwarded")

	// HTTP server limits.
	if c.MaxBodyBytes <= 0 {
		bad("max-body-bytes", "must be positive, got %d", c.MaxBodyBytes)
	}
	positive("read-header-timeout", c.ReadHeaderTimeout)
	positive("read-timeout", c.ReadTimeout)
	positive("write-timeout", c.WriteTimeout)
	positive("idle-timeout", c.IdleTimeout)
	positive("shutdown-timeout", c.ShutdownTimeout)
	if c.ShutdownTimeout > 0 && (c.LameDuck < 0 || c.LameDuck >= c.ShutdownTimeout) {
		bad("lame-duck", "must be from 0 to less than shutdown-timeout (%s), got %s", c.ShutdownTimeout, c.LameDuck)
	}

	// Faults and retention.
	if c.DatabaseTimeout < 10*time.Millisecond || c.DatabaseTimeout > time.Minute {
		bad("database-timeout", "must be from 10ms to 1m, got %s", c.DatabaseTimeout)
	}
	if c.AuditSpoolMaxBytes < 1<<20 {
		bad("audit-spool-max-bytes", "must be at least 1048576 (1 MiB), got %d", c.AuditSpoolMaxBytes)
	}
	// A retention of minutes is for tests and soak runs that must see the
	// purge work; production keeps days.
	if c.AuditRetention != 0 && c.AuditRetention < time.Minute {
		bad("audit-retention", "must be 0 (forever) or at least 1m, got %s", c.AuditRetention)
	}
	if c.LoginHistoryRetention != 0 && c.LoginHistoryRetention < time.Minute {
		bad("login-history-retention", "must be 0 (forever) or at least 1m, got %s", c.LoginHistoryRetention)
	}

	// Tokens and signing keys.
	if c.AccessTokenTTL < time.Minute || c.AccessTokenTTL > 24*time.Hour {
		bad("access-token-ttl", "must be from 1m to 24h, got %s", c.AccessTokenTTL)
	}
	// Clocks that disagree by more than a minute are a fault to fix, not
	// to tolerate (token.MaxLeeway).
	if c.TokenLeeway < 0 || c.TokenLeeway > token.MaxLeeway {
		bad("token-leeway", "must be from 0 to %s, got %s", shortDuration(token.MaxLeeway), c.TokenLeeway)
	}
	oneOf("signing-alg", c.SigningAlg, "ES384", "ES256", "EdDSA")
	if c.SigningKeyPublishAhead < 0 {
		bad("signing-key-publish-ahead", "must not be negative, got %s", c.SigningKeyPublishAhead)
	}
	switch {
	case c.SigningKeyRotation < 0:
		bad("signing-key-rotation", "must not be negative (0 disables automatic rotation), got %s", c.SigningKeyRotation)
	case c.SigningKeyRotation > 0 && c.SigningKeyRotation <= c.SigningKeyPublishAhead:
		bad("signing-key-rotation", "must be longer than signing-key-publish-ahead (%s), or 0, got %s", c.SigningKeyPublishAhead, c.SigningKeyRotation)
	}
	// RFC 6749 section 4.1.2: a maximum lifetime of 10 minutes is RECOMMENDED.
	if c.AuthCodeTTL <= 0 || c.AuthCodeTTL > 10*time.Minute {
		bad("auth-code-ttl", "must be positive and at most 10m, got %s", c.AuthCodeTTL)
	}
	positive("refresh-idle-ttl", c.RefreshIdleTTL)
	positive("refresh-absolute-ttl", c.RefreshAbsoluteTTL)
	if c.RefreshIdleTTL > c.RefreshAbsoluteTTL {
		bad("refresh-idle-ttl", "must not exceed refresh-absolute-ttl (%s), got %s", c.RefreshAbsoluteTTL, c.RefreshIdleTTL)
	}
	if c.ClientAuthFailures < 1 {
		bad("client-auth-failures", "must be at least 1, got %d", c.ClientAuthFailures)
	}
	positive("client-auth-window", c.ClientAuthWindow)
	if c.LoginFailures < 1 {
		bad("login-failures", "must be at least 1, got %d", c.LoginFailures)
	}
	if c.LoginIPFailures < 1 {
		bad("login-ip-failures", "must be at least 1, got %d", c.LoginIPFailures)
	}
	positive("login-window", c.LoginWindow)
	if c.SessionTTL < 5*time.Minute || c.SessionTTL > 720*time.Hour {
		bad("session-ttl", "must be from 5m to 720h, got %s", c.SessionTTL)
	}

	// Static key sunset policy.
	since, err := parseTime("static-keys-deprecated-since", c.StaticKeysDeprecatedSince)
	if err != nil {
		errs = append(errs, err)
	}
	sunset, err := parseTime("static-keys-sunset-at", c.StaticKeysSunsetAt)
	if err != nil {
		errs = append(errs, err)
	}
	if since != nil && sunset != nil && sunset.Before(*since) {
		bad("static-keys-sunset-at", "must not be before static-keys-deprecated-since (%s), got %s", c.StaticKeysDeprecatedSince, c.StaticKeysSunsetAt)
	}
	if c.StaticKeysLink != "" && !isHTTPURL(c.StaticKeysLink) {
		bad("static-keys-link", "must be an absolute http:// or https:// URL, got %q", c.StaticKeysLink)
	}

	// Operator-added scopes.
	seen := map[string]bool{}
	for i, s := range c.Scopes {
		name := fmt.Sprintf("scopes[%d].name", i)
		switch {
		case s.Name == "":
			bad(name, "must not be empty")
		case !isScopeToken(s.Name):
			bad(name, "%q is not an RFC 6749 scope-token (printable ASCII except space, '\"' and '\\')", s.Name)
		case seen[s.Name]:
			bad(name, "%q is listed more than once", s.Name)
		}
		seen[s.Name] = true
	}

	return errors.Join(errs...)
}

// orList formats {"a", "b", "c"} as "a, b or c".
func orList(s []string) string {
	if len(s) == 1 {
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// splitHostPort checks that s is host:port with a numeric port and returns
// the host, which may be empty (every interface).
func splitHostPort(s string) (string, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", fmt.Errorf("must be host:port, got %q", s)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return "", fmt.Errorf("must be host:port with a port from 0 to 65535, got %q", s)
	}
	return host, nil
}

// hostOf is the host of host[:port].
func hostOf(s string) string {
	if h, _, err := net.SplitHostPort(s); err == nil {
		return h
	}
	return s
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkDomain checks that s is host[:port] where host is a DNS name, under
// which team hosts are <team>.<host>.
func checkDomain(s string) error {
	host := s
	if strings.Contains(s, "/") {
		return fmt.Errorf("must be host[:port], with no scheme or path, got %q", s)
	}
	if strings.Contains(s, ":") {
		h, port, err := net.SplitHostPort(s)
		if err != nil {
			return fmt.Errorf("must be host[:port], got %q", s)
		}
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			return fmt.Errorf("must be host[:port] with a port from 1 to 65535, got %q", s)
		}
		host = h
	}
	if net.ParseIP(host) != nil {
		return fmt.Errorf("must be a DNS name, not an IP address, as teams are served at <team>.<domain>; got %q", s)
	}
	if !isDNSName(host) {
		return fmt.Errorf("must be host[:port] with a lowercase DNS name as host, got %q", s)
	}
	return nil
}

// isDNSName reports whether s is a lowercase DNS name: dot-separated labels
// of 1 to 63 letters, digits and inner hyphens, 253 bytes at most.
func isDNSName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			b := label[i]
			if !('a' <= b && b <= 'z' || '0' <= b && b <= '9' || b == '-') {
				return false
			}
		}
	}
	return true
}

func isPostgresURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql")
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// isScopeToken reports whether s is an RFC 6749 section 3.3 scope-token:
// 1*( %x21 / %x23-5B / %x5D-7E ).
func isScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b != 0x21 && (b < 0x23 || b > 0x5B) && (b < 0x5D || b > 0x7E) {
			return false
		}
	}
	return true
}
