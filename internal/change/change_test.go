package change

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func TestCovers(t *testing.T) {
	for _, tc := range []struct {
		c    store.Change
		want bool
	}{
		{store.Change{}, true},
		{store.Change{Team: "a"}, true},
		{store.Change{Team: "b"}, false},
		{store.Change{Team: "a", Kind: "client"}, true},
		{store.Change{Team: "a", Kind: "user"}, false},
		{store.Change{Team: "a", Kind: "client", Key: "x"}, true},
		{store.Change{Team: "a", Kind: "client", Key: "y"}, false},
	} {
		if got := Covers(tc.c, "a", "client", "x"); got != tc.want {
			t.Errorf("Covers(%+v) = %v, want %v", tc.c, got, tc.want)
		}
	}
}

func TestHub(t *testing.T) {
	h := NewHub()
	var got []store.Change
	unsub := h.Subscribe(func(c store.Change) { got = append(got, c) })
	h.Publish(store.Change{Team: "a"})
	unsub()
	h.Publish(store.Change{Team: "b"})
	if len(got) != 1 || got[0].Team != "a" {
		t.Fatalf("got %v, want only team a", got)
	}
}

func TestCacheLoadsOnceAndInvalidates(t *testing.T) {
	c := NewCache[string, int](0, 0)
	var loads atomic.Int32
	load := func() (int, error) { return int(loads.Add(1)), nil }
	for range 3 {
		if v, err := c.Get("k", load); err != nil || v != 1 {
			t.Fatalf("Get = %v, %v; want 1", v, err)
		}
	}
	c.Invalidate(func(k string) bool { return k == "other" })
	if v, _ := c.Get("k", load); v != 1 {
		t.Fatalf("unrelated invalidation dropped the entry")
	}
	c.Invalidate(func(k string) bool { return k == "k" })
	if v, _ := c.Get("k", load); v != 2 {
		t.Fatalf("after invalidation got %d, want a reload", v)
	}
}

func TestCacheDoesNotKeepErrors(t *testing.T) {
	c := NewCache[string, int](0, 0)
	if _, err := c.Get("k", func() (int, error) { return 0, errors.New("boom") }); err == nil {
		t.Fatal("want the load's error")
	}
	if c.Len() != 0 {
		t.Fatal("an error was cached")
	}
}

// A load that races with an invalidation must not be kept.
func TestCacheLoadRacingInvalidation(t *testing.T) {
	c := NewCache[string, int](0, 0)
	v, _ := c.Get("k", func() (int, error) {
		c.Invalidate(func(string) bool { return true }) // the change lands mid-load
		return 1, nil
	})
	if v != 1 {
		t.Fatalf("Get = %d, want the loaded value", v)
	}
	if c.Len() != 0 {
		t.Fatal("a value loaded across an invalidation was kept")
	}
}

func TestCacheMaxAgeAndLimit(t *testing.T) {
	c := NewCache[int, int](time.Minute, 2)
	now := time.Unix(0, 0)
	c.now = func() time.Time { return now }
	n := 0
	load := func() (int, error) { n++; return n, nil }
	c.Get(1, load)
	now = now.Add(2 * time.Minute)
	if v, _ := c.Get(1, load); v != 2 {
		t.Fatalf("entry older than maxAge was served")
	}
	c.Get(2, load)
	c.Get(3, load)
	if c.Len() > 2 {
		t.Fatalf("cache holds %d entries, limit 2", c.Len())
	}
}
