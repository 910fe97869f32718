package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/internal/compose"
	"github.com/gatehouse/gatehouse/internal/config"
)

// The soak (--soak D): one server with a short retention under a mixed load
// for D, sampled every -soak-sample: its resident memory, goroutines and
// open files, the database's size and the rows of the tables that grow
// with traffic. The report gives each figure's growth per 1,000 requests
// and a verdict: memory, goroutines and open files flat, rows and size
// bounded once the retention and the purge have had time to act.

// soakKind is one kind of request of the mix, and the answers it expects.
type soakKind struct {
	name string
	ok   func(status int) bool
}

func only(codes ...int) func(int) bool {
	return func(s int) bool {
		for _, c := range codes {
			if s == c {
				return true
			}
		}
		return false
	}
}

// The mix. Every worker but one cycles through the clients' requests:
// token issuance (both client authentications), introspection, the team
// API and the gateway with a JWT and with an AppKey. The last worker is an
// attacker from another loopback address (the limits count per address,
// and would otherwise refuse the clients too): a failed sign-in and a
// failed client authentication in turn, soon refused by their limits
// (429), at attackRate requests a second.
const (
	mixTokenCC = iota
	mixTokenCCAgain
	mixTokenMultipart
	mixIntrospect
	mixAPIJWT
	mixAPIAppKey
	mixGatewayJWT
	mixGatewayAppKey
	mixLoginFailure
	mixClientAuthFailure
	mixKinds
)

var soakKinds = [mixKinds]soakKind{
	mixTokenCC:           {"token-cc", only(200)},
	mixTokenCCAgain:      {"token-cc", only(200)},
	mixTokenMultipart:    {"token-cc-multipart", only(200)},
	mixIntrospect:        {"introspect", only(200)},
	mixAPIJWT:            {"api-jwt", only(200)},
	mixAPIAppKey:         {"api-appkey", only(200)},
	mixGatewayJWT:        {"gateway-jwt", only(200)},
	mixGatewayAppKey:     {"gateway-appkey", only(200)},
	mixLoginFailure:      {"login-failure", only(400, 429)},
	mixClientAuthFailure: {"client-auth-failure", only(401, 429)},
}

// soakTables are the tables whose rows the soak counts: those that grow
// with traffic and that the purge keeps bounded.
var soakTables = []string{"audit_events", "login_events", "auth_codes", "refresh_tokens", "revoked_tokens", "changes"}

// soakTally counts the mix's answers, shared by every worker.
type soakTally struct {
	total      atomic.Int64
	perKind    [mixKinds]atomic.Int64
	unexpected [mixKinds]atomic.Int64
	// shed are 503 temporarily_unavailable answers: the server refusing
	// what it could not do in time (an audit event not durable within
	// its bound on a stalling disk), with Retry-After.
	shed     [mixKinds]atomic.Int64
	mu       sync.Mutex
	firstBad [mixKinds]string
}

var (
	clientMix   = []int{mixTokenCC, mixTokenCCAgain, mixTokenMultipart, mixIntrospect, mixAPIJWT, mixAPIAppKey, mixGatewayJWT, mixGatewayAppKey}
	attackerMix = []int{mixLoginFailure, mixClientAuthFailure}
)

// attackRate paces the attacker: refused attempts are cheap, and an
// attacker at full speed would be most of the load.
const attackRate = 100

// attackerAddr is the attacker's loopback address.
var attackerAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}

// soakMix is one worker's source: it cycles through its kinds, and now
// and then takes a new access token from a token answer for the requests
// that present one, so that the server sees fresh tokens all along.
type soakMix struct {
	t     *soakTarget
	tally *soakTally
	kinds []int
	i     int
	last  int
	jwt   [mixKinds][]byte // the requests that carry the current token
	seen  int              // token answers seen
	// The attacker's address and pace.
	from net.Addr
	due  time.Time
}

func (m *soakMix) localAddr() net.Addr { return m.from }

// soakTarget is what the mix's requests are built from.
type soakTarget struct {
	host       string
	creds      creds
	apiPath    string
	loginForm  []byte // a failed sign-in, with its CSRF token and cookie
	static     [mixKinds][]byte
	firstToken string
}

