package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/faultproxy"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/pgtest"
	"github.com/gatehouse/gatehouse/internal/poll"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// cutFor is how long the network between the nodes and PostgreSQL stays
// cut: long enough for every connection, retry and backoff to have been
// through several rounds.
const cutFor = 30 * time.Second

// Two nodes share one PostgreSQL through a TCP proxy that then passes no
// byte for 30 s (a blackhole: what a dead network looks like), while the
// clock moves past every cache's lifetime. Both nodes go on issuing
// client_credentials tokens and checking known JWTs (200); what needs the
// database answers 503 with Retry-After; no request waits longer than
// 1 s. Once the network is back, every token.issue event a node
// acknowledged is in the database exactly once, and a secret regenerated
// right after is refused by both nodes within 1 s. A third node stopped
// during the cut ends within its --shutdown-timeout, without an error.
func TestTwoNodesThroughDatabaseCut(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URL(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := faultproxy.Start(t, u.Host)
	viaProxy, err := proxy.URL(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	clock := servertest.NewClock(time.Now())
	// Each node's warnings and errors, shown when the test fails.
	var logs []*syncBuffer
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for i, l := range logs {
			n := 0
			for line := range strings.Lines(l.String()) {
				if n++; n > 40 {
					break
				}
				t.Logf("node %d: %s", i+1, strings.TrimSpace(line))
			}
		}
	})
	node := func(opts ...servertest.Option) *servertest.Server {
		l := &syncBuffer{}
		logs = append(logs, l)
		return servertest.Start(t, append(opts, servertest.WithPostgresURL(dbURL), servertest.WithClock(clock),
			servertest.WithLog(slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelWarn}))),
			servertest.WithStore(func(store.Store) store.Store { return servertest.Open(t, viaProxy, "") }))...)
	}
	n1 := node()
	n2 := node(servertest.WithTeams())
	nodes := []*servertest.Server{n1, n2}
	// A third node, stopped while the database is cut.
	const shutdownTimeout = 3 * time.Second
	n3 := node(servertest.WithTeams(), servertest.WithConfig(func(c *config.Config) { c.ShutdownTimeout = shutdownTimeout }))

	cc, secret := n1.Client(t, "acme", client.NewClient{Scopes: []string{"audit.log:read"}})
	n1.Grant(t, "acme", "client:"+cc.ID, "read", "audit-log")
	n1.Grant(t, "acme", "client:"+cc.ID, "check", "authz")

	var issued atomic.Int64 // token answers 200, on both nodes
	type answer struct {
		status int
		header http.Header
		body   string
		took   time.Duration
	}
	do := func(n *servertest.Server, method, path, auth, contentType, body string) answer {
		req, err := http.NewRequest(method, servertest.URL("acme", path), strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", auth)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		start := time.Now()
		resp, err := n.HTTP.Do(req)
		if err != nil {
			return answer{status: -1, body: err.Error(), took: time.Since(start)}
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		a := answer{status: resp.StatusCode, header: resp.Header, body: string(raw), took: time.Since(start)}
		if path == "/oauth2/token" && a.status == http.StatusOK {
			issued.Add(1)
		}
		return a
	}
	const form = "application/x-www-form-urlencoded"
	token := func(n *servertest.Server, sec string) answer {
		return do(n, "POST", "/oauth2/token", basic(cc.ID, sec), form, "grant_type=client_credentials")
	}
	check := func(n *servertest.Server, jwt string) answer {
		return do(n, "POST", "/api/authz/check", "Bearer "+jwt, "application/json",
			`{"token":"`+jwt+`","scope":"audit.log:read","action":"read","resource":"audit-log"}`)
	}
	teamAPI := func(n *servertest.Server, jwt string) answer {
		return do(n, "GET", "/api/team/audit-log", "Bearer "+jwt, "", "")
	}

	// Warm: each node authenticates the client, signs and checks a token,
	// and reads the team API once.
	jwts := make([]string, len(nodes))
	for i, n := range nodes {
		a := token(n, secret)
		if a.status != http.StatusOK {
			t.Fatalf("node %d token before the cut: %d %s", i+1, a.status, a.body)
		}
		jwts[i] = accessToken(t, a.body)
		if a := check(n, jwts[i]); a.status != http.StatusOK || !strings.Contains(a.body, `"allowed":true`) {
			t.Fatalf("node %d check before the cut: %d %s", i+1, a.status, a.body)
		}
		if a := teamAPI(n, jwts[i]); a.status != http.StatusOK {
			t.Fatalf("node %d team API before the cut: %d %s", i+1, a.status, a.body)
		}
	}

	if a := token(n3, secret); a.status != http.StatusOK {
		t.Fatalf("node 3 token before the cut: %d %s", a.status, a.body)
	}
	poll.Must(t, 10*time.Second, "the warm-up's events shipped", func() bool {
		return countAudit(t, n1.DB, "acme", "token.issue", "client:"+cc.ID) == int(issued.Load())
	})

	if err := proxy.Cut(faultproxy.Blackhole); err != nil {
		t.Fatal(err)
	}
	// Past every cache's lifetime (10 minutes at most), within the
	// tokens' (15 minutes).
	clock.Advance(11 * time.Minute)
	var (
		mu       sync.Mutex
		problems []string
		counts   = map[string]int{}
	)
	report := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(problems) < 20 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	deadline := time.Now().Add(cutFor)
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				for _, c := range []struct {
					name string
					want int
					call func() answer
				}{
					{"token", http.StatusOK, func() answer { return token(n, secret) }},
					{"check", http.StatusOK, func() answer { return check(n, jwts[i]) }},
					{"team API", http.StatusServiceUnavailable, func() answer { return teamAPI(n, jwts[i]) }},
				} {
					a := c.call()
					mu.Lock()
					counts[fmt.Sprintf("node %d %s %d", i+1, c.name, a.status)]++
					mu.Unlock()
					if a.status != c.want {
						report("node %d %s while cut: %d %s, want %d", i+1, c.name, a.status, a.body, c.want)
					}
					if a.took > time.Second {
						report("node %d %s while cut answered after %v, want within 1 s", i+1, c.name, a.took)
					}
					if a.status == http.StatusServiceUnavailable &&
						(a.header.Get("Retry-After") == "" || !strings.Contains(a.body, `"temporarily_unavailable"`)) {
						report("node %d %s: 503 without Retry-After or temporarily_unavailable: %v %s", i+1, c.name, a.header, a.body)
					}
				}
			}
		})
	}
	wg.Wait()
	t.Logf("answers while cut: %v", counts)
	for _, p := range problems {
		t.Error(p)
	}
	if counts["node 1 token 200"] == 0 || counts["node 2 token 200"] == 0 {
		t.Fatalf("no token issued while cut: %v", counts)
	}

	// A node that shuts down while the database is cut ends within
	// --shutdown-timeout, without an error: what it acknowledged is in its
	// spool, which it ships on its next start.
	a3 := token(n3, secret)
	if a3.status != http.StatusOK {
		t.Fatalf("node 3 token while cut: %d %s", a3.status, a3.body)
	}
	stopping := time.Now()
	if err := n3.Stop(); err != nil {
		t.Errorf("node 3 stopped while the database was cut: %v, want nil", err)
	}
	if took := time.Since(stopping); took > shutdownTimeout+500*time.Millisecond {
		t.Errorf("node 3 took %v to stop, shutdown timeout %v", took, shutdownTimeout)
	}
	issued.Add(-1) // its event ships on node 3's next start, not in this test

	if err := proxy.Restore(); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second) // past the caches' retry pause

	// Every acknowledged issuance reaches the database, once.
	want := int(issued.Load())
	var got int
	if _, ok := poll.Until(30*time.Second, func() bool {
		got = countAudit(t, n1.DB, "acme", "token.issue", "client:"+cc.ID)
		return got >= want
	}); !ok || got != want {
		t.Fatalf("token.issue events in the database: %d, want %d (one per token answered 200)", got, want)
	}

	// Both change listeners are back: a change made now reaches both.
	heard := make([]atomic.Bool, len(nodes))
	for i, n := range nodes {
		i := i
		defer n.Hub().Subscribe(func(c store.Change) {
			if c.Kind == store.KindApp {
				heard[i].Store(true)
			}
		})()
	}
	n1.App(t, "acme", "after-the-cut")
	poll.Must(t, 30*time.Second, "both nodes hear a change after the cut", func() bool {
		return heard[0].Load() && heard[1].Load()
	})

	// A secret regenerated now is refused by both nodes within 1 s.
	if _, err := n1.Clients.RegenerateSecret(context.Background(), kernel.CLI, "acme", cc.ID, 0); err != nil {
		t.Fatal(err)
	}
	regenerated := time.Now()
	for i, n := range nodes {
		var a answer
		if _, ok := poll.Until(time.Second-time.Since(regenerated), func() bool {
			a = token(n, secret)
			return a.status == http.StatusUnauthorized
		}); !ok {
			t.Errorf("node %d still accepts the old secret %v after its regeneration: %d %s", i+1, time.Since(regenerated), a.status, a.body)
		}
	}
}

// countAudit counts the audit events of team with action and target.
func countAudit(t *testing.T, st store.Store, team, action, target string) int {
	t.Helper()
	n, cursor := 0, ""
	for {
		events, next, err := st.ListAudit(context.Background(), team, store.AuditFilter{Action: action, Target: target},
			store.Page{Limit: 500, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		n += len(events)
		if next == "" {
			return n
		}
		cursor = next
	}
}

// accessToken is the access_token of a token answer's JSON body.
func accessToken(t *testing.T, body string) string {
	t.Helper()
	var v struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil || v.AccessToken == "" {
		t.Fatalf("no access token in %s", body)
	}
	return v.AccessToken
}
