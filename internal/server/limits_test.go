package server_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/pgtest"
	"github.com/gatehouse/gatehouse/internal/poll"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// patientDatabase lets requests wait 5 s for the database: these tests
// count what was checked, and on a loaded machine a sign-in that waited
// longer than the default 750 ms would be answered 503 unchecked.
func patientDatabase(c *config.Config) { c.DatabaseTimeout = 5 * time.Second }

// browserOf is a browser (cookie jar, redirects on the team hosts) that
// reaches a server through hc's transport: another node, or another local
// address.
func browserOf(t *testing.T, hc *http.Client) *browser {
	t.Helper()
	return (&oauthEnv{http: hc}).browser(t)
}

// loginAttempt is a sign-in form fetched and filled in, ready to be sent.
type loginAttempt struct {
	b    *browser
	host string
	form url.Values
}

func newLoginAttempt(t *testing.T, b *browser, team, email, password string) loginAttempt {
	t.Helper()
	f := formFields(t, b.get(t, teamURL(team, "/login")), "/login")
	f.Set("email", email)
	f.Set("password", password)
	return loginAttempt{b: b, host: teamURL(team, ""), form: f}
}

func (a loginAttempt) send(t *testing.T, hdr map[string]string) page {
	t.Helper()
	return a.b.do(t, "POST", a.host+"/login", a.form, hdr)
}

// signedIn reports whether a sign-in's answer is the signed-in profile.
func (p page) signedIn() bool { return p.status == http.StatusOK && p.url.Path == "/profile" }

// sendAll sends the attempts all at once and returns their answers in
// order.
func sendAll(t *testing.T, attempts []loginAttempt) []page {
	t.Helper()
	pages := make([]page, len(attempts))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, a := range attempts {
		wg.Go(func() {
			<-start
			pages[i] = a.send(t, nil)
		})
	}
	close(start)
	wg.Wait()
	return pages
}

// tally counts the answers to sign-ins: checked (400, or signed in) and
// refused before any check (429, or 503 when the machine is too loaded for
// the database to answer in time; each with Retry-After).
func tally(t *testing.T, pages []page) (checked, refused int) {
	t.Helper()
	for i, p := range pages {
		switch {
		case p.status == http.StatusTooManyRequests || p.status == http.StatusServiceUnavailable:
			refused++
			if p.header.Get("Retry-After") == "" {
				t.Errorf("attempt %d: %d without Retry-After", i, p.status)
			}
		case p.status == http.StatusBadRequest || p.signedIn():
			checked++
		default:
			t.Errorf("attempt %d: %d %s", i, p.status, p.url)
		}
	}
	return checked, refused
}

