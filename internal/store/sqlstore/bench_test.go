package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/gatehouse/gatehouse/internal/pgtest"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// BenchmarkStore measures one read and one write that records a change,
// on each backend: what a cache miss and an administrative change cost.
func BenchmarkStore(b *testing.B) {
	open := map[string]func() (*sqlstore.DB, error){
		"sqlite": func() (*sqlstore.DB, error) {
			return sqlstore.OpenSQLite(context.Background(), filepath.Join(b.TempDir(), "gatehouse.db"), nil)
		},
		"postgres": func() (*sqlstore.DB, error) {
			return sqlstore.OpenPostgres(context.Background(), pgtest.URL(b), nil)
		},
	}
	for _, name := range []string{"sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			s, err := open[name]()
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			// Cancellable, as a request's context and a background
			// component's are.
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if err := s.CreateTeam(ctx, store.Team{Name: "alpha"}); err != nil {
				b.Fatal(err)
			}
			b.Run("read", func(b *testing.B) {
				for b.Loop() {
					if _, err := s.Team(ctx, "alpha"); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("write", func(b *testing.B) {
				for b.Loop() {
					if err := s.UpdateTeamSettings(ctx, "alpha", store.TeamSettings{ScopeFormat: "string"}); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
