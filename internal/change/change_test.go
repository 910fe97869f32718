package change

import (
	"testing"

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
