package teamapi

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/edge"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// fuzzStore is a SQLite store of team acme with a few users, groups,
// audit events and logins, shared by the executions of a fuzz target.
func fuzzStore(f *testing.F) store.Store {
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(f.TempDir(), "gatehouse.db"), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	adm := &admin.Service{Store: st, Password: secret.PasswordParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}}
	if _, err := adm.CreateTeam(ctx, kernel.CLI, "acme"); err != nil {
		f.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, email := range []string{"ada@example.com", "bob@example.com", "carol@example.com"} {
		if _, err := adm.CreateUser(ctx, kernel.CLI, "acme", admin.NewUser{Email: email, Name: "U", Password: "correct horse battery staple"}); err != nil {
			f.Fatal(err)
		}
		if _, err := adm.CreateGroup(ctx, kernel.CLI, "acme", "group-"+email[:3]); err != nil {
			f.Fatal(err)
		}
		for j := range 3 {
			at := t0.Add(time.Duration(i*3+j) * time.Minute)
			if err := st.AppendAudit(ctx, store.AuditEvent{Team: "acme", At: at, Actor: "cli", Action: "x.test", Target: email}); err != nil {
				f.Fatal(err)
			}
			if err := st.AppendLogin(ctx, store.LoginEvent{Team: "acme", At: at, Email: email, Success: j%2 == 0, Reason: "r"}); err != nil {
				f.Fatal(err)
			}
		}
	}
	return st
}

// The team APIs' query strings and cursors, against a real store: every
// answer is 200 with a listing of at most ?limit= items, or 400
// invalid_request naming what is wrong; never a 5xx, whatever the cursor
// holds. A next_cursor given back is accepted.
func FuzzQuery(f *testing.F) {
	st := fuzzStore(f)
	h := handlers{st: st}
	routes := []list{h.auditLog, h.users, h.groups, h.loginHistory}
	for i := range routes {
		for _, q := range []string{"", "limit=1", "limit=0", "limit=1001", "limit=-1", "limit=1e3", "limit=%201",
			"cursor=", "cursor=MTc2NzIyNTYwMDAwMDAwMC4x", "cursor=!!", "cursor=LTEuLTE", "cursor=OTIyMzM3MjAzNjg1NDc3NTgwNy45MjIzMzcyMDM2ODU0Nzc1ODA3",
			"since=2026-01-01T00:00:00Z&until=2025-01-01T00:00:00Z", "since=0000-01-01T00:00:00Z", "since=9999-12-31T23:59:59.999999999Z",
			"until=2026-01-01T00:03:00+14:00", "action=x.test&actor=cli", "result=failure&user=ADA@example.com",
			"limit=1&limit=2", "unknown=1", "%zz", "a=1;b=2"} {
			f.Add(uint8(i), q)
		}
	}
	f.Fuzz(func(t *testing.T, route uint8, query string) {
		fn := routes[int(route)%len(routes)]
		call := func(query string) (int, map[string]any) {
			r := httptest.NewRequest(http.MethodGet, "/api/team/x", nil)
			r.URL.RawQuery = query
			var logs bytes.Buffer
			info := &edge.Info{RequestID: "t", Team: store.Team{Name: "acme"}, Log: slog.New(slog.NewTextHandler(&logs, nil))}
			r = r.WithContext(edge.WithInfo(r.Context(), info))
			rec := httptest.NewRecorder()
			serve(fn)(rec, r)
			var body map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("?%s: %d %q: %v", query, rec.Code, rec.Body, err)
			}
			if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
				t.Fatalf("?%s: %d %v\n%s", query, rec.Code, body, logs.String())
			}
			return rec.Code, body
		}
		status, body := call(query)
		if status == http.StatusBadRequest {
			desc, _ := body["error_description"].(string)
			if body["error"] != "invalid_request" || desc == "" {
				t.Errorf("?%s: 400 %v", query, body)
			}
			return
		}
		items, ok := body["items"].([]any)
		if !ok {
			t.Fatalf("?%s: items %v", query, body["items"])
		}
		limit := DefaultLimit
		if v, err := url.ParseQuery(query); err == nil {
			if p, err := page(v); err == nil {
				limit = p.Limit
			}
		}
		if len(items) > limit {
			t.Errorf("?%s: %d items, limit %d", query, len(items), limit)
		}
		if next, _ := body["next_cursor"].(string); next != "" {
			if status, body := call("cursor=" + next); status != http.StatusOK {
				t.Errorf("?%s: its next_cursor %q is refused: %v", query, next, body)
			}
		}
	})
}
