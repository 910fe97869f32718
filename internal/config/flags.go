package config

import (
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// helpAnnotation keeps a flag's help without the "(env ...)" suffix, for
// Settings.
const helpAnnotation = "gatehouse_help"

// Bind registers the settings every command takes on fs, bound to c:
// --data-dir, --database-url, --config, --log-level and --log-format. Each
// flag's default is c's current value, so c should hold Default().
func Bind(fs *pflag.FlagSet, c *Config) {
	b := binder{fs}
	b.string(&c.DataDir, "data-dir", "directory `DIR` of the SQLite database (gatehouse.db) and of the generated master key")
	b.string(&c.DatabaseURL, "database-url", "PostgreSQL connection `URL` (postgres:// or postgresql://); when set, used instead of SQLite in --data-dir")
	b.string(&c.File, "config", "YAML configuration `FILE`; environment variables and flags override it")
	b.string(&c.LogLevel, "log-level", "log level: debug, info, warn or error")
	b.string(&c.LogFormat, "log-format", "log format: text or json")
}

// BindServe registers the settings that only "gatehouse serve" shows on
// fs, bound to c: every setting that Bind does not register. Each flag's
// default is c's current value, so c should hold Default().
func BindServe(fs *pflag.FlagSet, c *Config) {
	b := binder{fs}
	b.string(&c.Listen, "listen", "`host:port` the server listens on; with --dev, 127.0.0.1:8080 unless set")
	b.string(&c.Domain, "domain", "`host[:port]` under which each team is served at <team>.<domain>")
	b.string(&c.Scheme, "scheme", "scheme of the team URLs, which are the token issuers: https or http")
	b.bool(&c.Dev, "dev", "development mode: --scheme http, --domain localhost:<listen port> and a loopback --listen, each unless set")
	b.string(&c.OpsListen, "ops-listen", "loopback `host:port` of the metrics listener, such as 127.0.0.1:9090 (empty: no metrics listener)")
	b.string(&c.Routes, "routes", "gateway routes YAML `FILE` (empty: no gateway routes)")
	b.string(&c.GatewayDomain, "gateway-domain", "`host[:port]` under which the gateway's routes are served, at <team>.<gateway-domain>, instead of on the team hosts (empty: on the team hosts)")
	b.string(&c.TrustedProxies, "trusted-proxies", "proxies whose forwarding header names the client, as `CIDR,...` (10.0.0.0/8,192.0.2.10); empty: the client is always the peer")
	b.string(&c.TrustedProxyHeader, "trusted-proxy-header", "the header the trusted proxies set: x-forwarded-for or forwarded (RFC 7239)")

	b.int64(&c.MaxBodyBytes, "max-body-bytes", "largest request body accepted, in bytes")
	b.duration(&c.ReadHeaderTimeout, "read-header-timeout", "time allowed to read a request's headers")
	b.duration(&c.ReadTimeout, "read-timeout", "time allowed to read a whole request")
	b.duration(&c.WriteTimeout, "write-timeout", "time allowed to write a response")
	b.duration(&c.IdleTimeout, "idle-timeout", "how long an idle keep-alive connection stays open")
	b.duration(&c.ShutdownTimeout, "shutdown-timeout", "time allowed on shutdown for requests in flight and pending writes")
	b.duration(&c.LameDuck, "lame-duck", "on SIGTERM, how long the server keeps serving with /readyz at 503 before it stops accepting; part of --shutdown-timeout")

	b.duration(&c.DatabaseTimeout, "database-timeout", "longest a request waits for the database before it is answered 503 with Retry-After")
	b.string(&c.AuditSpoolDir, "audit-spool-dir", "directory `DIR` of the audit spool, where acknowledged audit events wait for the database (empty: <data-dir>/audit-spool)")
	b.int64(&c.AuditSpoolMaxBytes, "audit-spool-max-bytes", "largest size of the audit spool; past it, requests that must be audited are answered 503")

	b.duration(&c.AuditRetention, "audit-retention", "age at which audit events are purged, at least 1m (0: kept forever)")
	b.duration(&c.LoginHistoryRetention, "login-history-retention", "age at which login history is purged, at least 1m (0: kept forever)")

	b.duration(&c.AccessTokenTTL, "access-token-ttl", "lifetime of access tokens, from 1m to 24h")
	b.duration(&c.TokenLeeway, "token-leeway", "clock skew tolerated on an access token's exp, nbf and iat by the APIs, the gateway and introspection alike, from 0 to 1m")
	b.string(&c.SigningAlg, "signing-alg", "algorithm of new signing keys: ES384, ES256 or EdDSA")
	b.duration(&c.SigningKeyRotation, "signing-key-rotation", "age at which a team's signing key is replaced (0: no automatic rotation)")
	b.duration(&c.SigningKeyPublishAhead, "signing-key-publish-ahead", "how long a new signing key is in the JWKS before it signs")
	b.duration(&c.AuthCodeTTL, "auth-code-ttl", "lifetime of authorization codes, at most 10m")
	b.duration(&c.RefreshIdleTTL, "refresh-idle-ttl", "a refresh token expires when unused for this long")
	b.duration(&c.RefreshAbsoluteTTL, "refresh-absolute-ttl", "a refresh token family expires this long after the login that started it")

	b.int(&c.ClientAuthFailures, "client-auth-failures", "failed client authentications allowed per client_id and per IP within --client-auth-window before 429")
	b.duration(&c.ClientAuthWindow, "client-auth-window", "window over which --client-auth-failures are counted")

	b.int(&c.LoginFailures, "login-failures", "failed web logins allowed per account within --login-window before 429")
	b.int(&c.LoginIPFailures, "login-ip-failures", "failed web logins allowed per IP within --login-window before 429")
	b.duration(&c.LoginWindow, "login-window", "window over which failed web logins are counted")
	b.duration(&c.SessionTTL, "session-ttl", "lifetime of a web session, from 5m to 720h")

	b.string(&c.StaticKeysDeprecatedSince, "static-keys-deprecated-since", "RFC 3339 `TIME` from which static keys get Deprecation headers (empty: never); for teams without a policy")
	b.string(&c.StaticKeysSunsetAt, "static-keys-sunset-at", "RFC 3339 `TIME` from which static keys are refused (empty: never); for teams without a policy")
	b.string(&c.StaticKeysLink, "static-keys-link", "`URL` sent to static key users in Link: <URL>; rel=\"deprecation\"")
	b.bool(&c.StaticKeysRefuseNew, "static-keys-refuse-new", "refuse to create new static keys; for teams without a policy")
}

// bindAll registers every setting on fs.
func bindAll(fs *pflag.FlagSet, c *Config) {
	Bind(fs, c)
	BindServe(fs, c)
}

// Setting describes one setting, for documentation.
type Setting struct {
	Flag    string // "access-token-ttl", also the YAML key
	Env     string // "GATEHOUSE_ACCESS_TOKEN_TTL"
	Default string // as the flag prints it; "" when empty
	Help    string // as --help prints it, without the environment variable
	Serve   bool   // registered by BindServe rather than Bind
}

// Settings describes every setting, common ones first, each group in the
// order Bind and BindServe register them. Scopes, set in the YAML file
// only, are not among them.
func Settings() []Setting {
	var out []Setting
	for _, g := range []struct {
		serve bool
		bind  func(*pflag.FlagSet, *Config)
	}{{false, Bind}, {true, BindServe}} {
		c := Default()
		fs := pflag.NewFlagSet("settings", pflag.ContinueOnError)
		fs.SortFlags = false
		g.bind(fs, &c)
		fs.VisitAll(func(f *pflag.Flag) {
			out = append(out, Setting{
				Flag:    f.Name,
				Env:     EnvVar(f.Name),
				Default: f.DefValue,
				Help:    strings.ReplaceAll(f.Annotations[helpAnnotation][0], "`", ""),
				Serve:   g.serve,
			})
		})
	}
	return out
}

// EnvVar returns the environment variable of the setting named by a flag:
// "access-token-ttl" is GATEHOUSE_ACCESS_TOKEN_TTL.
func EnvVar(flag string) string {
	return "GATEHOUSE_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// binder registers flags whose help names their environment variable.
type binder struct{ fs *pflag.FlagSet }

func (b binder) string(p *string, name, help string) {
	b.fs.StringVar(p, name, *p, usage(name, help))
	b.annotate(name, help)
}

func (b binder) bool(p *bool, name, help string) {
	b.fs.BoolVar(p, name, *p, usage(name, help))
	b.annotate(name, help)
}

func (b binder) int(p *int, name, help string) {
	b.fs.IntVar(p, name, *p, usage(name, help))
	b.annotate(name, help)
}

func (b binder) int64(p *int64, name, help string) {
	b.fs.Int64Var(p, name, *p, usage(name, help))
	b.annotate(name, help)
}

func (b binder) duration(p *time.Duration, name, help string) {
	b.fs.DurationVar(p, name, *p, usage(name, help))
	b.annotate(name, help)
	// Print "720h", not "720h0m0s"; both parse to the same value.
	b.fs.Lookup(name).DefValue = shortDuration(*p)
}

func (b binder) annotate(name, help string) {
	f := b.fs.Lookup(name)
	if f.Annotations == nil {
		f.Annotations = map[string][]string{}
	}
	f.Annotations[helpAnnotation] = []string{help}
}

func usage(name, help string) string {
	return help + " (env " + EnvVar(name) + ")"
}

// shortDuration formats d as time.Duration.String does, without zero
// trailing units: 720h, 1m, 1m30s, 0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
