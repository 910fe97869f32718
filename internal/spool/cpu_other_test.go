//go:build !unix

package spool_test

import "time"

func processCPU() (time.Duration, bool) { return 0, false }
