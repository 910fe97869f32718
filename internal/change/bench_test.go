package change

import (
	"strconv"
	"testing"
	"time"
)

// BenchmarkCacheGetHit is the hot path: a Get of a key the cache holds
// fresh, with a maximum age (so the clock is read), from parallel callers.
func BenchmarkCacheGetHit(b *testing.B) {
	c := New[string, int](Options[string]{MaxAge: time.Hour, AbsentLimit: 10})
	keys := make([]string, 64)
	for i := range keys {
		keys[i] = "key" + strconv.Itoa(i)
		c.Get(keys[i], present(i))
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, ok, err := c.Get(keys[i%len(keys)], nil); !ok || err != nil {
				b.Fatal("miss")
			}
			i++
		}
	})
}
