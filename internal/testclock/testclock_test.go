package testclock_test

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testclock"
)

func TestClock(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := testclock.New(t0)
	if !c.Now().Equal(t0) {
		t.Fatalf("Now = %v", c.Now())
	}
	c.Advance(time.Minute)
	if !c.Now().Equal(t0.Add(time.Minute)) {
		t.Fatalf("after Advance: %v", c.Now())
	}
	c.Set(t0)
	if !c.Now().Equal(t0) {
		t.Fatalf("after Set: %v", c.Now())
	}
	var wall testclock.Clock
	wall.Advance(time.Hour)
	if d := wall.Now().Sub(time.Now()); d < 59*time.Minute || d > 61*time.Minute {
		t.Fatalf("the zero clock advanced an hour is %v off the wall clock", d)
	}
}
