//go:build !unix

package sqlstore_test

import "time"

func processCPU() (time.Duration, bool) { return 0, false }
