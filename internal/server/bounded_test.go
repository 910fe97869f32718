package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/poll"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Bounded writes, on a real server with its audit writer: what a request
// sends is clipped before it is stored, a client_id that no client can
// have is refused before it is counted or audited, and 1,000 attempts
// refused by the limit make one audit row, not 1,000. Nothing the
// audit-log API returns is over its bound.
func TestBoundedWrites(t *testing.T) {
	for _, backend := range []struct {
		name string
		opts []servertest.Option
	}{{"sqlite", nil}, {"postgres", []servertest.Option{servertest.WithPostgres()}}} {
		t.Run(backend.name, func(t *testing.T) {
			h := servertest.Start(t, backend.opts...)
			reader, readerSecret := h.Client(t, "acme", client.NewClient{Name: "reader", Scopes: []string{"audit.log:read"}})
			h.Grant(t, "acme", "client:"+reader.ID, "read", "audit-log")
			victim, _ := h.Client(t, "acme", client.NewClient{Name: "victim", Scopes: []string{"audit.log:read"}})

			post := func(form url.Values, header map[string]string) int {
				t.Helper()
				req, err := http.NewRequest("POST", servertest.URL("acme", "/oauth2/token"), strings.NewReader(form.Encode()))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				for k, v := range header {
					req.Header.Set(k, v)
				}
				resp, err := h.HTTP.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp.StatusCode
			}
			cc := url.Values{"grant_type": {"client_credentials"}}

			// A user agent of 60 KB (the server takes 64 KB of headers).
			longUA := strings.Repeat("é", 30_000)
			if got := post(cc, map[string]string{"Authorization": basic(reader.ID, readerSecret), "User-Agent": longUA}); got != 200 {
				t.Fatalf("token with a long user agent: %d, want 200", got)
			}
			// A client_id of nearly 1 MB (the body limit is 1 MiB) and one
			// that is not a UUID: invalid_client, nothing kept.
			hugeID := strings.Repeat("A", 1<<20-200)
			for _, id := range []string{hugeID, "my-client", strings.ToUpper(victim.ID)} {
				if got := post(url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {"x"}}, nil); got != 401 {
					t.Fatalf("client_id of %d bytes: %d, want 401", len(id), got)
				}
			}
			// The victim's limit runs out after ClientAuthFailures
			// failures; 1,000 more attempts are refused.
			wrong := map[string]string{"Authorization": basic(victim.ID, "wrong")}
			for range h.Config.ClientAuthFailures {
				if got := post(cc, wrong); got != 401 {
					t.Fatalf("failure: %d, want 401", got)
				}
			}
			for i := range 1000 {
				if got := post(cc, wrong); got != http.StatusTooManyRequests {
					t.Fatalf("refused attempt %d: %d, want 429", i+1, got)
				}
			}

			// The refusals' window closes a minute after the first; its one
			// event reaches the database.
			h.Clock.Advance(2 * time.Minute)
			var throttled []store.AuditEvent
			poll.Must(t, 10*time.Second, "the throttled event in the database", func() bool {
				var err error
				throttled, _, err = h.DB.ListAudit(context.Background(), "acme", store.AuditFilter{Action: "client.auth.throttled"}, store.Page{Limit: 10})
				return err == nil && len(throttled) > 0
			})
			if len(throttled) != 1 || throttled[0].Detail["count"] != "1000" || throttled[0].Target != "client:"+victim.ID {
				t.Errorf("throttled events %+v, want one of client:%s counting 1000", throttled, victim.ID)
			}
			all, _, err := h.DB.ListAudit(context.Background(), "acme", store.AuditFilter{}, store.Page{Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if len(all) > 30 {
				t.Errorf("%d audit rows after 1,000 refused attempts, want a few (one per failure, issuance and change)", len(all))
			}

			// The audit-log API returns nothing over its bound.
			tok := h.Token(t, "acme", reader.ID, readerSecret, "audit.log:read")
			req, _ := http.NewRequest("GET", servertest.URL("acme", "/api/team/audit-log?limit=1000"), nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := h.HTTP.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 {
				t.Fatalf("audit log: %d %s", resp.StatusCode, body)
			}
			if len(body) > 64<<10 {
				t.Errorf("audit log of %d bytes: a request's string came back whole", len(body))
			}
			var page struct {
				Events []struct {
					Actor     string            `json:"actor"`
					Action    string            `json:"action"`
					Target    string            `json:"target"`
					IP        string            `json:"ip"`
					UserAgent string            `json:"user_agent"`
					Detail    map[string]string `json:"detail"`
				} `json:"items"`
			}
			if err := json.Unmarshal(body, &page); err != nil || len(page.Events) == 0 {
				t.Fatalf("audit log: %v, %d events: %.200s", err, len(page.Events), body)
			}
			sawLongUA := false
			for _, e := range page.Events {
				if len(e.UserAgent) > kernel.MaxUserAgent || !utf8.ValidString(e.UserAgent) || len(e.Actor) > kernel.MaxName ||
					len(e.Target) > kernel.MaxName || len(e.IP) > kernel.MaxIP {
					t.Errorf("event %s over its bounds: actor %d, target %d, ip %d, user agent %d bytes",
						e.Action, len(e.Actor), len(e.Target), len(e.IP), len(e.UserAgent))
				}
				for k, v := range e.Detail {
					if len(v) > kernel.MaxDetail {
						t.Errorf("event %s: detail %s of %d bytes", e.Action, k, len(v))
					}
				}
				if strings.Contains(e.Actor+e.Target, "my-client") || strings.Contains(e.Actor+e.Target, "AAAA") {
					t.Errorf("event %s names the malformed client_id: actor %.60q, target %.60q", e.Action, e.Actor, e.Target)
				}
				sawLongUA = sawLongUA || strings.HasPrefix(e.UserAgent, "éé") && e.Action == "token.issue"
			}
			if !sawLongUA {
				t.Error("no token.issue event with the clipped long user agent")
			}
		})
	}
}
