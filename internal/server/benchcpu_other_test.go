//go:build !unix

package server_test

import "time"

// benchProcessCPU is not available here: the benchmarks leave out cpu-ns/token.
func benchProcessCPU() (time.Duration, bool) { return 0, false }
