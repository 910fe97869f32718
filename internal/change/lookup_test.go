package change

import (
	"errors"
	"testing"
	"time"
)

func TestLookup(t *testing.T) {
	l := NewLookup[string, int](time.Hour, 100, time.Minute, 3)
	now := time.Unix(0, 0)
	l.now = func() time.Time { return now }
	loads := 0
	db := map[string]int{"a": 1}
	load := func(k string) func() (int, bool, error) {
		return func() (int, bool, error) { loads++; v, ok := db[k]; return v, ok, nil }
	}
	for range 3 {
		if v, ok, err := l.Get("a", load("a")); v != 1 || !ok || err != nil {
			t.Fatalf("Get(a) = %v %v %v", v, ok, err)
		}
		if _, ok, _ := l.Get("x", load("x")); ok {
			t.Fatal("x found")
		}
	}
	if loads != 2 {
		t.Fatalf("%d loads, want 2: found and absent answers are both cached", loads)
	}

	// Made-up ids fill the absent side, never evicting what exists.
	for _, k := range []string{"g1", "g2", "g3", "g4", "g5"} {
		l.Get(k, load(k))
	}
	before := loads
	l.Get("a", load("a"))
	if loads != before {
		t.Fatal("a flood of absent ids evicted a found record")
	}

	// Absence ages out; an invalidation drops both sides.
	db["x"] = 7
	now = now.Add(2 * time.Minute)
	if v, ok, _ := l.Get("x", load("x")); !ok || v != 7 {
		t.Fatalf("absent answer outlived its age: %v %v", v, ok)
	}
	db["a"] = 2
	l.Invalidate(func(k string) bool { return k == "a" })
	if v, _, _ := l.Get("a", load("a")); v != 2 {
		t.Fatalf("invalidated record served: %v", v)
	}

	// Errors are not cached; a load racing an invalidation is not kept.
	if _, _, err := l.Get("e", func() (int, bool, error) { return 0, false, errors.New("boom") }); err == nil {
		t.Fatal("want the load's error")
	}
	v, ok, _ := l.Get("r", func() (int, bool, error) {
		l.Invalidate(func(string) bool { return true })
		return 5, true, nil
	})
	if v != 5 || !ok {
		t.Fatal("racing load not returned")
	}
	if _, ok, _ := l.Get("r", func() (int, bool, error) { return 0, false, nil }); ok {
		t.Fatal("a load across an invalidation was kept")
	}
}
