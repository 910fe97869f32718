package compose

import (
	"testing"
	"time"
)

func TestPurgeFailureLog(t *testing.T) {
	t0 := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	var st purgeState
	for _, tc := range []struct {
		at       time.Duration
		log      bool
		failures int
	}{
		{0, true, 1},                 // the first failure at once
		{10 * time.Second, false, 0}, // then quiet for a minute
		{50 * time.Second, false, 0},
		{time.Minute, true, 3}, // the line counts what it stood for
		{90 * time.Second, false, 0},
		{10 * time.Minute, true, 2},
	} {
		failures, log := st.fail(t0.Add(tc.at))
		if log != tc.log || failures != tc.failures {
			t.Errorf("failure at +%s: log %v with %d failures, want %v with %d", tc.at, log, failures, tc.log, tc.failures)
		}
	}
}
