package storetest

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

func testHealth(t *testing.T, s store.Store) {
	t.Run("Ping", func(t *testing.T) {
		must(t, "Ping", s.Ping(t.Context()))
	})
	t.Run("Probe", func(t *testing.T) {
		// The probe rewrites one row: it succeeds every time, on an empty
		// store and on one with records.
		must(t, "Probe", s.Probe(t.Context()))
		createFixture(t, s, newFixture("probed", false))
		must(t, "Probe again", s.Probe(t.Context()))
		must(t, "Check after probes", s.Check(t.Context()))
	})
	t.Run("Check", func(t *testing.T) {
		must(t, "Check of an empty store", s.Check(t.Context()))
		createFixture(t, s, newFixture("alpha", true))
		must(t, "DeleteTeam", s.DeleteTeam(t.Context(), "alpha"))
		createFixture(t, s, newFixture("beta", false))
		must(t, "Check", s.Check(t.Context()))
	})
	t.Run("Dialect", func(t *testing.T) {
		if d := s.Dialect(); d == "" {
			t.Errorf("Dialect() = \"\", want the backend's name")
		}
	})
}

// testClose closes the store: Close succeeds and the store is no longer
// usable. open's own cleanup may close it again.
func testClose(t *testing.T, s store.Store) {
	must(t, "Ping", s.Ping(t.Context()))
	must(t, "Close", s.Close())
	if err := s.Ping(t.Context()); err == nil {
		t.Errorf("Ping after Close: no error")
	}
	if err := s.Probe(t.Context()); err == nil {
		t.Errorf("Probe after Close: no error")
	}
}
