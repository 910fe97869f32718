//go:build unix

package server_test

import (
	"syscall"
	"time"
)

// benchProcessCPU is the CPU time the process has used, user and system.
func benchProcessCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
