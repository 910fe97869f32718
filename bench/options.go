package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Scenario names, in the order they run.
const (
	scTokenCC          = "token-cc"
	scTokenCCMultipart = "token-cc-multipart"
	scIntrospect       = "introspect"
	scAPIJWT           = "api-jwt"
	scAPIAppKey        = "api-appkey"
	scAPIUserKey       = "api-userkey"
	scGatewayJWT       = "gateway-jwt"
	scGatewayAppKey    = "gateway-appkey"
	scProxyNoAuth      = "proxy-noauth"
	scUpstreamDirect   = "upstream-direct"
	scRefresh          = "refresh"

	// Ceilings, run with --baseline.
	scReference          = "reference"
	scReferenceMultipart = "reference-multipart"
)

var allScenarios = []string{
	scTokenCC, scTokenCCMultipart, scIntrospect, scAPIJWT, scAPIAppKey, scAPIUserKey,
	scGatewayJWT, scGatewayAppKey, scProxyNoAuth, scUpstreamDirect, scRefresh,
}

// scaleScenarios are the scenarios the scale scenario may run.
var scaleScenarios = []string{scTokenCC, scAPIAppKey}

// options is the command line.
type options struct {
	Conns     int
	Duration  time.Duration
	Warmup    time.Duration
	Scenarios []string
	Baseline  bool
	Retries   int
	Rounds    int
	JSON      bool
	Verbose   bool

	Scale          bool
	ScaleSizes     []int
	ScaleActive    int
	ScaleScenarios []string
	ScaleBatch     int

	Soak          time.Duration
	SoakSample    time.Duration
	SoakRetention time.Duration

	DatabaseURL    string // self-started: a PostgreSQL server to make fresh databases on; target: the target's database
	DataDir        string // target only: the target's SQLite data directory, to provision through the CLI
	Gatehouse      string // a prebuilt gatehouse binary (default: go build ./cmd/gatehouse)
	GOMAXPROCS     int
	ServerLogLevel string
	APIPath        string
	Keep           bool

	// Targeting a running server.
	Target              string
	AllowRemote         bool
	Domain              string
	ServerPID           int
	Team                string
	ClientID            string
	ClientSecret        string
	PostClientID        string
	PostSecret          string
	AppKey              string
	UserKey             string
	GatewayPath         string
	Upstream            string
	CodeClientID        string
	CodeSecret          string
	CodeRedirect        string
	CodeScope           string
	UserEmail           string
	UserPassword        string
	targetURL           *url.URL
	scenariosGiven      bool
	serverLogLevelGiven bool
}

var errHelp = errors.New("help")