func (t *soakTarget) jwtRequests(tok string) [mixKinds][]byte {
	var r [mixKinds][]byte
	get := func(path string) []byte {
		return rawRequest("GET", t.host, path, []string{"Authorization: Bearer " + tok, "Accept: application/json"}, nil)
	}
	r[mixAPIJWT] = get(t.apiPath)
	r[mixGatewayJWT] = get(t.creds.gatewayPath)
	r[mixIntrospect] = rawRequest("POST", t.host, "/oauth2/introspect", []string{"Authorization: " + basicAuth(t.creds.basicID, t.creds.basicSecret),
		"Content-Type: application/x-www-form-urlencoded", "Accept: application/json"}, []byte("token="+url.QueryEscape(tok)))
	return r
}

func (m *soakMix) next() ([]byte, error) {
	if m.from != nil {
		if d := time.Until(m.due); d > 0 {
			time.Sleep(d)
		}
		// A pace, not a debt: time lost to a slow answer is not made up
		// beyond a second's worth.
		if floor := time.Now().Add(-time.Second); m.due.Before(floor) {
			m.due = floor
		}
		m.due = m.due.Add(time.Second / attackRate)
	}
	k := m.kinds[m.i%len(m.kinds)]
	m.i++
	m.last = k
	if r := m.jwt[k]; r != nil {
		return r, nil
	}
	return m.t.static[k], nil
}

// tokenEvery is how many token answers a worker sees before it presents
// the newest token.
const tokenEvery = 50

func (m *soakMix) observe(status int, body []byte) {
	k := m.last
	m.tally.total.Add(1)
	m.tally.perKind[k].Add(1)
	if status == http.StatusServiceUnavailable && bytes.Contains(body, []byte(`"temporarily_unavailable"`)) {
		m.tally.shed[k].Add(1)
		return
	}
	if !soakKinds[k].ok(status) {
		m.tally.unexpected[k].Add(1)
		m.tally.mu.Lock()
		if m.tally.firstBad[k] == "" {
			m.tally.firstBad[k] = fmt.Sprintf("%d: %s", status, snippet(body))
		}
		m.tally.mu.Unlock()
		return
	}
	if k == mixTokenCC && status == 200 {
		if m.seen++; m.seen%tokenEvery == 0 {
			if tok := accessToken(body); tok != "" {
				m.jwt = m.t.jwtRequests(tok)
			}
		}
	}
}

var accessTokenField = []byte(`"access_token":"`)

