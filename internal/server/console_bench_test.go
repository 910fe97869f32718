package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// BenchmarkConsoleList measures a page of 50 of each of the web console's
// listings in a team of 100,000 users, clients, static keys, permissions,
// applications, audit events and login events, as server time: the whole
// handler (middleware, the session, the user's grants, the listing's
// queries, the template) called in process, without a network, for a
// signed-in team admin.
//
//	go test -run '^$' -bench BenchmarkConsoleList -benchtime 200x ./internal/server/
func BenchmarkConsoleList(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			opts := []servertest.Option{servertest.HandlerOnly(), servertest.WithWallClock(), servertest.WithTeams("acme")}
			if engine == "postgres" {
				opts = append(opts, servertest.WithPostgres()) // skipped without PostgreSQL, as every PostgreSQL test is
			}
			h := servertest.Start(b, opts...)
			fill(b, h)
			fillConsole(b, h)
			h.User(b, "acme", admin.NewUser{Email: "boss@example.com", TeamAdmin: true})
			cookie := consoleSession(b, h, "boss@example.com")
			for _, q := range []struct{ name, path string }{
				{"clients", "/admin/applications"},
				{"clients/q", "/admin/applications?q=client-0777"},
				{"clients/scope", "/admin/applications?scope=audit.log%3Aread"},
				{"apps", "/admin/applications/apps"},
				{"apps/q", "/admin/applications/apps?q=app-0424"},
				{"users", "/admin/users"},
				{"users/q", "/admin/users?q=user-0424"},
				{"groups", "/admin/groups"},
				{"permissions", "/admin/permissions"},
				{"permissions/principal", "/admin/permissions?principal=user%3Auser-000042%40example.com"},
				{"static-keys", "/admin/static-keys"},
				{"static-keys/user", "/admin/static-keys?user=user-000042%40example.com"},
				{"static-keys/used_before", "/admin/static-keys?used_before=2030-01-01T00%3A00"},
				{"audit-log", "/admin/audit-log"},
				{"audit-log/action", "/admin/audit-log?action=bench.event&actor=user%3Auser-000042%40example.com"},
				{"login-history", "/admin/login-history"},
				{"login-history/user", "/admin/login-history?user=user-000042%40example.com&result=failure"},
			} {
				b.Run(q.name, func(b *testing.B) {
					handler := h.Handler()
					req := func() *http.Request {
						r := httptest.NewRequest("GET", servertest.URL("acme", q.path), nil)
						r.Header.Set("Cookie", cookie)
						return r
					}
					rec := httptest.NewRecorder()
					handler.ServeHTTP(rec, req())
					if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "<table") {
						b.Fatalf("%s: %d %s", q.path, rec.Code, rec.Body)
					}
					b.ResetTimer()
					for b.Loop() {
						rec := httptest.NewRecorder()
						handler.ServeHTTP(rec, req())
						if rec.Code != http.StatusOK {
							b.Fatalf("%s: %d", q.path, rec.Code)
						}
					}
				})
			}
		})
	}
}

// fillConsole adds what fill does not write: applications, audit events
// and login events, 100,000 of each.
func fillConsole(b *testing.B, h *servertest.Server) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	const batch = 1000
	for start := 0; start < adminListRecords; start += batch {
		err := h.DB.Tx(ctx, func(q store.Queries) error {
			events := make([]store.AuditEvent, 0, batch)
			for i := start; i < start+batch; i++ {
				email := fmt.Sprintf("user-%06d@example.com", i)
				at := now.Add(-time.Duration(adminListRecords-i) * time.Second)
				if err := q.CreateApp(ctx, store.Application{Team: "acme", Name: fmt.Sprintf("app-%06d", i), CreatedAt: now}); err != nil {
					return err
				}
				events = append(events, store.AuditEvent{Team: "acme", At: at, Actor: "user:" + email, Action: "bench.event",
					Target: "client:x", IP: "192.0.2.1", Detail: map[string]string{"n": fmt.Sprint(i)}})
				if err := q.AppendLogin(ctx, store.LoginEvent{Team: "acme", At: at, Email: email, Success: i%3 != 0,
					Reason: map[bool]string{true: "bad password"}[i%3 == 0], IP: "192.0.2.1", UserAgent: "bench"}); err != nil {
					return err
				}
			}
			return q.AppendAudit(ctx, events...)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// consoleSession signs email in through /login and returns the Cookie
// header of the session.
func consoleSession(b *testing.B, h *servertest.Server, email string) string {
	handler := h.Handler()
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest("GET", servertest.URL("acme", "/login"), nil))
	m := csrfField.FindStringSubmatch(rec.Body.String())
	if m == nil {
		b.Fatalf("login page: %d %s", rec.Code, rec.Body)
	}
	form := url.Values{"csrf_token": {m[1]}, "email": {email}, "password": {servertest.Password}}
	r := httptest.NewRequest("POST", servertest.URL("acme", "/login"), strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range rec.Result().Cookies() {
		r.AddCookie(c)
	}
	rec = httptest.NewRecorder()
	handler.ServeHTTP(rec, r)
	for _, c := range rec.Result().Cookies() {
		if strings.HasSuffix(c.Name, "gatehouse_session") && c.Value != "" {
			return c.Name + "=" + c.Value
		}
	}
	b.Fatalf("sign-in: %d, no session cookie: %s", rec.Code, rec.Body)
	return ""
}
