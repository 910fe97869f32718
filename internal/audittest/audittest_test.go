package audittest

import (
	"errors"
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

func TestTrail(t *testing.T) {
	var tr Trail
	if err := tr.Add(store.AuditEvent{Action: "a"}); err != nil {
		t.Fatal(err)
	}
	tr.SetFail(true)
	if err := tr.Add(store.AuditEvent{Action: "b"}); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Add while failing = %v, want ErrUnavailable", err)
	}
	tr.SetFail(false)
	tr.Add(store.AuditEvent{Action: "c"})
	if got := tr.Actions(); !slices.Equal(got, []string{"a", "c"}) {
		t.Fatalf("Actions = %v, want [a c]", got)
	}
	if got := tr.Take(); len(got) != 2 || len(tr.Events()) != 0 {
		t.Fatalf("Take = %v, then Events = %v", got, tr.Events())
	}
}