// accessToken finds the access token in a token answer without decoding it.
func accessToken(body []byte) string {
	i := bytes.Index(body, accessTokenField)
	if i < 0 {
		return ""
	}
	rest := body[i+len(accessTokenField):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}

// soakSample is one reading of the server.
type soakSample struct {
	Seconds    float64          `json:"seconds"`
	Requests   int64            `json:"requests"`
	RSS        int64            `json:"rss_bytes"`      // -1: unknown
	Goroutines int64            `json:"goroutines"`     // -1: unknown
	OpenFiles  int64            `json:"open_files"`     // -1: unknown
	DBBytes    int64            `json:"database_bytes"` // -1: unknown
	Rows       map[string]int64 `json:"rows"`
}

// soakVerdict is one figure's summary.
type soakVerdict struct {
	Metric  string  `json:"metric"`
	First   float64 `json:"first"`
	Last    float64 `json:"last"`
	Max     float64 `json:"max"`
	PerK    float64 `json:"growth_per_1000_requests"`        // over the whole run
	PerKEnd float64 `json:"growth_per_1000_requests_steady"` // over the window the verdict reads
	Verdict string  `json:"verdict"`
}

// soakKindRow is the mix's count of one kind.
type soakKindRow struct {
	Kind       string `json:"kind"`
	Requests   int64  `json:"requests"`
	Unexpected int64  `json:"unexpected"`
	FirstBad   string `json:"first_unexpected,omitempty"`
	// Shed are the answers 503 temporarily_unavailable: a problem only
	// past maxShed of the kind's requests.
	Shed int64 `json:"shed"`
}

// maxShed is the share of a kind's requests that may be answered 503
// temporarily_unavailable before the soak fails: a few under a stalling
// disk are the server keeping its bounds, many are not.
const maxShed = 0.01

// soakReport is what --soak measured.
type soakReport struct {
	Backend        string        `json:"backend"`
	Duration       float64       `json:"duration_seconds"`
	Retention      float64       `json:"retention_seconds"`
	PurgeInterval  float64       `json:"purge_interval_seconds"`
	SampleInterval float64       `json:"sample_seconds"`
	Requests       int64         `json:"requests"`
	RPS            float64       `json:"requests_per_sec"`
	CPUPer1k       *float64      `json:"server_cpu_seconds_per_1000,omitempty"`
	Transport      int64         `json:"transport_errors"`
	FirstErr       string        `json:"first_error,omitempty"`
	Kinds          []soakKindRow `json:"kinds"`
	Samples        []soakSample  `json:"samples"`
	Verdicts       []soakVerdict `json:"verdicts"`
}

// soak runs the soak on a fresh database and server.
func (r *runner) soak(ctx context.Context) error {
	o := r.o
	g, where, err := r.newGatehouse(ctx, "soak")
	if err != nil {
		return err
	}
	if !o.serverLogLevelGiven {
		// Every request logged for minutes fills the disk, not the
		// server's memory: the soak logs warnings only unless told.
		g.logLevel = "warn"
	}
	r.progress("soak: provisioning through the gatehouse CLI (%s)", where)
	c, err := provision(ctx, g, "bench")
	if err != nil {
		return err
	}
	up, err := startChild(ctx, roleUpstream, o.GOMAXPROCS)
	if err != nil {
		return err
	}
	r.onClose(up.stop)
	r.started(up.pid())
	routes, err := writeRoutes(r.tmp, up.addr)
	if err != nil {
		return err
	}
	c.gatewayPath, c.upstream = gatewayPath, "http://"+up.addr
	opsAddr, err := freeAddr()
	if err != nil {
		return err
	}
	ret := o.SoakRetention.String()
	srv, err := g.serve(ctx, "--routes", routes, "--ops-listen", opsAddr, "--audit-retention", ret, "--login-history-retention", ret)
	if err != nil {
		return err
	}
	r.onClose(srv.stop)
	r.started(srv.pid())
	interval := compose.PurgeInterval(config.Config{AuditRetention: o.SoakRetention, LoginHistoryRetention: o.SoakRetention})
	backend := "sqlite"
	if g.dbURL != "" {
		backend = "postgres"
	}
	r.rep.Setup = append(r.rep.Setup, fmt.Sprintf("soak server: gatehouse serve at %s (pid %d), %s, --log-level %s, --audit-retention and --login-history-retention %s (purge every %s), metrics at %s",
		srv.addr, srv.pid(), where, g.logLevel, ret, interval, opsAddr))

	t := &soakTarget{host: c.team + "." + benchDomain, creds: c, apiPath: o.APIPath}
	if t.firstToken, err = fetchToken(ctx, srv.addr, t.host, c.basicID, c.basicSecret); err != nil {
		return fmt.Errorf("soak: %w", err)
	}
	if t.loginForm, err = failedLogin(ctx, srv.addr, t.host); err != nil {
		return fmt.Errorf("soak: the sign-in form: %w", err)
	}
	get := func(path, auth string) []byte {
		return rawRequest("GET", t.host, path, []string{"Authorization: " + auth, "Accept: application/json"}, nil)
	}
	t.static = t.jwtRequests(t.firstToken)
	// Tokens with every scope of the client: the mix presents them to the
	// gateway too.
	t.static[mixTokenCC] = rawRequest("POST", t.host, "/oauth2/token", []string{"Authorization: " + basicAuth(c.basicID, c.basicSecret),
		"Content-Type: application/x-www-form-urlencoded", "Accept: application/json"},
		[]byte("grant_type=client_credentials&scope="+url.QueryEscape(clientScopes)))
	t.static[mixTokenCCAgain] = t.static[mixTokenCC]
	t.static[mixTokenMultipart] = multipartTokenRequest(t.host, c.postID, c.postSecret)
	t.static[mixAPIAppKey] = get(t.apiPath, "AppKey "+c.appKey)
	t.static[mixGatewayAppKey] = get(c.gatewayPath, "AppKey "+c.appKey)
	t.static[mixLoginFailure] = t.loginForm
	// A client no one registered: its failures block only itself (and the
	// attacker's address).
	t.static[mixClientAuthFailure] = tokenRequest(t.host, "0b7e3f4a-9c1d-4e2f-8a6b-5d4c3b2a1f00", "not-the-secret")

	db, err := openSoakDB(ctx, g)
	if err != nil {
		return fmt.Errorf("soak: open the database to count its rows: %w", err)
	}
	defer db.close()

	tally := &soakTally{}
	sampler := &soakSampler{pid: srv.pid(), opsAddr: opsAddr, db: db, tally: tally}
	start := time.Now()
	rep := &soakReport{Backend: backend, Duration: o.Soak.Seconds(), Retention: o.SoakRetention.Seconds(),
		PurgeInterval: interval.Seconds(), SampleInterval: o.SoakSample.Seconds()}
	rep.Samples = append(rep.Samples, sampler.sample(ctx, start))
	r.progress("soak: %d connections for %s, a sample every %s", o.Conns, o.Soak, o.SoakSample)

	sctx, stopSampling := context.WithCancel(ctx)
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tk := time.NewTicker(o.SoakSample)
		defer tk.Stop()
		for {
			select {
			case <-sctx.Done():
				return
			case <-tk.C:
				s := sampler.sample(sctx, start)
				rep.Samples = append(rep.Samples, s)
				if o.Verbose {
					r.progress("soak: %s", s.line())
				}
			}
		}
	}()
	pid := srv.pid()
	l := load{addr: srv.addr, conns: o.Conns, duration: o.Soak, ours: r.ourCPU,
		cpu: func() (time.Duration, bool) { return processCPU(pid) },
		sources: func(w, n int) (source, error) {
			if w == n-1 {
				return &soakMix{t: t, tally: tally, kinds: attackerMix, from: attackerAddr}, nil
			}
			return &soakMix{t: t, tally: tally, kinds: clientMix}, nil
		}}
	m, err := l.run(ctx)
	stopSampling()
	<-sampled
	if err != nil {
		return err
	}
	rep.Samples = append(rep.Samples, sampler.sample(ctx, start))

	rep.Requests, rep.RPS, rep.Transport, rep.FirstErr = tally.total.Load(), m.rps(), m.Transport, m.FirstErr
	if m.Elapsed > 0 {
		rep.RPS = float64(tally.total.Load()) / time.Since(start).Seconds()
	}
	if m.CPUKnown && m.Requests > 0 {
		v := m.CPU.Seconds() / (float64(m.Requests) / 1000)
		rep.CPUPer1k = &v
	}
	index := map[string]int{}
	for k, sk := range soakKinds {
		i, ok := index[sk.name]
		if !ok {
			i = len(rep.Kinds)
			index[sk.name] = i
			rep.Kinds = append(rep.Kinds, soakKindRow{Kind: sk.name})
		}
		rep.Kinds[i].Requests += tally.perKind[k].Load()
		rep.Kinds[i].Unexpected += tally.unexpected[k].Load()
		rep.Kinds[i].Shed += tally.shed[k].Load()
		if rep.Kinds[i].FirstBad == "" {
			rep.Kinds[i].FirstBad = tally.firstBad[k]
		}
	}
	rep.Verdicts = soakVerdicts(rep.Samples, o.SoakRetention+2*interval)
	r.rep.Soak = rep
	return nil
}

