package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// adminListRecords is how many users, clients, static keys and
// permissions the team of BenchmarkAdminList holds.
const adminListRecords = 100_000

// BenchmarkAdminList measures a page of 50 of the admin API's listings in
// a team of 100,000 users, clients, keys and permissions, as server time:
// the whole handler (middleware, the guard with a warm token, the
// listing's queries, JSON) called in process, without a network.
//
//	go test -run '^$' -bench BenchmarkAdminList -benchtime 200x ./internal/server/
func BenchmarkAdminList(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			opts := []servertest.Option{servertest.HandlerOnly(), servertest.WithWallClock(), servertest.WithTeams("acme")}
			if engine == "postgres" {
				opts = append(opts, servertest.WithPostgres()) // skipped without PostgreSQL, as every PostgreSQL test is
			}
			h := servertest.Start(b, opts...)
			fill(b, h)
			c, sec := h.Client(b, "acme", client.NewClient{Name: "bench", Scopes: []string{scope.TeamAdmin}})
			h.Grant(b, "acme", "client:"+c.ID, "read", "*")
			tok := h.Token(b, "acme", c.ID, sec)
			for _, q := range []struct{ name, path string }{
				{"users", "/api/admin/users?limit=50"},
				{"users/q", "/api/admin/users?limit=50&q=user%204242"},
				{"users/q-wide", "/api/admin/users?limit=50&q=user-0"},
				{"users/page-1000", "/api/admin/users?limit=50&cursor=" + cursorOf(b, h, tok, "/api/admin/users?limit=50&q=user-05")},
				{"clients", "/api/admin/clients?limit=50"},
				{"clients/q", "/api/admin/clients?limit=50&q=client-0777"},
				{"clients/scope", "/api/admin/clients?limit=50&scope=audit.log:read"},
				{"keys", "/api/admin/keys?limit=50"},
				{"keys/owner", "/api/admin/keys?limit=50&user=user-000042@example.com"},
				{"keys/used_before", "/api/admin/keys?limit=50&used_before=2030-01-01T00:00:00Z"},
				{"permissions", "/api/admin/permissions?limit=50"},
				{"permissions/principal", "/api/admin/permissions?limit=50&principal=user:user-000042@example.com"},
				{"groups", "/api/admin/groups?limit=50"},
			} {
				b.Run(q.name, func(b *testing.B) {
					handler := h.Handler()
					req := func() *http.Request {
						r := httptest.NewRequest("GET", servertest.URL("acme", q.path), nil)
						r.Header.Set("Authorization", "Bearer "+tok)
						return r
					}
					rec := httptest.NewRecorder()
					handler.ServeHTTP(rec, req())
					if rec.Code != 200 {
						b.Fatalf("%s: %d %s", q.path, rec.Code, rec.Body)
					}
					b.ResetTimer()
					for b.Loop() {
						rec := httptest.NewRecorder()
						handler.ServeHTTP(rec, req())
						if rec.Code != 200 {
							b.Fatalf("%s: %d", q.path, rec.Code)
						}
					}
				})
			}
		})
	}
}

// cursorOf is the next_cursor of path's answer.
func cursorOf(b *testing.B, h *servertest.Server, tok, path string) string {
	r := httptest.NewRequest("GET", servertest.URL("acme", path), nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	h.Handler().ServeHTTP(rec, r)
	var l struct {
		NextCursor string `json:"next_cursor"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &l); err != nil || l.NextCursor == "" {
		b.Fatalf("%s: no next cursor: %s", path, rec.Body)
	}
	return l.NextCursor
}

// fill writes the records, each kind in a few large transactions.
func fill(b *testing.B, h *servertest.Server) {
	ctx := context.Background()
	if st, ok := h.DB.(interface{ SetTimeout(time.Duration) }); ok {
		st.SetTimeout(time.Minute) // large transactions on a busy machine
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	const batch = 1000
	users := make([]string, adminListRecords)
	for start := 0; start < adminListRecords; start += batch {
		err := h.DB.Tx(ctx, func(q store.Queries) error {
			for i := start; i < start+batch; i++ {
				id := uuid.NewString()
				users[i] = id
				email := fmt.Sprintf("user-%06d@example.com", i)
				if err := q.CreateUser(ctx, store.User{Team: "acme", ID: id, Email: email, Name: fmt.Sprintf("User %d", i),
					PasswordHash: "x", CreatedAt: now}); err != nil {
					return err
				}
				if err := q.CreateClient(ctx, store.Client{Team: "acme", ID: uuid.NewString(), Name: fmt.Sprintf("client-%06d", i),
					GrantTypes: []string{"client_credentials"}, AuthMethod: "client_secret_basic",
					Scopes: []string{"audit.log:read", "team.login-history:read"}, CreatedAt: now}); err != nil {
					return err
				}
				used := now.Add(-time.Duration(i) * time.Minute)
				if err := q.CreateKey(ctx, store.StaticKey{Team: "acme", ID: uuid.NewString(), Kind: store.KeyKindUser, Owner: id,
					Hash: []byte(id), CreatedAt: now, LastUsedAt: &used}); err != nil {
					return err
				}
				if err := q.GrantPermission(ctx, store.Permission{Team: "acme", Principal: "user:" + email, Action: "read",
					Resource: fmt.Sprintf("data-pools/%d", i), CreatedAt: now}); err != nil {
					return err
				}
				if i%100 == 0 {
					if err := q.CreateGroup(ctx, store.Group{Team: "acme", Name: fmt.Sprintf("group-%06d", i), CreatedAt: now}); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	// PostgreSQL plans from statistics that autovacuum gathers within a
	// minute of a load this size; right after it, with none, the planner
	// takes the wide search's 100,000 rows for one or two and sorts them
	// (BENCHMARKS.md). A team of 100,000 has them: gather them now.
	if h.DBURL != "" {
		conn, err := pgx.Connect(ctx, h.DBURL)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "ANALYZE"); err != nil {
			b.Fatal(err)
		}
	}
}
