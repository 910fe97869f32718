package config

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// problems returns the one-line messages that Validate joined.
func problems(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("Validate error %q is not joined", err)
	}
	var out []string
	for _, e := range joined.Unwrap() {
		if strings.Contains(e.Error(), "\n") {
			t.Errorf("message %q spans lines", e)
		}
		out = append(out, e.Error())
	}
	return out
}

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Errorf("Default().Validate() = %v", err)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Default()
	c.DatabaseURL = "mysql://root:hunter2@db/gatehouse"
	c.LogLevel = "verbose"
	c.LogFormat = "xml"
	c.Listen = "8080"
	c.Domain = "https://example.com"
	c.Scheme = "ftp"
	c.OpsListen = ":9090"
	c.MaxBodyBytes = 0
	c.ReadHeaderTimeout = -time.Second
	c.ReadTimeout = 0
	c.WriteTimeout = -1
	c.IdleTimeout = 0
	c.ShutdownTimeout = -time.Minute
	c.AccessTokenTTL = 30 * time.Second
	c.SigningAlg = "RS256"
	c.SigningKeyRotation = -time.Hour
	c.SigningKeyPublishAhead = -time.Hour
	c.AuthCodeTTL = time.Hour
	c.RefreshIdleTTL = 100 * time.Hour
	c.RefreshAbsoluteTTL = 10 * time.Hour
	c.ClientAuthFailures = 0
	c.ClientAuthWindow = 0
	c.StaticKeysDeprecatedSince = "2026-06-01T00:00:00Z"
	c.StaticKeysSunsetAt = "2026-01-01T00:00:00Z"
	c.StaticKeysLink = "/docs/oauth"
	c.Scopes = []ScopeEntry{{Name: "ok"}, {Name: ""}, {Name: "two words"}, {Name: "ok"}}

	want := []string{
		`database-url: must be a postgres:// or postgresql:// URL`,
		`log-level: must be debug, info, warn or error, got "verbose"`,
		`log-format: must be text or json, got "xml"`,
		`listen: must be host:port, got "8080"`,
		`domain: must be host[:port], with no scheme or path, got "https://example.com"`,
		`scheme: must be https or http, got "ftp"`,
		`ops-listen: must be a loopback address such as 127.0.0.1:9090, [::1]:9090 or localhost:9090, got ":9090"`,
		`max-body-bytes: must be positive, got 0`,
		`read-header-timeout: must be positive, got -1s`,
		`read-timeout: must be positive, got 0s`,
		`write-timeout: must be positive, got -1ns`,
		`idle-timeout: must be positive, got 0s`,
		`shutdown-timeout: must be positive, got -1m0s`,
		`access-token-ttl: must be from 1m to 24h, got 30s`,
		`signing-alg: must be ES384, ES256 or EdDSA, got "RS256"`,
		`signing-key-publish-ahead: must not be negative, got -1h0m0s`,
		`signing-key-rotation: must not be negative (0 disables automatic rotation), got -1h0m0s`,
		`auth-code-ttl: must be positive and at most 10m, got 1h0m0s`,
		`refresh-idle-ttl: must not exceed refresh-absolute-ttl (10h0m0s), got 100h0m0s`,
		`client-auth-failures: must be at least 1, got 0`,
		`client-auth-window: must be positive, got 0s`,
		`static-keys-sunset-at: must not be before static-keys-deprecated-since (2026-06-01T00:00:00Z), got 2026-01-01T00:00:00Z`,
		`static-keys-link: must be an absolute http:// or https:// URL, got "/docs/oauth"`,
		`scopes[1].name: must not be empty`,
		`scopes[2].name: "two words" is not an RFC 6749 scope-token (printable ASCII except space, '"' and '\')`,
		`scopes[3].name: "ok" is listed more than once`,
	}
	err := c.Validate()
	if diff := cmp.Diff(want, problems(t, err)); diff != "" {
		t.Errorf("Validate problems (-want +got):\n%s", diff)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("Validate error shows the database password: %v", err)
	}
}

