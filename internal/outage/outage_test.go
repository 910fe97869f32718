package outage_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/outage"
	"github.com/gatehouse/gatehouse/internal/poll"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// Every method of store.Store that asks the database something fails
// while cut, without reaching the inner store (here none: a call that
// passed through would panic).
func TestCutFailsEveryMethod(t *testing.T) {
	o := outage.New(nil)
	o.Cut()
	v := reflect.ValueOf(o)
	iface := reflect.TypeFor[store.Store]()
	errType := reflect.TypeFor[error]()
	for i := range iface.NumMethod() {
		m := iface.Method(i)
		if m.Name == "Dialect" || m.Name == "Close" {
			continue // they ask the database nothing
		}
		t.Run(m.Name, func(t *testing.T) {
			fn := v.MethodByName(m.Name)
			args := make([]reflect.Value, fn.Type().NumIn())
			for j := range args {
				args[j] = reflect.Zero(fn.Type().In(j))
			}
			args[0] = reflect.ValueOf(context.Background())
			var out []reflect.Value
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("the call reached the inner store: %v", p)
					}
				}()
				if fn.Type().IsVariadic() {
					out = fn.CallSlice(args)
				} else {
					out = fn.Call(args)
				}
			}()
			last := out[len(out)-1]
			if last.Type() != errType {
				t.Fatalf("last result is %s, want error", last.Type())
			}
			if err, _ := last.Interface().(error); !errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("err = %v, want one wrapping store.ErrUnavailable", err)
			}
		})
	}
	if o.Refused() == 0 {
		t.Fatal("no call counted as refused")
	}
}

// Restored, calls pass; a Watch under way ends with the outage's error
// when the store is cut.
func TestRestoreAndWatch(t *testing.T) {
	ctx := context.Background()
	db, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "g.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	o := outage.New(db)
	if err := o.CreateTeam(ctx, store.Team{Name: "acme", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	watched := make(chan error, 1)
	go func() { watched <- o.Watch(ctx, func(store.Change) {}) }()
	o.Cut()
	select {
	case err := <-watched:
		if !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("Watch ended with %v, want the outage's error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Watch went on after the cut")
	}
	if _, err := o.Team(ctx, "acme"); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Team while cut: %v", err)
	}
	o.Restore()
	if tm, err := o.Team(ctx, "acme"); err != nil || tm.Name != "acme" {
		t.Fatalf("Team after Restore = %v, %v", tm, err)
	}
	// Watching again delivers changes.
	got := make(chan store.Change, 10)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go o.Watch(wctx, func(c store.Change) { got <- c })
	n := 0
	poll.Must(t, 10*time.Second, "a change delivered after the restore", func() bool {
		n++
		o.CreateTeam(ctx, store.Team{Name: fmt.Sprint("t", n), CreatedAt: time.Now()})
		select {
		case <-got:
			return true
		default:
			return false
		}
	})
}
