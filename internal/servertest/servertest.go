// Package servertest starts a real Gatehouse server for tests: built by
// server.New's path (compose, then server.NewWith) on a fresh SQLite
// database in the test's temporary directory or, by option, on a fresh
// PostgreSQL database (internal/pgtest); run with Server.Run on a loopback
// listener so that its background work (change listener, audit shipper,
// last-use writer) goes on as in production; on a clock the test sets.
// An HTTP client reaches any <team>.gatehouse.test host of it, and helpers
// make the teams, users, groups, apps, permissions, clients, static keys
// and tokens a test needs, as the CLI would: through the domain services
// of another process on the same database.
package servertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/compose"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/masterkey"
	"github.com/gatehouse/gatehouse/internal/pgtest"
	"github.com/gatehouse/gatehouse/internal/poll"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/statickey"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/testclock"
)

// Domain is the domain the test servers serve their teams on.
const Domain = "gatehouse.test"

// Password is the password of the users the helpers make.
const Password = "correct horse battery staple"

// CheapPasswords keep the tests' own users fast to make and to check; the
// unknown user's dummy check still costs the real parameters.
var CheapPasswords = secret.PasswordParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// MasterKey is the master key of every test server.
func MasterKey(tb testing.TB) masterkey.Key {
	tb.Helper()
	k, err := masterkey.New(bytes.Repeat([]byte{7}, masterkey.Size))
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// Config is the configuration of a test server: the defaults, on Domain
// over plain HTTP, with a shutdown deadline that a slow machine meets,
// then tweak.
func Config(tweak ...func(*config.Config)) config.Config {
	cfg := config.Default()
	cfg.Domain = Domain
	cfg.Scheme = "http"
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.LameDuck = 0
	for _, f := range tweak {
		f(&cfg)
	}
	return cfg
}

// URL is the address of path on team's host.
func URL(team, path string) string { return "http://" + team + "." + Domain + path }

// Clock is a clock for the server's Now that the test moves
// (testclock.Clock: the zero value is the wall clock).
type Clock = testclock.Clock

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return testclock.New(t) }

// An Option changes how Start builds the server.
type Option func(*options)

type options struct {
	tweak       []func(*config.Config)
	teams       []string
	postgres    bool
	pgURL       string
	dbPath      string
	wrap        func(store.Store) store.Store
	clock       *Clock
	now         func() time.Time
	log         *slog.Logger
	services    []func(*compose.Services)
	handlerOnly bool
	localhost   bool
	domainPort  bool
}

// WithLocalhostDomain serves the teams on localhost:<the listener's port>,
// as --dev does: http://<team>.localhost:<port> reaches the server from any
// client that dials .localhost on loopback (adminclient, browsers, curl),
// with no other set-up. Not for HandlerOnly servers.
func WithLocalhostDomain() Option { return func(o *options) { o.localhost = true } }

// WithConfig changes the configuration (see Config) before the server is
// built.
func WithConfig(f func(*config.Config)) Option {
	return func(o *options) { o.tweak = append(o.tweak, f) }
}

// WithTeams makes these teams instead of acme and beta.
func WithTeams(names ...string) Option { return func(o *options) { o.teams = names } }

// WithPostgres puts the server on a fresh PostgreSQL database of its own
// (pgtest: the test is skipped, or fails under CI=true, when PostgreSQL
// does not answer) instead of SQLite.
func WithPostgres() Option { return func(o *options) { o.postgres = true } }

// WithPostgresURL puts the server on the PostgreSQL database at url
// (which another server of the test may share) instead of a fresh one.
func WithPostgresURL(url string) Option {
	return func(o *options) { o.postgres, o.pgURL = true, url }
}

// WithSQLiteFile puts the server's SQLite database at path (which the
// test may open again, as another process would) instead of a file of its
// own in t.TempDir().
func WithSQLiteFile(path string) Option { return func(o *options) { o.dbPath = path } }

