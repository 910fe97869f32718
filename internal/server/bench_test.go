package server_test

// Issuance performance (BENCHMARKS.md): the whole client-credentials token
// handler, fed request bytes and writing response bytes, against the raw
// ES384 signature that bounds it, in one run:
//
//	go test -bench . -run '^$' ./internal/server/
//
// and TestIssuanceWarmDoesNoStoreCalls, which shows that warm issuance
// neither reads nor writes the store on the request path.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/poll"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/spool"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/token"
)

// benchScopes are the scopes every benchmark request asks for, as in the
// Celonis guide's curl.
const benchScopes = "audit.log:read team.user-group-info:read"

// benchEnv is a server with team acme and two clients, and the bytes of a
// token request for each: urlencoded with HTTP Basic, and the Celonis guide's
// multipart form with the secret in the body.
type benchEnv struct {
	store     *benchCountingStore
	spool     func() spool.Stats // the audit spool's counts
	handler   http.Handler
	urlenc    []byte       // client_secret_basic, application/x-www-form-urlencoded
	multipart []byte       // client_secret_post, multipart/form-data
	issued    atomic.Int64 // tokens issued, for settle
}

// newBenchEnv builds the server. With run, the server also runs (on a
// loopback listener nobody calls) so that its background work, the audit
// batcher above all, goes on as in production; the run ends, and the
// batched events are written, when tb ends.
func newBenchEnv(tb testing.TB, run bool, log *slog.Logger) *benchEnv {
	tb.Helper()
	var cs *benchCountingStore
	opts := []servertest.Option{servertest.WithTeams("acme"), servertest.WithWallClock(), servertest.WithLog(log),
		servertest.WithStore(func(db store.Store) store.Store {
			cs = &benchCountingStore{Store: db, real: db, calls: map[string]int{}}
			return cs
		})}
	if !run {
		opts = append(opts, servertest.HandlerOnly())
	}
	h := servertest.Start(tb, opts...)
	newClient := func(method string) (string, string) {
		c, sec := h.Client(tb, "acme", client.NewClient{Name: "bench " + method, AuthMethod: method,
			Scopes: []string{"audit.log:read", "team.user-group-info:read", "user-provisioning.scim"}})
		return c.ID, sec
	}
	e := &benchEnv{store: cs, handler: h.Handler(), spool: h.Services().Audit.SpoolStats}

	id, sec := newClient(client.AuthSecretBasic)
	form := "grant_type=client_credentials&scope=" + url.QueryEscape(benchScopes)
	e.urlenc = benchRawRequest(map[string]string{
		"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(sec))),
		"Content-Type":  "application/x-www-form-urlencoded",
	}, []byte(form))

	id, sec = newClient(client.AuthSecretPost)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, kv := range [][2]string{{"client_id", id}, {"client_secret", sec}, {"grant_type", "client_credentials"}, {"scope", benchScopes}} {
		if err := mw.WriteField(kv[0], kv[1]); err != nil {
			tb.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		tb.Fatal(err)
	}
	e.multipart = benchRawRequest(map[string]string{"Content-Type": mw.FormDataContentType()}, body.Bytes())

	return e
}

// benchRawRequest is a token request to acme as a client sends it on the wire.
func benchRawRequest(header map[string]string, body []byte) []byte {
	var b bytes.Buffer
	b.WriteString("POST /oauth2/token HTTP/1.1\r\nHost: acme.gatehouse.test\r\nUser-Agent: gatehouse-bench/1\r\nAccept: application/json\r\n")
	for k, v := range header {
		b.WriteString(k + ": " + v + "\r\n")
	}
	b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n")
	b.Write(body)
	return b.Bytes()
}

// benchConn is one client connection's worth of reusable state: the
// buffered reader a server keeps per connection and the response buffer.
type benchConn struct {
	h  http.Handler
	rd bytes.Reader
	br *bufio.Reader
	w  benchResponseWriter
}

func newBenchConn(h http.Handler) *benchConn {
	return &benchConn{h: h, br: bufio.NewReader(nil), w: benchResponseWriter{header: http.Header{}}}
}

// roundTrip parses raw as a server does, serves it, and renders the
// response bytes; it returns the status code.
func (c *benchConn) roundTrip(raw []byte) (int, error) {
	c.rd.Reset(raw)
	c.br.Reset(&c.rd)
	req, err := http.ReadRequest(c.br)
	if err != nil {
		return 0, err
	}
	req.RemoteAddr = "192.0.2.10:40000"
	c.w.reset()
	c.h.ServeHTTP(&c.w, req)
	c.w.finish()
	return c.w.code, nil
}

// benchResponseWriter is a minimal http.ResponseWriter that renders the response as
// HTTP/1.1 bytes (status line, headers, Content-Length, body) into a buffer
// it reuses, as a server connection renders it into its bufio.Writer.
type benchResponseWriter struct {
	header http.Header
	code   int
	body   []byte
	out    []byte
}

func (w *benchResponseWriter) Header() http.Header { return w.header }

func (w *benchResponseWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *benchResponseWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	w.body = append(w.body, b...)
	return len(b), nil
}

func (w *benchResponseWriter) reset() {
	clear(w.header)
	w.code = 0
	w.body = w.body[:0]
	w.out = w.out[:0]
}

func (w *benchResponseWriter) finish() {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	w.out = append(w.out, "HTTP/1.1 "...)
	w.out = strconv.AppendInt(w.out, int64(w.code), 10)
	w.out = append(w.out, ' ')
	w.out = append(w.out, http.StatusText(w.code)...)
	w.out = append(w.out, "\r\n"...)
	for k, vs := range w.header {
		for _, v := range vs {
			w.out = append(w.out, k...)
			w.out = append(w.out, ": "...)
			w.out = append(w.out, v...)
			w.out = append(w.out, "\r\n"...)
		}
	}
	w.out = append(w.out, "Content-Length: "...)
	w.out = strconv.AppendInt(w.out, int64(len(w.body)), 10)
	w.out = append(w.out, "\r\n\r\n"...)
	w.out = append(w.out, w.body...)
}

// checkTokenResponse fails unless the last response of c is a 200 with a
// Bearer access token in compact JWS form and the requested scopes.
func checkTokenResponse(tb testing.TB, c *benchConn) {
	tb.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(c.w.out)), nil)
	if err != nil {
		tb.Fatalf("response bytes do not parse: %v\n%s", err, c.w.out)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		Scope       string `json:"scope"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		tb.Fatalf("response body: %v\n%s", err, c.w.out)
	}
	if resp.StatusCode != http.StatusOK || body.TokenType != "Bearer" || body.Scope != benchScopes ||
		strings.Count(body.AccessToken, ".") != 2 || resp.Header.Get("Cache-Control") != "no-store" {
		tb.Fatalf("not a token response:\n%s", c.w.out)
	}
}

// warm serves raw once, checks the answer, and returns a connection for
// the timed loop.
func (e *benchEnv) warm(tb testing.TB, raw []byte) *benchConn {
	tb.Helper()
	c := newBenchConn(e.handler)
	if _, err := c.roundTrip(raw); err != nil {
		tb.Fatal(err)
	}
	checkTokenResponse(tb, c)
	e.issued.Add(1)
	return c
}

// benchSigningInput is the signing input of an access token like the
// handler's: the base64url header and claims of RFC 9068, joined by a dot.
func benchSigningInput() []byte {
	const id = "6f1c2f1e-2b5e-4d8f-9a51-6b1f3c2d4e5f"
	now := time.Now().Truncate(time.Second)
	c := token.Claims{
		Issuer: "http://acme.gatehouse.test", Subject: id, Audience: []string{id, "acme.gatehouse.test"},
		ClientID: id, AuthorizedParty: id, Scopes: strings.Fields(benchScopes),
		IssuedAt: now, NotBefore: now, Expiry: now.Add(900 * time.Second), JTI: "0b7c0e8e-8d1f-4b8e-9d0a-2f4c8f5e6a7b",
	}
	enc := base64.RawURLEncoding
	in := enc.AppendEncode(nil, []byte(`{"alg":"ES384","kid":"`+id+`","typ":"at+jwt"}`))
	in = append(in, '.')
	return enc.AppendEncode(in, c.AppendJSON(nil, false))
}

func benchKey(b *testing.B) *ecdsa.PrivateKey {
	b.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	return priv
}

// benchMeter measures one timed run of a benchmark. Besides ns/op it reports
// tokens/s (wall clock) and cpu-ns/token: the CPU time of the whole
// process per token, user and system, which counts the work a request
// leaves to other goroutines (audit batches, garbage collection) and not
// the other programs of a shared machine. On a busy machine the ratio of
// cpu-ns/token is the steadier measure of what issuance costs beside the
// signature; where the process cannot read its CPU time the metric is left
// out.
type benchMeter struct {
	cpu  time.Duration
	ok   bool
	wait func() // waits for the work the run left behind; may be nil
	// spool counts the audit spool's fsyncs, for tokens/fsync (how many
	// issuance events one fsync made durable); may be nil.
	spool func() spool.Stats
	s0    spool.Stats
}

// meter starts a benchMeter that waits for the audit events to be
// written and reports tokens per audit-spool fsync.
func (e *benchEnv) meter(b *testing.B) benchMeter {
	m := startBenchMeter(func() { e.settle(b) })
	m.spool, m.s0 = e.spool, e.spool()
	return m
}

func startBenchMeter(wait func()) benchMeter {
	runtime.GC() // the previous run's garbage is not this run's cost
	cpu, ok := benchProcessCPU()
	return benchMeter{cpu: cpu, ok: ok, wait: wait}
}

func (m benchMeter) report(b *testing.B) {
	b.StopTimer()
	if m.wait != nil {
		m.wait()
	}
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)/s, "tokens/s")
	}
	if cpu, ok := benchProcessCPU(); ok && m.ok && b.N > 0 {
		b.ReportMetric(float64(cpu-m.cpu)/float64(b.N), "cpu-ns/token")
	}
	if m.spool != nil {
		if s := m.spool(); s.Writes > m.s0.Writes {
			b.ReportMetric(float64(s.Records-m.s0.Records)/float64(s.Writes-m.s0.Writes), "tokens/fsync")
		}
	}
}

// settle waits until the batcher has written the audit event of every
// token issued so far (issued counts them), so that a run's CPU time
// includes writing them.
func (e *benchEnv) settle(tb testing.TB) {
	if _, ok := poll.Until(10*time.Second, func() bool { return e.store.audited() >= int(e.issued.Load()) }); !ok {
		tb.Fatalf("%d of %d audit events written after 10 s", e.store.audited(), e.issued.Load())
	}
}

// BenchmarkRawES384Sign is the ceiling of issuance: SHA-384 of a token's
// signing input and a P-384 signature, nothing else.
func BenchmarkRawES384Sign(b *testing.B) {
	priv, in := benchKey(b), benchSigningInput()
	b.ReportAllocs()
	m := startBenchMeter(nil)
	for b.Loop() {
		h := sha512.Sum384(in)
		if _, err := ecdsa.SignASN1(rand.Reader, priv, h[:]); err != nil {
			b.Fatal(err)
		}
	}
	m.report(b)
}

// BenchmarkRawES384SignParallel is the ceiling from every CPU.
func BenchmarkRawES384SignParallel(b *testing.B) {
	priv, in := benchKey(b), benchSigningInput()
	b.ReportAllocs()
	m := startBenchMeter(nil)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h := sha512.Sum384(in)
			if _, err := ecdsa.SignASN1(rand.Reader, priv, h[:]); err != nil {
				b.Error(err)
				return
			}
		}
	})
	m.report(b)
}

// BenchmarkTokenIssuanceHandler is warm client-credentials issuance through
// the whole server handler (middleware, team resolution, the token
// endpoint): request bytes in, response bytes out. The server runs, so the
// audit events of issuance are written in batches meanwhile, as in
// production; cpu-ns/token includes writing them.
func BenchmarkTokenIssuanceHandler(b *testing.B) {
	e := newBenchEnv(b, true, nil)
	for _, tc := range []struct {
		name string
		raw  []byte
	}{{"urlencoded", e.urlenc}, {"multipart", e.multipart}} {
		b.Run(tc.name, func(b *testing.B) {
			c := e.warm(b, tc.raw)
			b.ReportAllocs()
			m := e.meter(b)
			for b.Loop() {
				code, err := c.roundTrip(tc.raw)
				if err != nil || code != http.StatusOK {
					b.Fatalf("status %d, err %v:\n%s", code, err, c.w.out)
				}
			}
			e.issued.Add(int64(b.N))
			m.report(b)
		})
	}
	// The same with httptest.ResponseRecorder instead of benchResponseWriter, to
	// show the writer is not what is measured.
	b.Run("urlencoded-recorder", func(b *testing.B) {
		e.warm(b, e.urlenc)
		var rd bytes.Reader
		br := bufio.NewReader(nil)
		b.ReportAllocs()
		m := e.meter(b)
		for b.Loop() {
			rd.Reset(e.urlenc)
			br.Reset(&rd)
			req, err := http.ReadRequest(br)
			if err != nil {
				b.Fatal(err)
			}
			req.RemoteAddr = "192.0.2.10:40000"
			rec := httptest.NewRecorder()
			e.handler.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
		e.issued.Add(int64(b.N))
		m.report(b)
	})
}

// BenchmarkTokenIssuanceHandlerParallel is BenchmarkTokenIssuanceHandler
// from every CPU, each goroutine a connection of its own; the 32conns case
// has 32 connections at once, as the load tool's default, so that the
// audit spool's fsyncs are shared as under real load.
func BenchmarkTokenIssuanceHandlerParallel(b *testing.B) {
	e := newBenchEnv(b, true, nil)
	for _, tc := range []struct {
		name  string
		raw   []byte
		conns int // 0: one per CPU
	}{{"urlencoded", e.urlenc, 0}, {"multipart", e.multipart, 0}, {"urlencoded-32conns", e.urlenc, 32}} {
		b.Run(tc.name, func(b *testing.B) {
			e.warm(b, tc.raw)
			if tc.conns > 0 {
				b.SetParallelism(max(1, tc.conns/runtime.GOMAXPROCS(0)))
			}
			b.ReportAllocs()
			m := e.meter(b)
			b.RunParallel(func(pb *testing.PB) {
				c := newBenchConn(e.handler)
				n := 0
				defer func() { e.issued.Add(int64(n)) }()
				for pb.Next() {
					code, err := c.roundTrip(tc.raw)
					if err != nil || code != http.StatusOK {
						b.Errorf("status %d, err %v:\n%s", code, err, c.w.out)
						return
					}
					n++
				}
			})
			m.report(b)
		})
	}
}

// Warm client-credentials issuance reads nothing from the store and writes
// nothing on the request path: the team, the client
// and the signing key come from caches, and the audit event goes to the
// batcher, which writes many at a time off the request path.
func TestIssuanceWarmDoesNoStoreCalls(t *testing.T) {
	const requests = 200

	t.Run("no store call on the request path", func(t *testing.T) {
		// The server does not run: nothing but the requests can call the
		// store. The audit batcher's buffer (16 × its batch of 500) holds
		// every event of the test without a writer.
		e := newBenchEnv(t, false, slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelError})))
		raws := map[string][]byte{"urlencoded": e.urlenc, "multipart": e.multipart}
		for _, raw := range raws {
			e.warm(t, raw)
		}
		before := e.store.counts()
		if before["Team"] == 0 || before["Client"] == 0 || before["ListSigningKeys"] == 0 {
			t.Fatalf("warming up read %v; the counters see nothing", before)
		}
		// From here any store method the counters do not cover panics,
		// and the middleware answers 500.
		e.store.seal()
		c := newBenchConn(e.handler)
		for i := range requests {
			name := [...]string{"urlencoded", "multipart"}[i%2]
			code, err := c.roundTrip(raws[name])
			if err != nil || code != http.StatusOK {
				t.Fatalf("request %d (%s): status %d, err %v; a 500 is a store call the counters miss:\n%s",
					i, name, code, err, c.w.out)
			}
		}
		checkTokenResponse(t, c)
		if after := e.store.counts(); !benchSameCounts(before, after) {
			t.Errorf("%d warm token requests called the store:\nbefore %v\nafter  %v", requests, before, after)
		}
	})

	t.Run("audit events are written in batches", func(t *testing.T) {
		e := newBenchEnv(t, true, nil)
		e.warm(t, e.urlenc)
		// Let the warm-up's event be written, so that what follows counts
		// only the requests'.
		benchWaitFor(t, func() bool { return e.store.audited() == 1 })
		calls := e.store.counts()["AppendAudit"]

		c := newBenchConn(e.handler)
		start := time.Now()
		for i := range requests {
			if code, err := c.roundTrip(e.urlenc); err != nil || code != http.StatusOK {
				t.Fatalf("request %d: status %d, err %v:\n%s", i, code, err, c.w.out)
			}
		}
		elapsed := time.Since(start)
		benchWaitFor(t, func() bool { return e.store.audited() == 1+requests })
		calls = e.store.counts()["AppendAudit"] - calls
		// The batcher writes when its interval (200 ms) ticks or a batch
		// (500) fills, never per event.
		if limit := int(elapsed/(200*time.Millisecond)) + requests/500 + 2; calls > limit || calls >= requests {
			t.Errorf("%d events took %d AppendAudit calls in %v; want at most %d", requests, calls, elapsed, limit)
		}
	})
}

func benchWaitFor(t *testing.T, cond func() bool) {
	t.Helper()
	poll.Must(t, 10*time.Second, "the audit events", cond)
}

func benchSameCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// benchCountingStore counts the calls a server makes to the store methods
// that caches and batches sit in front of, and passes them to real. Every
// other method goes to the embedded Store, which seal removes: from then
// on a call the counters would not see panics instead of going unseen.
type benchCountingStore struct {
	store.Store
	real store.Store

	mu     sync.Mutex
	calls  map[string]int
	events int // passed to AppendAudit
}

// seal makes every uncounted method panic. Call it only while nothing
// else uses the store.
func (s *benchCountingStore) seal() { s.Store = nil }

func (s *benchCountingStore) count(method string) {
	s.mu.Lock()
	s.calls[method]++
	s.mu.Unlock()
}

func (s *benchCountingStore) counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

func (s *benchCountingStore) audited() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.events
}

// Reads behind caches: teams, clients, signing keys, the denylist.

func (s *benchCountingStore) Team(ctx context.Context, name string) (store.Team, error) {
	s.count("Team")
	return s.real.Team(ctx, name)
}

func (s *benchCountingStore) ListTeams(ctx context.Context) ([]store.Team, error) {
	s.count("ListTeams")
	return s.real.ListTeams(ctx)
}

func (s *benchCountingStore) Client(ctx context.Context, team, id string) (store.Client, error) {
	s.count("Client")
	return s.real.Client(ctx, team, id)
}

func (s *benchCountingStore) ListClients(ctx context.Context, team string) ([]store.Client, error) {
	s.count("ListClients")
	return s.real.ListClients(ctx, team)
}

func (s *benchCountingStore) ListSigningKeys(ctx context.Context, team string) ([]store.SigningKey, error) {
	s.count("ListSigningKeys")
	return s.real.ListSigningKeys(ctx, team)
}

func (s *benchCountingStore) GrantRevocation(ctx context.Context, team, userID, clientID string, now time.Time) (store.GrantRevocation, error) {
	s.count("GrantRevocation")
	return s.real.GrantRevocation(ctx, team, userID, clientID, now)
}

func (s *benchCountingStore) ListRevokedTokens(ctx context.Context, team string, now time.Time) ([]store.RevokedToken, error) {
	s.count("ListRevokedTokens")
	return s.real.ListRevokedTokens(ctx, team, now)
}

// Writes: transactions (making or rotating a signing key), batched audit
// events, housekeeping.

func (s *benchCountingStore) Tx(ctx context.Context, fn func(q store.Queries) error) error {
	s.count("Tx")
	return s.real.Tx(ctx, fn)
}

func (s *benchCountingStore) AppendAudit(ctx context.Context, events ...store.AuditEvent) error {
	err := s.real.AppendAudit(ctx, events...)
	s.mu.Lock()
	s.calls["AppendAudit"]++
	if err == nil {
		s.events += len(events)
	}
	s.mu.Unlock()
	return err
}

func (s *benchCountingStore) Purge(ctx context.Context, kind store.PurgeKind, before time.Time, limit int) (int, error) {
	s.count("Purge")
	return s.real.Purge(ctx, kind, before, limit)
}

// Watch is how other processes' changes arrive; it runs for the life of
// the server and is not a per-request call.
func (s *benchCountingStore) Watch(ctx context.Context, fn func(store.Change)) error {
	s.count("Watch")
	return s.real.Watch(ctx, fn)
}
