package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/poll"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// --trusted-proxies: from a trusted proxy the limits, the login history,
// the audit trail and the request log name the address it forwarded for
// (the rightmost hop that is not a trusted proxy, whatever the client
// wrote to the left of it); from any other peer the header is ignored and
// the peer's address counts.
func TestLimitsBehindTrustedProxy(t *testing.T) {
	proxyIP, directIP := loopbackAlias(t, 2), loopbackAlias(t, 3)
	var logs syncBuffer
	h := servertest.Start(t, servertest.WithLog(slog.New(slog.NewJSONHandler(&logs, nil))),
		servertest.WithConfig(func(c *config.Config) {
			patientDatabase(c)
			c.TrustedProxies = proxyIP.String() + ",10.0.0.0/8"
			c.LoginIPFailures = 3
			c.LoginFailures = 10
		}))
	viaProxy, direct := browserOf(t, h.ClientFrom(t, proxyIP)), browserOf(t, h.ClientFrom(t, directIP))
	n := 0
	attempt := func(b *browser, xff string) page {
		t.Helper()
		n++
		hdr := map[string]string{"X-Forwarded-For": xff}
		return newLoginAttempt(t, b, "acme", fmt.Sprintf("guess%d@example.com", n), "guess").send(t, hdr)
	}
	want := func(p page, status int, what string) {
		t.Helper()
		if p.status != status {
			t.Errorf("%s: %d, want %d", what, p.status, status)
		}
	}

	// Through the proxy: the forwarded address spends its allowance.
	for range 3 {
		want(attempt(viaProxy, "198.51.100.7"), http.StatusBadRequest, "failure through the proxy")
	}
	want(attempt(viaProxy, "198.51.100.7"), http.StatusTooManyRequests, "the forwarded address past its allowance")
	want(attempt(viaProxy, "1.2.3.4, 198.51.100.7"), http.StatusTooManyRequests, "an address the client wrote to the left")
	want(attempt(viaProxy, "198.51.100.7, 10.0.0.5"), http.StatusTooManyRequests, "behind a second trusted proxy")
	want(attempt(viaProxy, "198.51.100.8"), http.StatusBadRequest, "another client through the same proxy")

	// Directly, the header is the client's own word: ignored.
	for i := range 3 {
		want(attempt(direct, fmt.Sprintf("203.0.113.%d", i+1)), http.StatusBadRequest, "failure from an untrusted peer")
	}
	want(attempt(direct, "203.0.113.9"), http.StatusTooManyRequests, "an untrusted peer with a new header")

	byIP := map[string]int{}
	for _, ev := range logins(t, h.DB, "acme", store.LoginFilter{}) {
		byIP[ev.IP]++
	}
	wantIPs := map[string]int{"198.51.100.7": 3, "198.51.100.8": 1, directIP.String(): 3}
	if len(byIP) != len(wantIPs) {
		t.Errorf("login history by address %v, want %v", byIP, wantIPs)
	}
	for ip, n := range wantIPs {
		if byIP[ip] != n {
			t.Errorf("login history by address %v, want %v", byIP, wantIPs)
			break
		}
	}

	// A client authentication through the proxy is audited with the
	// forwarded address.
	cc, _ := h.Client(t, "acme", client.NewClient{Scopes: []string{"audit.log:read"}})
	req, err := http.NewRequest("POST", teamURL("acme", "/oauth2/token"), strings.NewReader("grant_type=client_credentials"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", "198.51.100.20")
	req.SetBasicAuth(cc.ID, "wrong")
	resp, err := h.ClientFrom(t, proxyIP).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong secret through the proxy: %d", resp.StatusCode)
	}
	auditIPs := func(action string) map[string]int {
		evs, _, err := h.DB.ListAudit(context.Background(), "acme", store.AuditFilter{Action: action}, store.Page{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, ev := range evs {
			out[ev.IP]++
		}
		return out
	}
	poll.Must(t, 10*time.Second, "the audit events shipped", func() bool {
		return auditIPs("client.auth.failure")["198.51.100.20"] == 1 && len(auditIPs("login.failure")) == len(wantIPs)
	})
	if got := auditIPs("login.failure"); got["198.51.100.7"] != 3 || got[directIP.String()] != 3 {
		t.Errorf("login.failure events by address %v, want %v", got, wantIPs)
	}

	// The request log names the client, and the proxy it came through.
	found := false
	for line := range strings.Lines(logs.String()) {
		var l struct{ Msg, Path, Method, Remote, Peer string }
		if json.Unmarshal([]byte(line), &l) != nil || l.Msg != "request" || l.Path != "/oauth2/token" {
			continue
		}
		found = true
		if l.Remote != "198.51.100.20" || l.Peer != proxyIP.String() {
			t.Errorf("request log: remote %q peer %q, want 198.51.100.20 through %s", l.Remote, l.Peer, proxyIP)
		}
	}
	if !found {
		t.Error("no request log line of the token request")
	}
}

// The gateway tells its upstream who the client is: behind a trusted
// proxy the address that proxy forwarded for, from any other peer the
// peer itself, never what a client wrote.
func TestGatewayForwardsTheClient(t *testing.T) {
	proxyIP, directIP := loopbackAlias(t, 2), loopbackAlias(t, 3)
	up := newRecordingUpstream(t, nil)
	g := startGateway(t, "routes:\n"+gwRoute("GET /integration/things/{id}", "read things/{id}", up.URL),
		func(c *config.Config) { c.TrustedProxies = proxyIP.String() })
	for _, tc := range []struct {
		name string
		from net.IP
		xff  string
		want string
	}{
		{"through the trusted proxy", proxyIP, "203.0.113.5, 198.51.100.7", "198.51.100.7"},
		{"from an untrusted peer", directIP, "198.51.100.7", directIP.String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), "GET", servertest.URL("acme", "/integration/things/1"), nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+g.token)
			req.Header.Set("X-Forwarded-For", tc.xff)
			resp, err := g.ClientFrom(t, tc.from).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			_, _, hdr := up.last()
			if got := hdr.Values("X-Forwarded-For"); resp.StatusCode != http.StatusOK || len(got) != 1 || got[0] != tc.want {
				t.Errorf("%d, upstream X-Forwarded-For %q, want %q", resp.StatusCode, hdr.Values("X-Forwarded-For"), tc.want)
			}
		})
	}
}
