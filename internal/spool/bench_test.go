package spool_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/spool"
)

// BenchmarkAppend is durable appends of 300-byte records (an audit event's
// size) from 1, 16 and 64 writers at once: ns/op is per record,
// cpu-ns/record the process's CPU time per record (user and system, the
// fsync's included), and records/write how many records one write and
// fsync carries (group commit).
//
//	go test -bench Append -run '^$' ./internal/spool/
func BenchmarkAppend(b *testing.B) {
	rec := make([]byte, 300)
	for _, writers := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			// A long wait: a slow fsync on a busy machine is no failure here.
			s, err := spool.Open(spool.Options{Dir: b.TempDir(), MaxBytes: 1 << 40, Wait: time.Minute})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			b.ReportAllocs()
			cpu0, cpuOK := processCPU()
			b.ResetTimer()
			var wg sync.WaitGroup
			work := make(chan struct{}, b.N)
			for range b.N {
				work <- struct{}{}
			}
			close(work)
			for range writers {
				wg.Go(func() {
					for range work {
						if err := s.Append(rec); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			if cpu, ok := processCPU(); ok && cpuOK {
				b.ReportMetric(float64(cpu-cpu0)/float64(b.N), "cpu-ns/record")
			}
			if w := s.Writes(); w > 0 {
				b.ReportMetric(float64(b.N)/float64(w), "records/write")
			}
		})
	}
}
