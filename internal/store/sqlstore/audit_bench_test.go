package sqlstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/pgtest"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// BenchmarkAppendAudit is AppendAudit of batches of 500 token.issue
// events with event ids, as the audit shipper sends them; ns/event is the
// wall time per event (the database server's work included on
// PostgreSQL), cpu-ns/event this process's CPU time per event (all of
// SQLite's work; on PostgreSQL the client's only).
//
//	go test -bench AppendAudit -run '^$' ./internal/store/sqlstore/
func BenchmarkAppendAudit(b *testing.B) {
	ctx := context.Background()
	for _, backend := range []struct {
		name string
		open func(b *testing.B) (store.Store, error)
	}{
		{"sqlite", func(b *testing.B) (store.Store, error) {
			return sqlstore.OpenSQLite(ctx, filepath.Join(b.TempDir(), "gatehouse.db"), nil)
		}},
		{"postgres", func(b *testing.B) (store.Store, error) { return sqlstore.OpenPostgres(ctx, pgtest.URL(b), nil) }},
	} {
		b.Run(backend.name, func(b *testing.B) {
			db, err := backend.open(b)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if err := db.CreateTeam(ctx, store.Team{Name: "acme", CreatedAt: time.Now()}); err != nil {
				b.Fatal(err)
			}
			const batch = 500
			events := make([]store.AuditEvent, batch)
			n := 0
			cpu0, cpuOK := processCPU()
			for b.Loop() {
				for i := range events {
					n++
					events[i] = store.AuditEvent{Team: "acme", EventID: fmt.Sprintf("bench.%08x", n), At: time.Now(),
						Actor: "client:6f1c2f1e-2b5e-4d8f-9a51-6b1f3c2d4e5f", Action: "token.issue",
						Target: "client:6f1c2f1e-2b5e-4d8f-9a51-6b1f3c2d4e5f", IP: "192.0.2.10", UserAgent: "gatehouse-bench/1",
						Detail: map[string]string{"grant_type": "client_credentials", "jti": fmt.Sprint(n),
							"sub": "6f1c2f1e-2b5e-4d8f-9a51-6b1f3c2d4e5f", "scope": "audit.log:read team.user-group-info:read"}}
				}
				if err := db.AppendAudit(ctx, events...); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/event")
			if cpu, ok := processCPU(); ok && cpuOK {
				b.ReportMetric(float64(cpu-cpu0)/float64(b.N*batch), "cpu-ns/event")
			}
		})
	}
}

// BenchmarkAppendAuditNodes is what one PostgreSQL absorbs when many
// nodes' audit shippers write at once: eight writers (as eight nodes),
// each appending batches of 500 events, report the events stored per
// second. Divided by one node's token rate, it says how many nodes one
// PostgreSQL takes before the audit inserts saturate it.
func BenchmarkAppendAuditNodes(b *testing.B) {
	ctx := context.Background()
	db, err := sqlstore.OpenPostgres(ctx, pgtest.URL(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := db.CreateTeam(ctx, store.Team{Name: "acme", CreatedAt: time.Now()}); err != nil {
		b.Fatal(err)
	}
	const batch = 500
	var writer atomic.Int64
	b.SetParallelism(max(1, 8/runtime.GOMAXPROCS(0)))
	b.RunParallel(func(pb *testing.PB) {
		w := writer.Add(1)
		events := make([]store.AuditEvent, batch)
		n := 0
		for pb.Next() {
			for i := range events {
				n++
				events[i] = store.AuditEvent{Team: "acme", EventID: fmt.Sprintf("node%d.%08x", w, n), At: time.Now(),
					Actor: "client:6f1c2f1e-2b5e-4d8f-9a51-6b1f3c2d4e5f", Action: "token.issue",
					Target: "client:6f1c2f1e-2b5e-4d8f-9a51-6b1f3c2d4e5f", IP: "192.0.2.10", UserAgent: "gatehouse-bench/1",
					Detail: map[string]string{"grant_type": "client_credentials", "jti": fmt.Sprint(n),
						"sub": "6f1c2f1e-2b5e-4d8f-9a51-6b1f3c2d4e5f", "scope": "audit.log:read team.user-group-info:read"}}
			}
			if err := db.AppendAudit(ctx, events...); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
}
