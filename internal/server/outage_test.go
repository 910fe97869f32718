package server_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/outage"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/statickey"
	"github.com/gatehouse/gatehouse/internal/store"
)

// outageCall is one request of the outage test and what it must answer
// while the database is cut (the same request answers 2xx, or its
// usual refusal, once it is back).
type outageCall struct {
	name      string
	method    string
	url       string
	form      url.Values
	header    map[string]string
	whileCut  int // 200 or 503
	afterCut  int
	errorCode string // of a 503's JSON body ("" for a page)
	spends    bool   // it uses up its credential: not sent before the cut
}

// A node whose database stops answering (the store fails every call with
// store.ErrUnavailable, as a cut connection does once classified), past
// every cache lifetime, goes on issuing client_credentials tokens and
// checking the JWTs, static keys and clients it has seen; what needs the
// database (a refresh grant, the team APIs, a client or a team it never
// saw, a sign-in) answers 503 with Retry-After at once, never 500; once
// the database answers again everything works. On both backends.
func TestServeThroughOutage(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testServeThroughOutage(t) })
	t.Run("postgres", func(t *testing.T) { testServeThroughOutage(t, servertest.WithPostgres()) })
}

func testServeThroughOutage(t *testing.T, opts ...servertest.Option) {
	var o *outage.Store
	h := servertest.Start(t, append(opts, servertest.WithStore(func(db store.Store) store.Store {
		o = outage.New(db)
		return o
	}))...)
	e := &flowEnv{liveEnv: liveOf(h), dbPath: h.DBPath}
	e.app = e.codeClient(t, "acme", "Reporting App", client.AuthSecretBasic, []string{appRedirect}, "audit.log:read")
	e.user, e.password = e.newUser(t, "acme", "ann@example.com")
	cc, ccSecret := h.Client(t, "acme", client.NewClient{Scopes: []string{"audit.log:read"}})
	h.Grant(t, "acme", "client:"+cc.ID, "read", "audit-log")
	h.Grant(t, "acme", "client:"+cc.ID, "check", "authz")
	h.App(t, "acme", "etl")
	h.Grant(t, "acme", "app:etl", "check", "authz")
	_, appKey := h.StaticKey(t, "acme", statickey.KindApp, "etl")

	// Warm: every credential is used once.
	jwt := h.Token(t, "acme", cc.ID, ccSecret)
	b := e.signedIn(t)
	_, refresh := e.tokens(t, b, "audit.log:read")
	tokenForm := url.Values{"grant_type": {"client_credentials"}}
	check := func(principalToken string) string {
		return `{"token":"` + principalToken + `","scope":"audit.log:read","action":"read","resource":"audit-log"}`
	}
	ccAuth := map[string]string{"Authorization": basic(cc.ID, ccSecret)}
	calls := []outageCall{
		{name: "client_credentials token", method: "POST", url: servertest.URL("acme", "/oauth2/token"), form: tokenForm,
			header: ccAuth, whileCut: 200, afterCut: 200},
		{name: "introspection of a known JWT", method: "POST", url: servertest.URL("acme", "/oauth2/introspect"),
			form: url.Values{"token": {jwt}}, header: ccAuth, whileCut: 200, afterCut: 200},
		{name: "check of a known JWT", method: "POST", url: servertest.URL("acme", "/api/authz/check"),
			header: map[string]string{"Authorization": "Bearer " + jwt}, whileCut: 200, afterCut: 200},
		{name: "check with a known static key", method: "POST", url: servertest.URL("acme", "/api/authz/check"),
			header: map[string]string{"Authorization": "AppKey " + appKey}, whileCut: 200, afterCut: 200},
		{name: "JWKS", method: "GET", url: servertest.URL("acme", "/oauth2/jwks"), whileCut: 200, afterCut: 200},
		{name: "refresh grant", method: "POST", url: servertest.URL("acme", "/oauth2/token"),
			form:   url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}},
			header: map[string]string{"Authorization": basic(e.app.ID, e.app.secret)}, whileCut: 503, afterCut: 200,
			errorCode: "temporarily_unavailable", spends: true},
		{name: "team API", method: "GET", url: servertest.URL("acme", "/api/team/audit-log"),
			header: map[string]string{"Authorization": "Bearer " + jwt}, whileCut: 503, afterCut: 200, errorCode: "temporarily_unavailable"},
		{name: "unknown client", method: "POST", url: servertest.URL("acme", "/oauth2/token"), form: tokenForm,
			header:   map[string]string{"Authorization": basic(uuid.NewString(), "nope")},
			whileCut: 503, afterCut: 401, errorCode: "temporarily_unavailable"},
		{name: "unknown team", method: "GET", url: servertest.URL("nosuchteam", "/oauth2/jwks"),
			whileCut: 503, afterCut: 404, errorCode: "temporarily_unavailable"},
		{name: "profile page", method: "GET", url: servertest.URL("acme", "/profile"), whileCut: 503, afterCut: 200},
	}
	do := func(t *testing.T, c outageCall) (int, http.Header, string, time.Duration) {
		t.Helper()
		var body io.Reader
		switch {
		case c.form != nil:
			body = strings.NewReader(c.form.Encode())
		case c.method == "POST":
			body = strings.NewReader(check(jwt))
		}
		req, err := http.NewRequest(c.method, c.url, body)
		if err != nil {
			t.Fatal(err)
		}
		if c.form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for k, v := range c.header {
			req.Header.Set(k, v)
		}
		hc := e.http
		if strings.HasSuffix(c.url, "/profile") {
			hc = b.hc
		}
		start := time.Now()
		resp, err := hc.Do(req)
		took := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(raw), took
	}
	for _, c := range calls {
		if c.afterCut == 200 && !c.spends {
			if status, _, raw, _ := do(t, c); status != 200 {
				t.Fatalf("%s before the outage: %d %s", c.name, status, raw)
			}
		}
	}

	// The change listener loses the database too, and says that changes
	// may have been missed: the caches expire what they hold.
	missed := make(chan struct{}, 1)
	unsubscribe := h.Hub().Subscribe(func(c store.Change) {
		if c == (store.Change{}) {
			select {
			case missed <- struct{}{}:
			default:
			}
		}
	})
	defer unsubscribe()
	o.Cut()
	select {
	case <-missed:
	case <-time.After(10 * time.Second):
		t.Fatal("the change listener did not notice the cut")
	}
	// Past every cache's lifetime (10 minutes at most), within the
	// tokens' (15 minutes).
	h.Clock.Advance(11 * time.Minute)
	for round := range 2 { // the second round is served from what the first left
		for _, c := range calls {
			t.Run(c.name+" while cut, round "+strconv.Itoa(round), func(t *testing.T) {
				status, hdr, raw, took := do(t, c)
				if status != c.whileCut {
					t.Fatalf("%d %s, want %d", status, raw, c.whileCut)
				}
				if took > time.Second {
					t.Errorf("answered after %v, want within 1 s", took)
				}
				if status == 503 {
					if ra, err := strconv.Atoi(hdr.Get("Retry-After")); err != nil || ra <= 0 {
						t.Errorf("Retry-After %q", hdr.Get("Retry-After"))
					}
					if c.errorCode != "" && !strings.Contains(raw, `"error":"`+c.errorCode+`"`) {
						t.Errorf("body %s, want error %s", raw, c.errorCode)
					}
				}
			})
		}
		h.Clock.Advance(time.Minute)
	}
	// A token issued during the outage checks as well.
	status, _, raw, _ := do(t, outageCall{name: "token", method: "POST", url: servertest.URL("acme", "/oauth2/token"),
		form: tokenForm, header: ccAuth})
	fresh := regexp.MustCompile(`"access_token":"([^"]+)"`).FindStringSubmatch(raw)
	if status != 200 || fresh == nil {
		t.Fatalf("token while cut: %d %s", status, raw)
	}
	if status, _, raw, _ := do(t, outageCall{method: "POST", url: servertest.URL("acme", "/api/authz/check"),
		header: map[string]string{"Authorization": "Bearer " + fresh[1]}}); status != 200 || !strings.Contains(raw, `"allowed":true`) {
		t.Fatalf("check of a token issued while cut: %d %s", status, raw)
	}
	metrics := h.MetricsText()
	for _, cache := range []string{"teams", "clients", "static_keys", "signing_keys", "grants", "revocations"} {
		m := regexp.MustCompile(`gatehouse_cache_stale_served_total\{cache="` + cache + `"\} (\d+)`).FindStringSubmatch(metrics)
		if m == nil || m[1] == "0" {
			t.Errorf("stale serves of %s: %v, want some", cache, m)
		}
	}

	o.Restore()
	h.Clock.Advance(time.Second) // past the caches' retry pause
	for _, c := range calls {
		t.Run(c.name+" after the outage", func(t *testing.T) {
			if status, _, raw, _ := do(t, c); status != c.afterCut {
				t.Fatalf("%d %s, want %d", status, raw, c.afterCut)
			}
		})
	}
}
