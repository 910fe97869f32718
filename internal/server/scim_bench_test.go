package server_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib" // to VACUUM ANALYZE the benchmark's database

	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/scim"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// scimUsers is how many users the team of BenchmarkSCIMList holds.
const scimUsers = 100_000

// BenchmarkSCIMList measures a page of 100 of SCIM's /Users (and /Groups)
// in a team of 100,000 users, unfiltered and with the filters providers
// send (userName, externalId and displayName: eq, and sw selecting a page
// or more), as server time: the whole handler (middleware, the guard with
// a warm token, the filter's parse and queries, each user's groups, JSON)
// called in process, without a network.
//
//	go test -run '^$' -bench BenchmarkSCIMList -benchtime 200x ./internal/server/
func BenchmarkSCIMList(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			opts := []servertest.Option{servertest.HandlerOnly(), servertest.WithWallClock(), servertest.WithTeams("acme")}
			if engine == "postgres" {
				opts = append(opts, servertest.WithPostgres()) // skipped without PostgreSQL, as every PostgreSQL test is
			}
			h := servertest.Start(b, opts...)
			fillSCIM(b, h)
			if engine == "postgres" {
				analyze(b, h.DBURL)
			}
			c, sec := h.Client(b, "acme", client.NewClient{Name: "bench", Scopes: []string{scim.Scope}})
			h.Grant(b, "acme", "client:"+c.ID, "manage", "users")
			tok := h.Token(b, "acme", c.ID, sec)
			filter := func(f string) string { return "&filter=" + url.QueryEscape(f) }
			for _, q := range []struct{ name, path string }{
				{"users", "/Users?count=100"},
				{"users/userName-eq", "/Users?count=100" + filter(`userName eq "user-042424@example.com"`)},
				{"users/externalId-eq", "/Users?count=100" + filter(`externalId eq "ext-042424"`)},
				{"users/displayName-eq", "/Users?count=100" + filter(`displayName eq "User 42424"`)},
				{"users/userName-sw", "/Users?count=100" + filter(`userName sw "user-0424"`)},
				{"users/externalId-sw", "/Users?count=100" + filter(`externalId sw "ext-0424"`)},
				{"users/displayName-sw", "/Users?count=100" + filter(`displayName sw "User 424"`)},
				{"users/userName-sw-wide", "/Users?count=100" + filter(`userName sw "user-0"`)},
				{"users/or-and-unindexed", "/Users?count=100" + filter(`(userName eq "user-000001@example.com" or externalId sw "ext-0424") and active eq true`)},
				{"users/sortBy-displayName", "/Users?count=100&sortBy=displayName"},
				{"users/page-500", "/Users?count=100&startIndex=50001"},
				{"groups", "/Groups?count=100"},
				{"groups/displayName-eq", "/Groups?count=100" + filter(`displayName eq "Group 004200"`)},
			} {
				b.Run(q.name, func(b *testing.B) {
					handler := h.Handler()
					req := func() *http.Request {
						r := httptest.NewRequest("GET", servertest.URL("acme", scim.Prefix+q.path), nil)
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

// fillSCIM writes the users, as a provider makes them, and 1,000 groups of
// 100 members each, in large transactions.
func fillSCIM(b *testing.B, h *servertest.Server) {
	ctx := context.Background()
	if st, ok := h.DB.(interface{ SetTimeout(time.Duration) }); ok {
		st.SetTimeout(time.Minute) // large transactions on a busy machine
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	const batch = 1000
	for start := 0; start < scimUsers; start += batch {
		err := h.DB.Tx(ctx, func(q store.Queries) error {
			g := store.Group{Team: "acme", ID: uuid.NewString(), Name: fmt.Sprintf("Group %06d", start/100), CreatedAt: now}
			for i := start; i < start+batch; i++ {
				id := uuid.NewString()
				email := fmt.Sprintf("user-%06d@example.com", i)
				if err := q.CreateUser(ctx, store.User{Team: "acme", ID: id, Email: email, Name: fmt.Sprintf("User %d", i),
					ExternalID: fmt.Sprintf("ext-%06d", i), GivenName: "User", FamilyName: fmt.Sprint(i),
					Emails:    []store.Email{{Value: email, Type: "work", Primary: true}},
					CreatedAt: now.Add(time.Duration(i) * time.Microsecond)}); err != nil {
					return err
				}
				if i%100 == 0 {
					g = store.Group{Team: "acme", ID: uuid.NewString(), Name: fmt.Sprintf("Group %06d", i/100), CreatedAt: now}
					if err := q.CreateGroup(ctx, g); err != nil {
						return err
					}
				}
				if err := q.AddGroupMember(ctx, "acme", g.Name, id); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// analyze has PostgreSQL read the statistics and set the visibility map
// of the tables just filled, as autovacuum does soon after a bulk load in
// a running database: without it, the planner guesses a few hundred rows
// per team and counts read every row.
func analyze(b *testing.B, url string) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("VACUUM ANALYZE"); err != nil {
		b.Fatal(err)
	}
}