// WithStore has the server use wrap's store over the database (to count
// or fail its calls); the helpers use the database itself.
func WithStore(wrap func(store.Store) store.Store) Option {
	return func(o *options) { o.wrap = wrap }
}

// WithClock runs the server on c instead of a Clock of its own.
func WithClock(c *Clock) Option { return func(o *options) { o.clock = c } }

// WithWallClock runs the server on time.Now itself; Server.Clock is then
// nil.
func WithWallClock() Option { return func(o *options) { o.now = time.Now } }

// WithLog gives the server a logger (default: discard).
func WithLog(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithServices changes the server's domain services after compose builds
// them and before the server is built on them and started (for example a
// shorter flush interval).
func WithServices(f func(*compose.Services)) Option {
	return func(o *options) { o.services = append(o.services, f) }
}

// WithDomainPort serves the teams at <team>.gatehouse.test:<port>, where
// port is the listener's: their URLs (the issuers) then name the port, so
// that a program that dials a team's host and port itself, such as a
// relying party written in another language with the test domain mapped
// to the loopback address, reaches the server. Not with HandlerOnly.
func WithDomainPort() Option { return func(o *options) { o.domainPort = true } }

// HandlerOnly serves the server's handler through httptest without
// Server.Run: none of its background components (change listener, audit
// shipper, key rotation, last-use writer) runs; audit events stay in the
// server's spool.
func HandlerOnly() Option { return func(o *options) { o.handlerOnly = true } }

// Server is a running test server.
type Server struct {
	*server.Server
	// Store is the store the server uses (WithStore's wrapper, if any).
	Store store.Store
	// DB is the database itself; the helpers write through it.
	DB store.Store
	// DBPath is the SQLite file ("" on PostgreSQL); DBURL the PostgreSQL
	// database ("" on SQLite).
	DBPath, DBURL string
	Key           masterkey.Key
	Config        config.Config
	// Clock is the server's clock (nil with WithWallClock).
	Clock *Clock
	// Addr is the listener's address; HTTP reaches any host there.
	Addr string
	HTTP *http.Client

	// The services of another process (the CLI) on the same database,
	// which the helpers use: their caches are not the server's.
	Admin      *admin.Service
	Clients    *client.Service
	StaticKeys *statickey.Service

	stop func() error // ends Run and returns its error, once
}

// Stop shuts the server down as SIGTERM does (lame duck, drain, background
// stop within the shutdown timeout) and returns Run's error; the cleanup
// then has nothing left to do. Not for HandlerOnly servers.
func (s *Server) Stop() error {
	if s.stop == nil {
		return errors.New("servertest: Stop of a HandlerOnly server")
	}
	return s.stop()
}

// Start builds and starts a server with teams acme and beta, stopped when
// tb ends.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	o := options{teams: []string{"acme", "beta"}}
	for _, f := range opts {
		f(&o)
	}
	ctx := context.Background()
	s := &Server{Key: MasterKey(tb), Config: Config(o.tweak...)}
	var ln net.Listener
	if (o.localhost || o.domainPort) && !o.handlerOnly {
		var err error
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			tb.Fatal(err)
		}
		domain := Domain
		if o.localhost {
			domain = "localhost"
		}
		s.Config.Domain = net.JoinHostPort(domain, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	}

	if o.postgres {
		s.DBURL = o.pgURL
		if s.DBURL == "" {
			s.DBURL = pgtest.URL(tb)
		}
		s.DB = Open(tb, s.DBURL, "")
	} else {
		s.DBPath = o.dbPath
		if s.DBPath == "" {
			s.DBPath = filepath.Join(tb.TempDir(), "gatehouse.db")
		}
		s.DB = Open(tb, "", s.DBPath)
	}
	s.Store = s.DB
	if o.wrap != nil {
		s.Store = o.wrap(s.DB)
	}

	now := o.now
	if now == nil {
		s.Clock = o.clock
		if s.Clock == nil {
			s.Clock = &Clock{}
		}
		now = s.Clock.Now
	}
	cli, err := compose.New(compose.Options{Store: s.DB, MasterKey: s.Key, Now: now})
	if err != nil {
		tb.Fatal(err)
	}
	s.Admin = &admin.Service{Store: s.DB, Password: CheapPasswords}
	s.Clients, s.StaticKeys = cli.Clients, cli.StaticKeys
	for _, name := range o.teams {
		s.Team(tb, name)
	}

	if s.Config.AuditSpoolDir == "" {
		s.Config.AuditSpoolDir = tb.TempDir() // a spool of its own: one process holds a spool
	}
	// The audit trail waits for a slow fsync on a busy test machine
	// rather than answer 503 (internal/auditlog tests the 100 ms bound).
	svc, err := compose.New(compose.Options{Config: s.Config, Store: s.Store, MasterKey: s.Key, Log: o.log, Now: now,
		AuditSpool: true, AuditWait: 10 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	for _, f := range o.services {
		f(svc)
	}
	if s.Server, err = server.NewWith(svc); err != nil {
		tb.Fatal(err)
	}

	if o.handlerOnly {
		ts := httptest.NewServer(s.Handler())
		tb.Cleanup(ts.Close)
		s.Addr = ts.Listener.Addr().String()
	} else {
		if ln == nil {
			if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
				tb.Fatal(err)
			}
		}
		s.Addr = ln.Addr().String()
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- s.Run(runCtx, ln, nil) }()
		s.stop = sync.OnceValue(func() error { cancel(); return <-done })
		tb.Cleanup(func() {
			if err := s.stop(); err != nil {
				tb.Errorf("Run: %v", err)
			}
		})
	}
	s.HTTP = s.ClientFrom(tb, nil)
	return s
}