// failedLogin fetches the sign-in form and returns a POST of it with a
// wrong password: its CSRF token and cookie stay valid for a day.
func failedLogin(ctx context.Context, addr, host string) ([]byte, error) {
	f, err := newAuthFlow(addr, host, codeClient{})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+host+"/login", nil)
	if err != nil {
		return nil, err
	}
	resp, err := f.hc.Do(req)
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	m := csrfField.FindSubmatch(body)
	if resp.StatusCode != 200 || m == nil {
		return nil, fmt.Errorf("GET /login answered %d without a CSRF token: %s", resp.StatusCode, snippet(body))
	}
	var cookies []string
	for _, ck := range resp.Cookies() {
		cookies = append(cookies, ck.Name+"="+ck.Value)
	}
	form := url.Values{"csrf_token": {string(m[1])}, "email": {"nobody@bench.test"}, "password": {"not the password"}}
	return rawRequest("POST", host, "/login", []string{"Content-Type: application/x-www-form-urlencoded", "Sec-Fetch-Site: same-origin",
		"Cookie: " + strings.Join(cookies, "; ")}, []byte(form.Encode())), nil
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// soakDB reads the database's size and row counts beside the server.
type soakDB struct {
	sqlite *sql.DB // SQLite: a read-only handle on the file
	dir    string  // SQLite: the data directory
	pg     *pgx.Conn
}

