package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// runner is one run of the tool: what it set up, to be torn down in the
// reverse order, and the report it fills.
type runner struct {
	o        *options
	log      io.Writer
	rep      *report
	tmp      string
	bin      string
	cleanups []func() error
	pids     []int // every process the tool started and that may run
	// postgres: the database is a PostgreSQL server on this machine,
	// whose processes work for the load too.
	postgres bool
}

// started notes a process the tool started, whose CPU time is its own.
func (r *runner) started(pid int) { r.pids = append(r.pids, pid) }

// ourCPU is the CPU time of the tool and of every process it started.
func (r *runner) ourCPU() time.Duration {
	total, _ := processCPU(os.Getpid())
	for _, pid := range r.pids {
		if c, ok := processCPU(pid); ok {
			total += c
		}
	}
	if r.postgres {
		total += commandCPU("postgres")
	}
	return total
}

// execute runs what o asks for and returns the report; err is a failure
// to set up or to run at all. A scenario that fails is in the report.
func execute(ctx context.Context, o *options, stderr io.Writer) (_ *report, err error) {
	if o.GOMAXPROCS > 0 {
		runtime.GOMAXPROCS(o.GOMAXPROCS)
	}
	rep := &report{Machine: describeMachine(), Conns: o.Conns, Duration: o.Duration.Seconds(), Warmup: o.Warmup.Seconds()}
	r := &runner{o: o, log: stderr, rep: rep}
	if o.DatabaseURL != "" {
		if u, err := url.Parse(o.DatabaseURL); err == nil && (u.Hostname() == "" || isLoopback(u.Hostname())) {
			r.postgres = true
		}
	}
	defer func() {
		if cerr := r.close(); cerr != nil {
			fmt.Fprintf(stderr, "bench: cleaning up: %v\n", cerr)
		}
	}()
	if r.tmp, err = os.MkdirTemp("", "gatehouse-bench-*"); err != nil {
		return rep, err
	}
	if o.Keep {
		rep.Setup = append(rep.Setup, "kept: "+r.tmp)
	} else {
		r.onClose(func() error { return os.RemoveAll(r.tmp) })
	}

	scenarios := o.Scenarios
	if (o.Scale || o.Soak > 0) && !o.scenariosGiven {
		scenarios = nil // --scale or --soak alone runs only itself
	}
	// The ceilings run right before the scenarios they bound, so that
	// both see the machine in the same state.
	var plan []string
	refs := map[string]spec{}
	if o.Baseline {
		r.progress("ES384 in-process: %s signing, then %s verifying", o.Duration, o.Duration)
		c, err := measureES384(ctx, o.Duration)
		if err != nil {
			return rep, err
		}
		rep.Crypto = &c
		if refs, err = r.references(ctx); err != nil {
			return rep, err
		}
		for _, ref := range []struct{ ceiling, of string }{{scReference, scTokenCC}, {scReferenceMultipart, scTokenCCMultipart}} {
			if !slices.Contains(scenarios, ref.of) {
				plan = append(plan, ref.ceiling)
			}
		}
	}
	for _, name := range scenarios {
		switch {
		case o.Baseline && name == scTokenCC:
			plan = append(plan, scReference)
		case o.Baseline && name == scTokenCCMultipart:
			plan = append(plan, scReferenceMultipart)
		}
		plan = append(plan, name)
	}
	if len(plan) > 0 {
		if err := r.scenarios(ctx, plan, refs); err != nil {
			return rep, err
		}
	}
	setRatios(rep.Rows)
	if o.Scale {
		if err := r.scale(ctx); err != nil {
			return rep, err
		}
	}
	if o.Soak > 0 {
		if err := r.soak(ctx); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func (r *runner) progress(format string, args ...any) {
	fmt.Fprintf(r.log, "bench: "+format+"\n", args...)
}

func (r *runner) onClose(fn func() error) { r.cleanups = append(r.cleanups, fn) }

// close undoes the setup, last first.
func (r *runner) close() error {
	var errs []error
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		if err := r.cleanups[i](); err != nil {
			errs = append(errs, err)
		}
	}
	r.cleanups = nil
	return errors.Join(errs...)
}

// gatehouseBinary returns the gatehouse binary, building it once.
func (r *runner) gatehouseBinary(ctx context.Context) (string, error) {
	if r.bin != "" {
		return r.bin, nil
	}
	if r.o.Gatehouse != "" {
		r.bin = r.o.Gatehouse
		r.rep.Setup = append(r.rep.Setup, "gatehouse: "+r.bin)
		return r.bin, nil
	}
	r.progress("building ./cmd/gatehouse")
	bin, err := buildGatehouse(ctx, r.tmp)
	if err != nil {
		return "", err
	}
	r.bin = bin
	r.rep.Setup = append(r.rep.Setup, "gatehouse: built from ./cmd/gatehouse with "+runtime.Version())
	return bin, nil
}

// newGatehouse sets up a fresh database, SQLite in a new data directory
// or a new PostgreSQL database on -database-url's server, and the
// gatehouse binary to run on it. label names it in the temporary
// directory.
func (r *runner) newGatehouse(ctx context.Context, label string) (*gatehouse, string, error) {
	bin, err := r.gatehouseBinary(ctx)
	if err != nil {
		return nil, "", err
	}
	g := &gatehouse{bin: bin, dir: r.tmp, gomaxprocs: r.o.GOMAXPROCS, logLevel: r.o.ServerLogLevel}
	if r.o.DatabaseURL == "" {
		g.dataDir = filepath.Join(r.tmp, label+"-data")
		_, err := g.cli(ctx, "", "migrate") // only migrate and serve make a database
		return g, "SQLite in " + g.dataDir, err
	}
	name := "gatehouse_bench_" + randomText(6)
	if err := pgExec(ctx, r.o.DatabaseURL, "CREATE DATABASE "+name); err != nil {
		return nil, "", fmt.Errorf("make a fresh PostgreSQL database on -database-url: %w", err)
	}
	if r.o.Keep {
		r.rep.Setup = append(r.rep.Setup, "kept: PostgreSQL database "+name)
	} else {
		r.onClose(func() error {
			return pgExec(context.Background(), r.o.DatabaseURL, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		})
	}
	u, err := url.Parse(r.o.DatabaseURL)
	if err != nil {
		return nil, "", err
	}
	u.Path = "/" + name
	g.dbURL = u.String()
	g.masterKey = os.Getenv("GATEHOUSE_MASTER_KEY")
	if g.masterKey == "" {
		g.masterKey = newMasterKey()
	}
	_, err = g.cli(ctx, "", "migrate")
	return g, "PostgreSQL database " + name + " on " + u.Host, err
}

// pgExec runs one statement on the PostgreSQL server of url.
func pgExec(ctx context.Context, url, stmt string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, stmt)
	return err
}

// target is the server under test and what the scenarios present to it.
type target struct {
	addr    string // the Gatehouse server's address
	host    string // the team's host
	pid     int    // the server's process, 0 if unknown
	creds   creds
	jwt     string
	jwtErr  string
	apiPath string

	upstreamAddr string
	upstreamPID  int
	proxy        *child
	proxyErr     string
}

// references starts the reference token server and returns its
// scenarios, urlencoded and multipart.
func (r *runner) references(ctx context.Context) (map[string]spec, error) {
	id, secret := "5d3c1b8e-4f0a-4b6e-9c2d-7a1e0f3b9c4d", randomText(32)
	ref, err := startChild(ctx, roleReference, r.o.GOMAXPROCS, envRefClientID+"="+id, envRefClientSecret+"="+secret,
		envRefDomain+"="+benchDomain)
	if err != nil {
		return nil, err
	}
	r.onClose(ref.stop)
	r.started(ref.pid())
	r.rep.Setup = append(r.rep.Setup, fmt.Sprintf("reference: minimal token server at %s (pid %d)", ref.addr, ref.pid()))
	host := "bench." + benchDomain
	return map[string]spec{
		scReference:          {addr: ref.addr, pid: ref.pid(), sources: cycleSources(tokenRequest(host, id, secret)), check: checkToken},
		scReferenceMultipart: {addr: ref.addr, pid: ref.pid(), sources: cycleSources(multipartTokenRequest(host, id, secret)), check: checkToken},
	}, nil
}

// scenarios runs the plan: the ceilings from refs, the others against the
// server under test, started (or reached) and provisioned first.
func (r *runner) scenarios(ctx context.Context, plan []string, refs map[string]spec) error {
	var t *target
	if slices.ContainsFunc(plan, func(n string) bool { _, ok := refs[n]; return !ok }) {
		var err error
		if t, err = r.target(ctx, plan); err != nil {
			return err
		}
	}
	specs := map[string]spec{}
	for _, name := range plan {
		sp, ok := refs[name]
		if !ok {
			var err error
			if sp, err = t.spec(ctx, name); err != nil {
				r.rep.Rows = append(r.rep.Rows, row{Scenario: name, Status: statusOf(err)})
				r.progress("%s: %s", name, statusOf(err))
				continue
			}
		}
		specs[name] = sp
	}
	r.rep.Rows = append(r.rep.Rows, r.measureAll(ctx, plan, specs)...)
	slices.SortStableFunc(r.rep.Rows, func(a, b row) int { return slices.Index(plan, a.Scenario) - slices.Index(plan, b.Scenario) })
	return nil
}

func statusOf(err error) string {
	var u *unavailableError
	if errors.As(err, &u) {
		return u.Error()
	}
	return "failed: " + err.Error()
}

func needsGateway(names []string) bool {
	return slices.ContainsFunc(names, func(n string) bool {
		return n == scGatewayJWT || n == scGatewayAppKey || n == scProxyNoAuth || n == scUpstreamDirect
	})
}

// target sets up the server under test: started and provisioned here, or
// reached with -target.
func (r *runner) target(ctx context.Context, names []string) (*target, error) {
	o := r.o
	t := &target{apiPath: o.APIPath}
	if o.Target == "" {
		g, where, err := r.newGatehouse(ctx, "main")
		if err != nil {
			return nil, err
		}
		r.progress("provisioning through the gatehouse CLI (%s)", where)
		if t.creds, err = provision(ctx, g, "bench"); err != nil {
			return nil, err
		}
		var extra []string
		if needsGateway(names) {
			up, err := startChild(ctx, roleUpstream, o.GOMAXPROCS)
			if err != nil {
				return nil, err
			}
			r.onClose(up.stop)
			r.started(up.pid())
			routes, err := writeRoutes(r.tmp, up.addr)
			if err != nil {
				return nil, err
			}
			extra = append(extra, "--routes", routes)
			t.creds.gatewayPath, t.creds.upstream = gatewayPath, "http://"+up.addr
			t.upstreamAddr, t.upstreamPID = up.addr, up.pid()
			r.rep.Setup = append(r.rep.Setup, fmt.Sprintf("upstream: trivial JSON server at %s (pid %d), gateway route %q",
				up.addr, up.pid(), gatewayMatch))
		}
		srv, err := g.serve(ctx, extra...)
		if err != nil {
			return nil, err
		}
		r.onClose(srv.stop)
		r.started(srv.pid())
		t.addr, t.pid = srv.addr, srv.pid()
		t.host = t.creds.team + "." + benchDomain
		r.rep.Setup = append(r.rep.Setup, fmt.Sprintf("server: gatehouse serve at %s (pid %d), %s, --log-level %s, ready %s after start",
			srv.addr, srv.pid(), where, o.ServerLogLevel, srv.startup.Round(time.Millisecond)))
	} else if err := r.remoteTarget(ctx, t); err != nil {
		return nil, err
	}

	if t.creds.basicID != "" {
		tok, err := fetchToken(ctx, t.addr, t.host, t.creds.basicID, t.creds.basicSecret)
		if err != nil {
			t.jwtErr = "no access token for the JWT scenarios: " + err.Error()
		}
		t.jwt = tok
	} else {
		t.jwtErr = "needs -client-id and -client-secret"
	}
	if slices.Contains(names, scProxyNoAuth) && t.creds.upstream != "" {
		p, err := startChild(ctx, roleProxy, o.GOMAXPROCS, envUpstream+"="+t.creds.upstream)
		if err != nil {
			t.proxyErr = err.Error()
		} else {
			r.onClose(p.stop)
			r.started(p.pid())
			t.proxy = p
			r.rep.Setup = append(r.rep.Setup, fmt.Sprintf("proxy-noauth: httputil.ReverseProxy at %s (pid %d) to the same upstream", p.addr, p.pid()))
		}
	}
	return t, nil
}

// remoteTarget sets t up for a running server: provisioned through the
// CLI on its database, or with the credentials of the flags.
func (r *runner) remoteTarget(ctx context.Context, t *target) error {
	o := r.o
	t.addr = o.targetURL.Host
	if o.targetURL.Port() == "" {
		t.addr = net.JoinHostPort(o.targetURL.Hostname(), "80")
	}
	t.pid = o.ServerPID
	if t.pid != 0 {
		r.started(t.pid) // not started here, but its CPU time is this load's
	}
	domain := o.Domain
	if domain == "" {
		domain = "localhost:" + o.targetURL.Port() // as serve --dev sets it
	}
	if o.DataDir != "" || o.DatabaseURL != "" {
		bin, err := r.gatehouseBinary(ctx)
		if err != nil {
			return err
		}
		g := &gatehouse{bin: bin, dir: r.tmp, dataDir: o.DataDir, dbURL: o.DatabaseURL, masterKey: os.Getenv("GATEHOUSE_MASTER_KEY")}
		team := o.Team
		if team == "" {
			team = "bench-" + randomText(3)
		}
		r.progress("provisioning team %s on the target's database through the gatehouse CLI", team)
		if t.creds, err = provision(ctx, g, team); err != nil {
			return err
		}
	} else {
		t.creds = creds{team: o.Team, basicID: o.ClientID, basicSecret: o.ClientSecret, postID: o.PostClientID,
			postSecret: o.PostSecret, appKey: o.AppKey, userKey: o.UserKey}
		if o.CodeClientID != "" {
			t.creds.code = codeClient{id: o.CodeClientID, secret: o.CodeSecret, redirect: o.CodeRedirect, scope: o.CodeScope,
				email: o.UserEmail, password: o.UserPassword}
		} else {
			t.creds.codeErr = "needs -code-client-id, -code-client-secret, -code-redirect-uri, -user-email and -user-password"
		}
	}
	if o.GatewayPath != "" {
		t.creds.gatewayPath, t.creds.upstream = o.GatewayPath, o.Upstream
		u, _ := url.Parse(o.Upstream)
		t.upstreamAddr = u.Host
		if u.Port() == "" {
			t.upstreamAddr = net.JoinHostPort(u.Hostname(), "80")
		}
	}
	t.host = t.creds.team + "." + domain
	pid := "n/a"
	if t.pid != 0 {
		pid = fmt.Sprint(t.pid)
	}
	r.rep.Setup = append(r.rep.Setup, fmt.Sprintf("server: a running Gatehouse at %s (pid %s), team host %s", o.Target, pid, t.host))
	return nil
}

// measureAll measures the scenarios of plan that have a spec: each is
// checked once, then loaded for -d in each of -rounds rounds, the rounds
// going through the whole plan in turn, so that slow drifts of the
// machine touch every scenario alike. A scenario's figures pool its
// rounds.
func (r *runner) measureAll(ctx context.Context, plan []string, specs map[string]spec) []row {
	type acc struct {
		m        measurement
		attempts int
		status   string // "" while it runs
	}
	accs := map[string]*acc{}
	var order []string
	for _, name := range plan {
		sp, ok := specs[name]
		if !ok || accs[name] != nil {
			continue
		}
		order = append(order, name)
		a := &acc{m: pool()}
		accs[name] = a
		check := func() error { return checkOnce(ctx, sp) }
		if sp.preflight != nil {
			check = func() error { return sp.preflight(ctx) }
		}
		if err := check(); err != nil {
			r.progress("%s: %s", name, statusOf(err))
			a.status = statusOf(err)
		}
	}
	for round := 1; round <= r.o.Rounds; round++ {
		for _, name := range order {
			a := accs[name]
			if a.status != "" || ctx.Err() != nil {
				continue
			}
			if r.o.Rounds > 1 {
				r.progress("round %d of %d", round, r.o.Rounds)
			}
			m, attempts, err := r.measure(ctx, name, specs[name])
			a.attempts += attempts
			if err != nil {
				a.status = statusOf(err)
				continue
			}
			a.m = a.m.merge(m)
		}
	}
	var rows []row
	for _, name := range order {
		a := accs[name]
		if a.status != "" {
			rows = append(rows, row{Scenario: name, Status: a.status})
			continue
		}
		slices.Sort(a.m.Latencies)
		out := newRow(name, a.m)
		out.Attempts = a.attempts
		if a.m.OthersKnown && a.m.Elapsed > 0 {
			v := a.m.Others.Seconds() / (a.m.Elapsed.Seconds() * float64(runtime.NumCPU()))
			out.OtherLoad = &v
		}
		if out.OtherLoad != nil && *out.OtherLoad > otherLoadWarning {
			r.progress("%s: other processes used %.0f %% of the machine during the measurement: its figures are disturbed", name, *out.OtherLoad*100)
		}
		rows = append(rows, out)
	}
	return rows
}

// measure loads one scenario for -d. When other processes used more than
// the warning share of the machine meanwhile, it waits for a quiet moment
// and measures again, up to -retries times; of the attempts, the least
// disturbed one counts: chosen by the other load alone, never by the
// figures.
func (r *runner) measure(ctx context.Context, name string, sp spec) (best measurement, attempts int, _ error) {
	share := func(m measurement) float64 {
		if !m.OthersKnown || m.Elapsed <= 0 {
			return 0
		}
		return m.Others.Seconds() / (m.Elapsed.Seconds() * float64(runtime.NumCPU()))
	}
	for attempt := 1; attempt <= 1+r.o.Retries; attempt++ {
		if attempt > 1 {
			r.progress("%s: other processes used %.0f %% of the machine during the measurement: waiting for a quiet moment to measure again (%d of %d)",
				name, share(best)*100, attempt, 1+r.o.Retries)
			r.waitQuiet(ctx, time.Minute)
		}
		r.progress("%s: %d connections, %s + %s", name, r.o.Conns, r.o.Warmup, r.o.Duration)
		l := load{addr: sp.addr, conns: r.o.Conns, warmup: r.o.Warmup, duration: r.o.Duration, sources: sp.sources, ours: r.ourCPU}
		if sp.pid != 0 {
			pid := sp.pid
			l.cpu = func() (time.Duration, bool) { return processCPU(pid) }
		}
		m, err := l.run(ctx)
		if err != nil {
			return measurement{}, attempt, err
		}
		if r.o.Verbose {
			cpu := "n/a"
			if m.CPUKnown && m.Requests > 0 {
				cpu = fmt.Sprintf("%.3f", m.CPU.Seconds()/(float64(m.Requests)/1000))
			}
			r.progress("%s: %.0f req/s, p99 %s, CPU s/1k %s, %d non-2xx, %d transport errors, other load %.0f %%",
				name, m.rps(), time.Duration(m.percentile(.99)).Round(10*time.Microsecond), cpu, m.Non2xx, m.Transport, share(m)*100)
		}
		// Let the server finish what the load left (batched writes)
		// before the next measurement.
		sleepUntil(ctx, time.Now().Add(min(300*time.Millisecond, r.o.Warmup)))
		if attempt == 1 || share(m) < share(best) {
			best = m
		}
		attempts = attempt
		if share(best) <= otherLoadWarning {
			break
		}
	}
	return best, attempts, nil
}

// waitQuiet waits, at most max, until other processes have used less than
// the warning share of the machine for two seconds running.
func (r *runner) waitQuiet(ctx context.Context, max time.Duration) {
	deadline := time.Now().Add(max)
	quiet := 0
	for quiet < 2 && time.Now().Before(deadline) && ctx.Err() == nil {
		b0, ok0 := machineBusy()
		o0 := r.ourCPU()
		t0 := time.Now()
		sleepUntil(ctx, t0.Add(time.Second))
		b1, ok1 := machineBusy()
		o1 := r.ourCPU()
		if !ok0 || !ok1 {
			return
		}
		share := ((b1 - b0) - (o1 - o0)).Seconds() / (time.Since(t0).Seconds() * float64(runtime.NumCPU()))
		if share <= otherLoadWarning {
			quiet++
		} else {
			quiet = 0
		}
	}
}

// checkOnce sends a scenario's first request once and checks the answer.
func checkOnce(ctx context.Context, sp spec) error {
	src, err := sp.sources(0, 1)
	if err != nil {
		return err
	}
	req, err := src.next()
	if err != nil {
		return err
	}
	status, body, err := do(ctx, sp.addr, req)
	if err != nil {
		return fmt.Errorf("the first request: %w", err)
	}
	if status < 200 || status > 299 {
		return fmt.Errorf("the first request answered %d: %s", status, snippet(body))
	}
	if sp.check != nil {
		if err := sp.check(body); err != nil {
			return fmt.Errorf("the first request: %w", err)
		}
	}
	return nil
}