// Open opens the database at databaseURL or, if that is empty, the
// SQLite file at path, closed when tb ends: another process's handle.
func Open(tb testing.TB, databaseURL, path string) store.Store {
	tb.Helper()
	st, err := sqlstore.Open(context.Background(), databaseURL, path, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// Dialer returns an HTTP client that reaches any host at addr (Go's
// resolver does not resolve the test domain), from the local address from
// (nil: any).
func Dialer(tb testing.TB, addr string, from net.IP) *http.Client {
	d := &net.Dialer{}
	if from != nil {
		d.LocalAddr = &net.TCPAddr{IP: from}
	}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}}
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

// ClientFrom returns an HTTP client that reaches any of the server's
// hosts from the local address from (nil: any).
func (s *Server) ClientFrom(tb testing.TB, from net.IP) *http.Client {
	return Dialer(tb, s.Addr, from)
}

// TeamURL is the address of path on team's host as the server names it
// (with WithDomainPort, the host carries the port).
func (s *Server) TeamURL(team, path string) string {
	return s.Config.Scheme + "://" + team + "." + s.Config.Domain + path
}

// Now is the server's time.
func (s *Server) Now() time.Time {
	if s.Clock == nil {
		return time.Now()
	}
	return s.Clock.Now()
}

// Team makes a team.
func (s *Server) Team(tb testing.TB, name string) store.Team {
	tb.Helper()
	tm, err := s.Admin.CreateTeam(context.Background(), kernel.CLI, name)
	if err != nil {
		tb.Fatal(err)
	}
	return tm
}

// User makes a user of team; an empty Password is Password.
func (s *Server) User(tb testing.TB, team string, u admin.NewUser) store.User {
	tb.Helper()
	if u.Password == "" {
		u.Password = Password
	}
	out, err := s.Admin.CreateUser(context.Background(), kernel.CLI, team, u)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// Group makes a group of team with the users of these emails.
func (s *Server) Group(tb testing.TB, team, name string, emails ...string) store.Group {
	tb.Helper()
	ctx := context.Background()
	g, err := s.Admin.CreateGroup(ctx, kernel.CLI, team, name)
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range emails {
		if err := s.Admin.AddMember(ctx, kernel.CLI, team, name, e); err != nil {
			tb.Fatal(err)
		}
	}
	return g
}

// App makes an application of team.
func (s *Server) App(tb testing.TB, team, name string) store.Application {
	tb.Helper()
	a, err := s.Admin.CreateApp(context.Background(), kernel.CLI, team, name)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

// Grant gives principal the permission to do action on resource in team.
func (s *Server) Grant(tb testing.TB, team, principal, action, resource string) store.Permission {
	tb.Helper()
	p, err := s.Admin.Grant(context.Background(), kernel.CLI,
		store.Permission{Team: team, Principal: principal, Action: action, Resource: resource})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// Client registers a client of team and returns it with its secret. A
// zero Name is "test", no GrantTypes is client_credentials, and no
// AuthMethod is client_secret_basic.
func (s *Server) Client(tb testing.TB, team string, in client.NewClient) (store.Client, string) {
	tb.Helper()
	if in.Name == "" {
		in.Name = "test"
	}
	if len(in.GrantTypes) == 0 {
		in.GrantTypes = []string{client.GrantClientCredentials}
	}
	if in.AuthMethod == "" {
		in.AuthMethod = client.AuthSecretBasic
	}
	c, sec, err := s.Clients.Create(context.Background(), kernel.CLI, team, in)
	if err != nil {
		tb.Fatal(err)
	}
	return c, sec.Reveal()
}

// StaticKey makes a static key of team for owner (a user's email or an
// application's name, by kind) and returns it with the key itself.
func (s *Server) StaticKey(tb testing.TB, team, kind, owner string) (statickey.Key, string) {
	tb.Helper()
	k, raw, err := s.StaticKeys.Create(context.Background(), kernel.CLI, team, statickey.NewKey{Kind: kind, Owner: owner})
	if err != nil {
		tb.Fatal(err)
	}
	return k, raw.Reveal()
}

// Token gets an access token for the client id with secret at team,
// through the real /oauth2/token (client_credentials, HTTP Basic).
func (s *Server) Token(tb testing.TB, team, id, secret string, scopes ...string) string {
	tb.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	if len(scopes) > 0 {
		form.Set("scope", strings.Join(scopes, " "))
	}
	req, err := http.NewRequest("POST", URL(team, "/oauth2/token"), strings.NewReader(form.Encode()))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := s.HTTP.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(raw, &body); err != nil || resp.StatusCode != http.StatusOK || body.AccessToken == "" {
		tb.Fatalf("token at %s: %d %s", team, resp.StatusCode, raw)
	}
	return body.AccessToken
}

// syncMarkers counts the marker teams SyncChanges makes.
var syncMarkers atomic.Int64

// SyncChanges waits until every change written to the database before it
// was called has reached the server's caches (the server must run: not
// HandlerOnly). It writes a marker, a new team that no other team is
// affected by, and waits for the server's change hub to deliver it: the
// store delivers changes in the order they were made.
func (s *Server) SyncChanges(tb testing.TB) {
	tb.Helper()
	name := "sync-marker-" + strconv.FormatInt(syncMarkers.Add(1), 10)
	var heard atomic.Bool
	unsub := s.Hub().Subscribe(func(c store.Change) {
		if c.Team == name || c.Team == "" && c.Kind == "" { // a flush of everything covers it too
			heard.Store(true)
		}
	})
	defer unsub()
	s.Team(tb, name)
	// A bound for a loaded machine, not a figure: delivery takes
	// milliseconds, but a listener that must reconnect to a PostgreSQL
	// slow to accept connections has once needed more than 10 s in CI.
	poll.Must(tb, 30*time.Second, "the change hub to deliver the changes", heard.Load)
}
