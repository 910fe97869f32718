package poll_test

import (
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gatehouse/gatehouse/internal/poll"
)

func TestUntil(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		took, ok := poll.Until(time.Second, func() bool { return n.Add(1) == 4 })
		if !ok || took != 3*poll.Interval {
			t.Errorf("Until = %v, %v; want true after 3 intervals", took, ok)
		}
		took, ok = poll.Until(time.Second, func() bool { return false })
		if ok || took != time.Second {
			t.Errorf("Until of a condition never true = %v, %v; want false after 1s", took, ok)
		}
	})
}