// TestValidate checks one setting at a time, on both sides of each rule.
func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		set  func(*Config)
		want string // the one problem, or "" for none
	}{
		{"postgres URL", func(c *Config) { c.DatabaseURL = "postgres://u:p@db:5432/gh?sslmode=verify-full" }, ""},
		{"postgresql URL", func(c *Config) { c.DatabaseURL = "postgresql:///gh?host=/run/postgresql" }, ""},
		{"database URL replaces data dir", func(c *Config) { c.DataDir = ""; c.DatabaseURL = "postgres://db/gh" }, ""},
		{"sqlite URL", func(c *Config) { c.DatabaseURL = "sqlite:///tmp/x.db" }, "database-url: must be a postgres:// or postgresql:// URL"},
		{"unparsable database URL", func(c *Config) { c.DatabaseURL = "postgres://u:p%zz@db" }, "database-url: must be a postgres:// or postgresql:// URL"},
		{"no storage", func(c *Config) { c.DataDir = "" }, "data-dir: must not be empty unless database-url is set"},
		{"log level is lowercase", func(c *Config) { c.LogLevel = "INFO" }, `log-level: must be debug, info, warn or error, got "INFO"`},

		{"listen on every interface", func(c *Config) { c.Listen = ":443" }, ""},
		{"listen on a random port", func(c *Config) { c.Listen = "127.0.0.1:0" }, ""},
		{"listen on IPv6", func(c *Config) { c.Listen = "[::]:8080" }, ""},
		{"listen port by name", func(c *Config) { c.Listen = ":https" }, `listen: must be host:port with a port from 0 to 65535, got ":https"`},
		{"listen port too large", func(c *Config) { c.Listen = ":65536" }, `listen: must be host:port with a port from 0 to 65535, got ":65536"`},

		{"domain without port", func(c *Config) { c.Domain = "auth.example.com" }, ""},
		{"domain with port", func(c *Config) { c.Domain = "auth.example.com:8443" }, ""},
		{"empty domain", func(c *Config) { c.Domain = "" }, `domain: must be host[:port] with a lowercase DNS name as host, got ""`},
		{"domain with path", func(c *Config) { c.Domain = "example.com/auth" }, `domain: must be host[:port], with no scheme or path, got "example.com/auth"`},
		{"uppercase domain", func(c *Config) { c.Domain = "Example.com" }, `domain: must be host[:port] with a lowercase DNS name as host, got "Example.com"`},
		{"domain with trailing dot", func(c *Config) { c.Domain = "example.com." }, `domain: must be host[:port] with a lowercase DNS name as host, got "example.com."`},
		{"domain label with leading hyphen", func(c *Config) { c.Domain = "-x.example.com" }, `domain: must be host[:port] with a lowercase DNS name as host, got "-x.example.com"`},
		{"domain is an IP", func(c *Config) { c.Domain = "127.0.0.1:8080" }, `domain: must be a DNS name, not an IP address, as teams are served at <team>.<domain>; got "127.0.0.1:8080"`},
		{"domain with two ports", func(c *Config) { c.Domain = "example.com:80:80" }, `domain: must be host[:port], got "example.com:80:80"`},
		{"domain port 0", func(c *Config) { c.Domain = "localhost:0" }, `domain: must be host[:port] with a port from 1 to 65535, got "localhost:0"`},
		{"gateway domain", func(c *Config) { c.Domain, c.GatewayDomain = "auth.example.com", "gw.example.net" }, ""},
		{"gateway domain with port", func(c *Config) { c.Domain, c.GatewayDomain = "localhost:8080", "gw.localhost:8080" }, ""},
		{"gateway domain with path", func(c *Config) { c.GatewayDomain = "gw.example.net/x" }, `gateway-domain: must be host[:port], with no scheme or path, got "gw.example.net/x"`},
		{"gateway domain is the domain", func(c *Config) { c.Domain, c.GatewayDomain = "example.com", "example.com" },
			`gateway-domain: must name another host than domain ("example.com"): the gateway's hosts must not be the team hosts`},
		{"gateway domain is the domain on another port", func(c *Config) { c.Domain, c.GatewayDomain = "example.com", "example.com:8443" },
			`gateway-domain: must name another host than domain ("example.com"): the gateway's hosts must not be the team hosts`},

		{"ops on 127.0.0.1", func(c *Config) { c.OpsListen = "127.0.0.1:9090" }, ""},
		{"ops on 127.0.0.2", func(c *Config) { c.OpsListen = "127.0.0.2:9090" }, ""},
		{"ops on ::1", func(c *Config) { c.OpsListen = "[::1]:9090" }, ""},
		{"ops on localhost", func(c *Config) { c.OpsListen = "localhost:9090" }, ""},
		{"ops on a public address", func(c *Config) { c.OpsListen = "10.0.0.1:9090" }, `ops-listen: must be a loopback address such as 127.0.0.1:9090, [::1]:9090 or localhost:9090, got "10.0.0.1:9090"`},
		{"ops on every interface", func(c *Config) { c.OpsListen = "0.0.0.0:9090" }, `ops-listen: must be a loopback address such as 127.0.0.1:9090, [::1]:9090 or localhost:9090, got "0.0.0.0:9090"`},
		{"ops without port", func(c *Config) { c.OpsListen = "127.0.0.1" }, `ops-listen: must be host:port, got "127.0.0.1"`},

		{"trusted proxies", func(c *Config) { c.TrustedProxies = " 10.0.0.0/8, 192.0.2.10,2001:db8::/32 ,::1" }, ""},
		{"trusted proxy header forwarded", func(c *Config) { c.TrustedProxyHeader = "Forwarded" }, ""},
		{"trusted proxy not a CIDR", func(c *Config) { c.TrustedProxies = "10.0.0.0/8,proxy.internal" },
			`trusted-proxies: "proxy.internal" is not a CIDR such as 10.0.0.0/8 or an address such as 192.0.2.10`},
		{"trusted proxy with host bits", func(c *Config) { c.TrustedProxies = "10.0.0.1/8" },
			`trusted-proxies: "10.0.0.1/8" has bits set past its prefix length; write 10.0.0.0/8 for the network, or 10.0.0.1/32 for the one address`},
		{"trusted proxy prefix too long", func(c *Config) { c.TrustedProxies = "10.0.0.0/33" },
			`trusted-proxies: "10.0.0.0/33" is not a CIDR such as 10.0.0.0/8 or an address such as 192.0.2.10`},
		{"trusted proxy header of another kind", func(c *Config) { c.TrustedProxyHeader = "x-real-ip" },
			`trusted-proxy-header: must be x-forwarded-for or forwarded, got "x-real-ip"`},

		{"no lame duck", func(c *Config) { c.LameDuck = 0 }, ""},
		{"lame duck as long as shutdown", func(c *Config) { c.LameDuck = c.ShutdownTimeout },
			"lame-duck: must be from 0 to less than shutdown-timeout (20s), got 20s"},
		{"negative lame duck", func(c *Config) { c.LameDuck = -time.Second },
			"lame-duck: must be from 0 to less than shutdown-timeout (20s), got -1s"},
		{"shortest database timeout", func(c *Config) { c.DatabaseTimeout = 10 * time.Millisecond }, ""},
		{"database timeout too short", func(c *Config) { c.DatabaseTimeout = time.Millisecond },
			"database-timeout: must be from 10ms to 1m, got 1ms"},
		{"smallest spool", func(c *Config) { c.AuditSpoolMaxBytes = 1 << 20 }, ""},
		{"spool too small", func(c *Config) { c.AuditSpoolMaxBytes = 1000 },
			"audit-spool-max-bytes: must be at least 1048576 (1 MiB), got 1000"},
		{"audit kept forever", func(c *Config) { c.AuditRetention = 0; c.LoginHistoryRetention = 0 }, ""},
		{"shortest retention", func(c *Config) { c.AuditRetention = time.Minute; c.LoginHistoryRetention = time.Minute }, ""},
		{"retention too short", func(c *Config) { c.AuditRetention = 59 * time.Second; c.LoginHistoryRetention = -time.Hour },
			"audit-retention: must be 0 (forever) or at least 1m, got 59s\nlogin-history-retention: must be 0 (forever) or at least 1m, got -1h0m0s"},

		{"shortest access token", func(c *Config) { c.AccessTokenTTL = time.Minute }, ""},
		{"longest access token", func(c *Config) { c.AccessTokenTTL = 24 * time.Hour }, ""},
		{"access token too long", func(c *Config) { c.AccessTokenTTL = 25 * time.Hour }, "access-token-ttl: must be from 1m to 24h, got 25h0m0s"},
		{"no token leeway", func(c *Config) { c.TokenLeeway = 0 }, ""},
		{"longest token leeway", func(c *Config) { c.TokenLeeway = time.Minute }, ""},
		{"token leeway too long", func(c *Config) { c.TokenLeeway = 61 * time.Second }, "token-leeway: must be from 0 to 1m, got 1m1s"},
		{"negative token leeway", func(c *Config) { c.TokenLeeway = -time.Second }, "token-leeway: must be from 0 to 1m, got -1s"},
		{"ES256", func(c *Config) { c.SigningAlg = "ES256" }, ""},
		{"EdDSA", func(c *Config) { c.SigningAlg = "EdDSA" }, ""},
		{"no rotation", func(c *Config) { c.SigningKeyRotation = 0 }, ""},
		{"rotation within publish-ahead", func(c *Config) { c.SigningKeyRotation = time.Hour },
			"signing-key-rotation: must be longer than signing-key-publish-ahead (1h0m0s), or 0, got 1h0m0s"},
		{"no publish-ahead", func(c *Config) { c.SigningKeyPublishAhead = 0 }, ""},
		{"longest auth code", func(c *Config) { c.AuthCodeTTL = 10 * time.Minute }, ""},
		{"zero auth code", func(c *Config) { c.AuthCodeTTL = 0 }, "auth-code-ttl: must be positive and at most 10m, got 0s"},
		{"equal refresh TTLs", func(c *Config) { c.RefreshIdleTTL = c.RefreshAbsoluteTTL }, ""},
		{"negative refresh TTL", func(c *Config) { c.RefreshAbsoluteTTL = -time.Hour; c.RefreshIdleTTL = -2 * time.Hour },
			"refresh-idle-ttl: must be positive, got -2h0m0s\nrefresh-absolute-ttl: must be positive, got -1h0m0s"},

		{"deprecation with sunset", func(c *Config) {
			c.StaticKeysDeprecatedSince = "2026-01-01T00:00:00Z"
			c.StaticKeysSunsetAt = "2026-07-01T00:00:00+02:00"
			c.StaticKeysLink = "https://docs.example.com/oauth"
		}, ""},
		{"sunset at deprecation", func(c *Config) {
			c.StaticKeysDeprecatedSince = "2026-01-01T00:00:00Z"
			c.StaticKeysSunsetAt = "2026-01-01T01:00:00+01:00"
		}, ""},
		{"date without time", func(c *Config) { c.StaticKeysSunsetAt = "2026-01-01" },
			`static-keys-sunset-at: "2026-01-01" is not an RFC 3339 time such as 2026-01-31T00:00:00Z`},
		{"both times unparsable", func(c *Config) { c.StaticKeysDeprecatedSince = "now"; c.StaticKeysSunsetAt = "later" },
			`static-keys-deprecated-since: "now" is not an RFC 3339 time such as 2026-01-31T00:00:00Z` + "\n" +
				`static-keys-sunset-at: "later" is not an RFC 3339 time such as 2026-01-31T00:00:00Z`},
		{"link without host", func(c *Config) { c.StaticKeysLink = "https:///oauth" },
			`static-keys-link: must be an absolute http:// or https:// URL, got "https:///oauth"`},
		{"link to mail", func(c *Config) { c.StaticKeysLink = "mailto:security@example.com" },
			`static-keys-link: must be an absolute http:// or https:// URL, got "mailto:security@example.com"`},

		{"scope-token edges", func(c *Config) {
			c.Scopes = []ScopeEntry{{Name: "!"}, {Name: "#[]~"}, {Name: "integration.data-pools:data_push"}}
		}, ""},
		{"scope with quote", func(c *Config) { c.Scopes = []ScopeEntry{{Name: `a"b`}} },
			`scopes[0].name: "a\"b" is not an RFC 6749 scope-token (printable ASCII except space, '"' and '\')`},
		{"scope with backslash", func(c *Config) { c.Scopes = []ScopeEntry{{Name: `a\b`}} },
			`scopes[0].name: "a\\b" is not an RFC 6749 scope-token (printable ASCII except space, '"' and '\')`},
		{"scope with non-ASCII", func(c *Config) { c.Scopes = []ScopeEntry{{Name: "café"}} },
			`scopes[0].name: "café" is not an RFC 6749 scope-token (printable ASCII except space, '"' and '\')`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.set(&c)
			var want []string
			if tt.want != "" {
				want = strings.Split(tt.want, "\n")
			}
			if diff := cmp.Diff(want, problems(t, c.Validate())); diff != "" {
				t.Errorf("Validate problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStaticKeyPolicy(t *testing.T) {
	c := Default()
	c.StaticKeysDeprecatedSince = "2026-01-01T00:00:00Z"
	c.StaticKeysLink = "https://docs.example.com/oauth"
	c.StaticKeysRefuseNew = true
	got, err := c.StaticKeyPolicy()
	if err != nil {
		t.Fatalf("StaticKeyPolicy: %v", err)
	}
	since := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	want := StaticKeyPolicy{DeprecatedSince: &since, Link: "https://docs.example.com/oauth", RefuseNew: true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("StaticKeyPolicy (-want +got):\n%s", diff)
	}

	c.StaticKeysSunsetAt = "tomorrow"
	if _, err := c.StaticKeyPolicy(); err == nil || !strings.Contains(err.Error(), "static-keys-sunset-at") {
		t.Errorf("StaticKeyPolicy with a bad sunset: error %v, want one naming static-keys-sunset-at", err)
	}
}

func TestTrustedProxyPrefixes(t *testing.T) {
	c := Default()
	c.TrustedProxies = "10.0.0.0/8, 192.0.2.10, ::ffff:172.16.0.0/108, 2001:db8::1"
	got, err := c.TrustedProxyPrefixes()
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.10/32"),
		netip.MustParsePrefix("172.16.0.0/12"), netip.MustParsePrefix("2001:db8::1/128")}
	if !slices.Equal(got, want) {
		t.Errorf("TrustedProxyPrefixes = %v, want %v", got, want)
	}
	if got, err := Default().TrustedProxyPrefixes(); err != nil || len(got) != 0 {
		t.Errorf("default: %v, %v; want none", got, err)
	}
}