func parseOptions(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: go run ./bench [flags]

Starts a Gatehouse server on a free loopback port (SQLite in a fresh data
directory, or a fresh database on --database-url), provisions what the
scenarios need through the gatehouse CLI, and drives -c keep-alive
connections for -d per scenario. With --target it drives a running server.

Scenarios: %s
Ceilings (--baseline): ES384 signatures and verifications in-process, %s, %s.

Flags:
`, strings.Join(allScenarios, ", "), scReference, scReferenceMultipart)
		fs.PrintDefaults()
	}
	var scenarios, sizes, scaleScs string
	fs.IntVar(&o.Conns, "c", 32, "concurrent keep-alive connections per scenario")
	fs.DurationVar(&o.Duration, "d", 10*time.Second, "measured duration of each scenario")
	fs.DurationVar(&o.Warmup, "warmup", -1, "load before each measurement, not counted (default: d/5, between 100ms and 2s)")
	fs.StringVar(&scenarios, "scenarios", "all", "comma-separated scenarios to run, \"all\" or \"none\"")
	fs.BoolVar(&o.Baseline, "baseline", false, "also measure the ceilings and print every scenario as a ratio of its ceiling")
	fs.IntVar(&o.Rounds, "rounds", 1, "measure each scenario in this many rounds of -d, going through all scenarios in each round, and pool them")
	fs.IntVar(&o.Retries, "retries", 2, "measure a scenario again, after waiting for a quiet moment, when other processes used more than 5 % of the machine during it; the least disturbed attempt counts")
	fs.BoolVar(&o.JSON, "json", false, "print the report as JSON")
	fs.BoolVar(&o.Verbose, "v", false, "print progress details on stderr")

	fs.BoolVar(&o.Scale, "scale", false, "run the scale scenario: the -scale-scenarios with each of -scale-sizes clients and keys registered")
	fs.StringVar(&sizes, "scale-sizes", "1000,1000000", "comma-separated numbers of registered clients (and of AppKeys) for --scale")
	fs.IntVar(&o.ScaleActive, "scale-active", 1000, "how many of the registered credentials the load cycles through (spread over all)")
	fs.StringVar(&scaleScs, "scale-scenarios", strings.Join(scaleScenarios, ","), "scenarios of --scale")
	fs.IntVar(&o.ScaleBatch, "scale-batch", 5000, "records per transaction when registering clients and keys for --scale")

	fs.DurationVar(&o.Soak, "soak", 0, "run the soak for this long: one server with a short retention under a mixed load, sampled for memory, goroutines, open files and database growth (0: no soak)")
	fs.DurationVar(&o.SoakSample, "soak-sample", 10*time.Second, "how often the soak samples the server")
	fs.DurationVar(&o.SoakRetention, "soak-retention", time.Minute, "--audit-retention and --login-history-retention of the soak's server (at least 1m)")

	fs.StringVar(&o.DatabaseURL, "database-url", "", "PostgreSQL: without --target, a server on which each run makes (and drops) a fresh database; with --target, the target's database, to provision into")
	fs.StringVar(&o.DataDir, "data-dir", "", "with --target: the target's SQLite data directory, to provision into through the CLI")
	fs.StringVar(&o.Gatehouse, "gatehouse", "", "a gatehouse binary to run (default: build ./cmd/gatehouse into a temporary directory)")
	fs.IntVar(&o.GOMAXPROCS, "gomaxprocs", 0, "GOMAXPROCS of every server process and of the load generator (default: the Go runtime's, the number of CPUs)")
	fs.StringVar(&o.ServerLogLevel, "server-log-level", "info", "--log-level of the Gatehouse server (info logs every request, as in production)")
	fs.StringVar(&o.APIPath, "api-path", "/api/team/audit-log?limit=1", "path of the api-* scenarios (the smallest page, so that the rule, not the rows, is measured)")
	fs.BoolVar(&o.Keep, "keep", false, "keep the temporary directory (binary, data, logs) and databases")

	fs.StringVar(&o.Target, "target", "", "URL of a running Gatehouse server to drive instead of starting one, e.g. http://127.0.0.1:8080")
	fs.BoolVar(&o.AllowRemote, "allow-remote", false, "allow a --target that is not a loopback address")
	fs.StringVar(&o.Domain, "domain", "", "with --target: the target's --domain (default: localhost:<target port>, as serve --dev sets it)")
	fs.IntVar(&o.ServerPID, "server-pid", 0, "with --target: the server's process ID, to report its CPU time (default: n/a)")
	fs.StringVar(&o.Team, "team", "", "with --target: the team to use (default: a new team bench-<random> when provisioning)")
	fs.StringVar(&o.ClientID, "client-id", "", "with --target: a client_credentials client with client_secret_basic")
	fs.StringVar(&o.ClientSecret, "client-secret", "", "its secret")
	fs.StringVar(&o.PostClientID, "post-client-id", "", "with --target: a client_credentials client with client_secret_post (token-cc-multipart)")
	fs.StringVar(&o.PostSecret, "post-client-secret", "", "its secret")
	fs.StringVar(&o.AppKey, "app-key", "", "with --target: an AppKey whose application may read audit-log (and the gateway route)")
	fs.StringVar(&o.UserKey, "user-key", "", "with --target: a user API key whose user may read audit-log")
	fs.StringVar(&o.GatewayPath, "gateway-path", "", "with --target: a path of one of the target's gateway routes (GET)")
	fs.StringVar(&o.Upstream, "upstream", "", "with --target: the upstream URL of that route, for proxy-noauth and upstream-direct")
	fs.StringVar(&o.CodeClientID, "code-client-id", "", "with --target: an authorization_code client with client_secret_basic (refresh)")
	fs.StringVar(&o.CodeSecret, "code-client-secret", "", "its secret")
	fs.StringVar(&o.CodeRedirect, "code-redirect-uri", "", "its redirect URI")
	fs.StringVar(&o.CodeScope, "code-scope", "audit.log:read", "the scope the refresh scenario asks for")
	fs.StringVar(&o.UserEmail, "user-email", "", "with --target: a user who may log in (refresh)")
	fs.StringVar(&o.UserPassword, "user-password", "", "the user's password")

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, errHelp
		}
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q: every setting is a flag", fs.Arg(0))
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "scenarios":
			o.scenariosGiven = true
		case "server-log-level":
			o.serverLogLevelGiven = true
		}
	})
	var probs []string
	var err error
	if o.Scenarios, err = parseScenarios(scenarios, allScenarios); err != nil {
		probs = append(probs, "-scenarios: "+err.Error())
	}
	if o.ScaleScenarios, err = parseScenarios(scaleScs, scaleScenarios); err != nil {
		probs = append(probs, "-scale-scenarios: "+err.Error())
	}
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.ReplaceAll(strings.TrimSpace(s), "_", ""))
		if err != nil || n < 1 || n > 10_000_000 {
			probs = append(probs, fmt.Sprintf("-scale-sizes: %q is not a number from 1 to 10,000,000", s))
			continue
		}
		o.ScaleSizes = append(o.ScaleSizes, n)
	}
	if o.Conns < 1 || o.Conns > 4096 {
		probs = append(probs, fmt.Sprintf("-c %d: want 1 to 4096 connections", o.Conns))
	}
	if o.Duration <= 0 || o.Duration > time.Hour {
		probs = append(probs, fmt.Sprintf("-d %s: want a positive duration of at most 1h", o.Duration))
	}
	if o.Warmup < 0 {
		o.Warmup = min(max(o.Duration/5, 100*time.Millisecond), 2*time.Second)
	}
	if o.Warmup > 10*time.Minute {
		probs = append(probs, "-warmup: at most 10m")
	}
	if o.ScaleActive < 1 {
		probs = append(probs, "-scale-active: want at least 1")
	}
	if o.ScaleBatch < 1 || o.ScaleBatch > 100_000 {
		probs = append(probs, "-scale-batch: want 1 to 100,000")
	}
	if o.Rounds < 1 || o.Rounds > 100 {
		probs = append(probs, "-rounds: want 1 to 100")
	}
	if o.Retries < 0 || o.Retries > 20 {
		probs = append(probs, "-retries: want 0 to 20")
	}
	if o.GOMAXPROCS < 0 {
		probs = append(probs, "-gomaxprocs: want a positive number")
	}
	if !strings.HasPrefix(o.APIPath, "/") {
		probs = append(probs, "-api-path: want a path starting with /")
	}
	if o.DatabaseURL != "" && !strings.HasPrefix(o.DatabaseURL, "postgres://") && !strings.HasPrefix(o.DatabaseURL, "postgresql://") {
		probs = append(probs, "-database-url: want a postgres:// or postgresql:// URL")
	}
	if o.Soak < 0 || o.Soak > 24*time.Hour {
		probs = append(probs, fmt.Sprintf("-soak %s: want a duration of at most 24h", o.Soak))
	}
	if o.Soak > 0 {
		if o.SoakSample < time.Second || o.SoakSample > o.Soak {
			probs = append(probs, fmt.Sprintf("-soak-sample %s: want 1s to the soak's duration", o.SoakSample))
		}
		if o.SoakRetention < time.Minute {
			probs = append(probs, fmt.Sprintf("-soak-retention %s: want at least 1m (the server's minimum)", o.SoakRetention))
		}
		if o.Conns < 2 {
			probs = append(probs, "-soak needs -c 2 or more: one connection is the attacker's")
		}
	}
	if o.Target != "" {
		probs = append(probs, o.checkTarget()...)
	} else {
		for name, v := range map[string]string{"data-dir": o.DataDir, "team": o.Team, "client-id": o.ClientID, "app-key": o.AppKey,
			"user-key": o.UserKey, "gateway-path": o.GatewayPath, "upstream": o.Upstream, "post-client-id": o.PostClientID,
			"code-client-id": o.CodeClientID, "user-email": o.UserEmail, "domain": o.Domain} {
			if v != "" {
				probs = append(probs, fmt.Sprintf("-%s is for --target: without it the tool starts and provisions its own server", name))
			}
		}
		if o.ServerPID != 0 {
			probs = append(probs, "-server-pid is for --target")
		}
	}
	if len(probs) > 0 {
		slices.Sort(probs)
		return nil, errors.New(strings.Join(probs, "\n  "))
	}
	return o, nil
}

func (o *options) checkTarget() []string {
	var probs []string
	u, err := url.Parse(o.Target)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return []string{fmt.Sprintf("-target %q: want the http:// URL of the server's listener, such as http://127.0.0.1:8080 (the load generator speaks plain HTTP/1.1; TLS terminates in front of Gatehouse)", o.Target)}
	}
	o.targetURL = u
	if !o.AllowRemote && !isLoopback(u.Hostname()) {
		probs = append(probs, fmt.Sprintf("-target %s is not a loopback address: a load test sends thousands of requests a second; give --allow-remote if that is what you mean", u.Host))
	}
	if o.Scale {
		probs = append(probs, "--scale starts its own servers on fresh databases: it does not take --target")
	}
	if o.Soak > 0 {
		probs = append(probs, "--soak starts its own server with a short retention: it does not take --target")
	}
	if o.DataDir != "" && o.DatabaseURL != "" {
		probs = append(probs, "give one of -data-dir and -database-url")
	}
	provisioning := o.DataDir != "" || o.DatabaseURL != ""
	if !provisioning && o.Team == "" {
		probs = append(probs, "-target needs -team and credentials (-client-id, -app-key, ...) or -data-dir/-database-url to provision through the CLI")
	}
	if (o.GatewayPath == "") != (o.Upstream == "") {
		probs = append(probs, "-gateway-path and -upstream go together")
	}
	if o.Upstream != "" {
		if uu, err := url.Parse(o.Upstream); err != nil || uu.Scheme != "http" || uu.Host == "" {
			probs = append(probs, "-upstream: want an http:// URL")
		} else if !o.AllowRemote && !isLoopback(uu.Hostname()) {
			probs = append(probs, "-upstream is not a loopback address; give --allow-remote if that is what you mean")
		}
	}
	return probs
}

// isLoopback reports whether host names the loopback interface.
func isLoopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func parseScenarios(s string, known []string) ([]string, error) {
	s = strings.TrimSpace(s)
	switch s {
	case "all":
		return slices.Clone(known), nil
	case "none", "":
		return nil, nil
	}
	want := map[string]bool{}
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if !slices.Contains(known, name) {
			return nil, fmt.Errorf("unknown scenario %q (known: %s)", name, strings.Join(known, ", "))
		}
		want[name] = true
	}
	var out []string
	for _, name := range known { // the canonical order
		if want[name] {
			out = append(out, name)
		}
	}
	return out, nil
}