func openSoakDB(ctx context.Context, g *gatehouse) (*soakDB, error) {
	if g.dbURL != "" {
		conn, err := pgx.Connect(ctx, g.dbURL)
		if err != nil {
			return nil, err
		}
		return &soakDB{pg: conn}, nil
	}
	path := filepath.Join(g.dataDir, "gatehouse.db")
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return &soakDB{sqlite: db, dir: g.dataDir}, nil
}

func (d *soakDB) close() {
	if d.pg != nil {
		d.pg.Close(context.Background())
	}
	if d.sqlite != nil {
		d.sqlite.Close()
	}
}

// size is the database's size in bytes: the SQLite file with its WAL and
// shared memory, or pg_database_size.
func (d *soakDB) size(ctx context.Context) int64 {
	if d.pg != nil {
		var n int64
		if err := d.pg.QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&n); err != nil {
			return -1
		}
		return n
	}
	var total int64
	for _, name := range []string{"gatehouse.db", "gatehouse.db-wal", "gatehouse.db-shm"} {
		if fi, err := os.Stat(filepath.Join(d.dir, name)); err == nil {
			total += fi.Size()
		}
	}
	return total
}

// rows counts the rows of each table the engine has (-1: no such table).
func (d *soakDB) rows(ctx context.Context) map[string]int64 {
	out := map[string]int64{}
	for _, table := range soakTables {
		var n int64
		var err error
		q := "SELECT COUNT(*) FROM " + table
		if d.pg != nil {
			err = d.pg.QueryRow(ctx, q).Scan(&n)
		} else {
			err = d.sqlite.QueryRowContext(ctx, q).Scan(&n)
		}
		if err != nil {
			continue // PostgreSQL has no change log table
		}
		out[table] = n
	}
	return out
}

// soakSampler reads one sample.
type soakSampler struct {
	pid     int
	opsAddr string
	db      *soakDB
	tally   *soakTally
}