// logins counts the team's login history: every attempt that was checked.
func logins(t *testing.T, st store.Store, team string, f store.LoginFilter) []store.LoginEvent {
	t.Helper()
	evs, _, err := st.ListLogins(context.Background(), team, f, store.Page{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// Finding 1: 40 sign-ins at once for one account from one address, the
// right password among them, are checked no more than the allowance (5):
// the rest are refused with 429 before any password is checked, and the
// history, which records every checked attempt, holds at most 5 failures.
// A success gives its unit back (take, then refund), so the right password,
// when it is among the attempts checked, makes room for one more.
func TestLoginBurstChecksAtMostTheAllowance(t *testing.T) {
	e := startFlowEnv(t, patientDatabase)
	var attempts []loginAttempt
	for i := range 40 {
		pw := "wrong password"
		if i == 20 {
			pw = e.password
		}
		attempts = append(attempts, newLoginAttempt(t, e.browser(t), "acme", e.user.Email, pw))
	}
	pages := sendAll(t, attempts)
	checked, refused := tally(t, pages)
	succeeded := 0
	for _, p := range pages {
		if p.signedIn() {
			succeeded++
		}
	}
	allowance := e.h.Config.LoginFailures
	if succeeded > 1 || checked-succeeded > allowance || refused < 40-allowance-succeeded {
		t.Errorf("of 40 attempts at once %d were checked (%d signed in) and %d refused; want at most %d failures checked",
			checked, succeeded, refused, allowance)
	}
	failures, successes := 0, 0
	for _, ev := range logins(t, e.st, "acme", store.LoginFilter{}) {
		if ev.Success {
			successes++
		} else {
			failures++
		}
	}
	if failures > allowance || successes != succeeded {
		t.Errorf("the login history holds %d failures and %d sign-ins, want at most %d failures and %d sign-ins",
			failures, successes, allowance, succeeded)
	}
}

// Finding 12 and the shared budgets: two nodes on one PostgreSQL hold the
// limits of one. 40 sign-ins at once, half on each node, are checked no
// more than the allowance between them, and then the right password is
// refused on both; client authentications that fail on one node make the
// other refuse that client within a second, the right secret too.
func TestLimitsHoldAcrossTwoNodes(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URL(t)
	clock := servertest.NewClock(time.Now())
	tweak := servertest.WithConfig(func(c *config.Config) { patientDatabase(c); c.ClientAuthFailures = 3 })
	n1 := servertest.Start(t, servertest.WithPostgresURL(dbURL), servertest.WithClock(clock), tweak)
	n2 := servertest.Start(t, servertest.WithPostgresURL(dbURL), servertest.WithClock(clock), tweak, servertest.WithTeams())
	nodes := []*servertest.Server{n1, n2}
	user := n1.User(t, "acme", admin.NewUser{Email: "ann@example.com"})
	max := n1.Config.LoginFailures

	t.Run("sign-in", func(t *testing.T) {
		var attempts []loginAttempt
		for i := range 40 {
			attempts = append(attempts, newLoginAttempt(t, browserOf(t, nodes[i%2].HTTP), "acme", user.Email, "wrong password"))
		}
		checked, _ := tally(t, sendAll(t, attempts))
		if h := logins(t, n1.DB, "acme", store.LoginFilter{}); checked > max || len(h) > max || checked == 0 {
			t.Fatalf("two nodes checked %d of 40 attempts at once (history %d), want 1 to %d", checked, len(h), max)
		}
		// Spend what the burst left (an attempt the database was too slow
		// for is not a failure), on both nodes in turn; then the right
		// password is refused on both.
		for i := 0; len(logins(t, n1.DB, "acme", store.LoginFilter{Result: "failure"})) < max; i++ {
			if i == 2*max {
				t.Fatal("the allowance is not spent after as many failures")
			}
			newLoginAttempt(t, browserOf(t, nodes[i%2].HTTP), "acme", user.Email, "wrong password").send(t, nil)
		}
		for i, n := range nodes {
			if p := newLoginAttempt(t, browserOf(t, n.HTTP), "acme", user.Email, servertest.Password).send(t, nil); p.status != http.StatusTooManyRequests {
				t.Errorf("the right password on node %d once the allowance is spent: %d %s, want 429", i+1, p.status, p.url)
			}
		}
	})

	t.Run("client authentication", func(t *testing.T) {
		cc, sec := n1.Client(t, "acme", client.NewClient{Scopes: []string{"audit.log:read"}})
		attacker := n1.ClientFrom(t, loopbackAlias(t, 2))
		owner := []*http.Client{n1.ClientFrom(t, loopbackAlias(t, 3)), n2.ClientFrom(t, loopbackAlias(t, 3))}
		token := func(hc *http.Client, secret string) int {
			req, err := http.NewRequest("POST", teamURL("acme", "/oauth2/token"), strings.NewReader("grant_type=client_credentials"))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(cc.ID, secret)
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp.StatusCode
		}
		// Node 2 has authenticated the client before: it holds its count.
		if s := token(owner[1], sec); s != http.StatusOK {
			t.Fatalf("node 2 before the failures: %d", s)
		}
		// Another address fails on node 1 until the client's allowance is
		// spent; the owner's address has spent none of its own.
		for i := range n1.Config.ClientAuthFailures {
			if s := token(attacker, "wrong"); s != http.StatusUnauthorized {
				t.Fatalf("failure %d on node 1: %d", i+1, s)
			}
		}
		var last int
		if _, ok := poll.Until(5*time.Second, func() bool {
			last = token(owner[1], sec)
			return last == http.StatusTooManyRequests
		}); !ok {
			t.Fatalf("node 2 still answers the right secret %d after node 1 spent the client's allowance", last)
		}
		if s := token(owner[0], sec); s != http.StatusTooManyRequests {
			t.Errorf("node 1, the right secret from the owner's address: %d, want 429", s)
		}
		clock.Advance(n1.Config.ClientAuthWindow + time.Second)
		if s := token(owner[1], sec); s != http.StatusOK {
			t.Errorf("node 2 after the window: %d, want 200", s)
		}
	})
}