func (s *soakSampler) sample(ctx context.Context, start time.Time) soakSample {
	out := soakSample{Seconds: time.Since(start).Seconds(), Requests: s.tally.total.Load(), RSS: -1, Goroutines: -1, OpenFiles: -1}
	if rss, _, ok := processMemory(s.pid); ok {
		out.RSS = rss
	}
	m := scrapeMetrics(ctx, s.opsAddr, "go_goroutines", "process_open_fds", "process_resident_memory_bytes")
	if v, ok := m["go_goroutines"]; ok {
		out.Goroutines = int64(v)
	}
	if v, ok := m["process_open_fds"]; ok {
		out.OpenFiles = int64(v)
	}
	if v, ok := m["process_resident_memory_bytes"]; ok && out.RSS < 0 {
		out.RSS = int64(v)
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	out.DBBytes = s.db.size(dctx)
	out.Rows = s.db.rows(dctx)
	return out
}

func (s soakSample) line() string {
	return fmt.Sprintf("%4.0fs %s requests, RSS %s, %d goroutines, %d open files, database %s, audit rows %d",
		s.Seconds, thousands(float64(s.Requests)), fmtBytes(s.RSS, s.RSS >= 0), s.Goroutines, s.OpenFiles,
		fmtBytes(s.DBBytes, s.DBBytes >= 0), s.Rows["audit_events"])
}

// scrapeMetrics reads the named gauges from the ops listener's /metrics
// (Prometheus text format: "name value" lines).
func scrapeMetrics(ctx context.Context, addr string, names ...string) map[string]float64 {
	out := map[string]float64{}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/metrics", nil)
	if err != nil {
		return out
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || !want[name] {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(value), 64); err == nil {
			out[name] = v
		}
	}
	return out
}

// Tolerances of the verdicts: over the window a verdict reads, a figure
// may move by the larger of an absolute amount and a share of its mean
// (a garbage collector's rhythm, a purge's sawtooth) and still count as
// flat or bounded.
var soakTolerance = map[string]struct {
	abs   float64
	share float64
}{
	"RSS":            {8e6, 0.10},
	"goroutines":     {10, 0.10},
	"open files":     {5, 0.10},
	"database bytes": {4e6, 0.25},
	"rows":           {1000, 0.25},
}

// soakVerdicts sums up the samples. Memory, goroutines and open files are
// judged on the second half of the run (the first fills caches and
// pools); rows and the database's size on the samples after settle, the
// retention plus two purge intervals, when the purge must be keeping up.
func soakVerdicts(samples []soakSample, settle time.Duration) []soakVerdict {
	if len(samples) < 2 {
		return nil
	}
	end := samples[len(samples)-1].Seconds
	var out []soakVerdict
	figure := func(metric, tol string, value func(soakSample) int64, from float64, kind string) {
		var xs, ys []float64
		var all []float64
		var reqs []float64
		for _, s := range samples {
			v := value(s)
			if v < 0 {
				continue
			}
			all = append(all, float64(v))
			reqs = append(reqs, float64(s.Requests))
			if s.Seconds >= from {
				xs, ys = append(xs, float64(s.Requests)), append(ys, float64(v))
			}
		}
		if len(all) < 2 {
			return
		}
		v := soakVerdict{Metric: metric, First: all[0], Last: all[len(all)-1], Max: all[0]}
		for _, y := range all {
			v.Max = max(v.Max, y)
		}
		if d := reqs[len(reqs)-1] - reqs[0]; d > 0 {
			v.PerK = (v.Last - v.First) / (d / 1000)
		}
		switch {
		case len(xs) < 3:
			v.Verdict = fmt.Sprintf("n/a: needs 3 samples after %s; run longer", time.Duration(from*float64(time.Second)).Round(time.Second))
		default:
			slope, mean := fit(xs, ys)
			v.PerKEnd = slope * 1000
			grown := slope * (xs[len(xs)-1] - xs[0])
			t := soakTolerance[tol]
			if grown <= max(t.abs, t.share*mean) {
				v.Verdict = kind
			} else {
				v.Verdict = fmt.Sprintf("grows: +%.0f over the window", grown)
			}
		}
		out = append(out, v)
	}
	half := end / 2
	figure("RSS", "RSS", func(s soakSample) int64 { return s.RSS }, half, "flat")
	figure("goroutines", "goroutines", func(s soakSample) int64 { return s.Goroutines }, half, "flat")
	figure("open files", "open files", func(s soakSample) int64 { return s.OpenFiles }, half, "flat")
	from := settle.Seconds()
	figure("database bytes", "database bytes", func(s soakSample) int64 { return s.DBBytes }, from, "bounded")
	for _, table := range soakTables {
		if _, ok := samples[len(samples)-1].Rows[table]; !ok {
			continue
		}
		figure("rows "+table, "rows", func(s soakSample) int64 {
			n, ok := s.Rows[table]
			if !ok {
				return -1
			}
			return n
		}, from, "bounded")
	}
	return out
}

// fit is the least-squares slope of ys over xs, and the mean of ys.
func fit(xs, ys []float64) (slope, mean float64) {
	n := float64(len(xs))
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx += xs[i]
		sy += ys[i]
		sxx += xs[i] * xs[i]
		sxy += xs[i] * ys[i]
	}
	mean = sy / n
	d := n*sxx - sx*sx
	if d == 0 {
		return 0, mean
	}
	return (n*sxy - sx*sy) / d, mean
}

// problems lists what makes the soak fail: answers the mix did not
// expect, transport errors, and a figure that grows.
func (s *soakReport) problems() []string {
	var out []string
	for _, k := range s.Kinds {
		if k.Unexpected > 0 {
			out = append(out, fmt.Sprintf("soak: %d unexpected answers to %s (first: %s)", k.Unexpected, k.Kind, k.FirstBad))
		}
		if float64(k.Shed) > maxShed*float64(k.Requests) {
			out = append(out, fmt.Sprintf("soak: %d of %d requests of %s answered 503 temporarily_unavailable, more than %.0f %%",
				k.Shed, k.Requests, k.Kind, 100*maxShed))
		}
	}
	if s.Transport > 0 {
		out = append(out, fmt.Sprintf("soak: %d transport errors (first: %s)", s.Transport, s.FirstErr))
	}
	for _, v := range s.Verdicts {
		if strings.HasPrefix(v.Verdict, "grows") {
			out = append(out, fmt.Sprintf("soak: %s %s", v.Metric, v.Verdict))
		}
	}
	return out
}

// write prints the soak's section of the report.
func (s *soakReport) write(w io.Writer) {
	cpu := "n/a"
	if s.CPUPer1k != nil {
		cpu = fmt.Sprintf("%.3f", *s.CPUPer1k)
	}
	fmt.Fprintf(w, "\nsoak: %s on %s, retention %s (purge every %s): %s requests, %s req/s, server CPU s/1k %s, %d transport errors\n",
		fmtSeconds(s.Duration), s.Backend, fmtSeconds(s.Retention), fmtSeconds(s.PurgeInterval), thousands(float64(s.Requests)),
		thousands(s.RPS), cpu, s.Transport)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\trequests\tunexpected\t503 shed\t")
	for _, k := range s.Kinds {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t\n", k.Kind, thousands(float64(k.Requests)), k.Unexpected, k.Shed)
	}
	tw.Flush()

	fmt.Fprintf(w, "\nsamples, every %s\n", fmtSeconds(s.SampleInterval))
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "time\trequests\tRSS\tgoroutines\topen files\tdatabase\t"
	var tables []string
	if len(s.Samples) > 0 {
		for _, t := range soakTables {
			if _, ok := s.Samples[len(s.Samples)-1].Rows[t]; ok {
				tables = append(tables, t)
				head += t + "\t"
			}
		}
	}
	fmt.Fprintln(tw, head)
	for _, x := range s.Samples {
		line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t", fmtSeconds(float64(int(x.Seconds+0.5))), thousands(float64(x.Requests)),
			fmtBytes(x.RSS, x.RSS >= 0), fmtCount(x.Goroutines), fmtCount(x.OpenFiles), fmtBytes(x.DBBytes, x.DBBytes >= 0))
		for _, t := range tables {
			n, ok := x.Rows[t]
			if !ok {
				n = -1
			}
			line += fmtCount(n) + "\t"
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()

	fmt.Fprintf(w, "\nverdict (memory, goroutines, open files: second half of the run; rows and size: after retention + 2 purge intervals)\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tfirst\tlast\tmax\tper 1k requests\tper 1k, steady\tverdict\t")
	for _, v := range s.Verdicts {
		f := func(x float64) string { return fmtFigure(v.Metric, x) }
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", v.Metric, f(v.First), f(v.Last), f(v.Max), fmtGrowth(v.Metric, v.PerK),
			fmtGrowth(v.Metric, v.PerKEnd), v.Verdict)
	}
	tw.Flush()
}

func fmtCount(n int64) string {
	if n < 0 {
		return "n/a"
	}
	return thousands(float64(n))
}

// isBytes tells the figures counted in bytes.
func isBytes(metric string) bool { return metric == "RSS" || metric == "database bytes" }

func fmtFigure(metric string, x float64) string {
	if isBytes(metric) {
		return fmt.Sprintf("%.1f MB", x/1e6)
	}
	return thousands(x)
}

func fmtGrowth(metric string, x float64) string {
	if isBytes(metric) {
		return fmt.Sprintf("%+.0f B", x)
	}
	return fmt.Sprintf("%+.2f", x)
}
