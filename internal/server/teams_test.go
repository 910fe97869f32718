package server_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
)

// A spray of requests to made-up team hosts reads each name once and
// fills the unknown-team side of the team cache, never evicting a real
// team: a token request for the real team afterwards reads nothing from
// the store.
func TestBogusHostsDoNotEvictTeams(t *testing.T) {
	const bogus = 100_000
	e := newBenchEnv(t, false, nil)
	e.warm(t, e.urlenc)
	// Nothing but the requests may call the store from here: any method
	// the counters do not cover panics (and the middleware answers 500).
	e.store.seal()
	before := e.store.counts()
	seen := map[string]bool{}
	for i := range bogus {
		name := fmt.Sprintf("x%015x", rand.Uint64()>>4)
		seen[name] = true
		r := httptest.NewRequest(http.MethodPost, "http://"+name+".gatehouse.test/oauth2/token", nil)
		w := httptest.NewRecorder()
		e.handler.ServeHTTP(w, r)
		if w.Code != http.StatusNotFound {
			t.Fatalf("request %d to %s: status %d, want 404:\n%s", i, r.Host, w.Code, w.Body)
		}
	}
	afterFlood := e.store.counts()
	if got := afterFlood["Team"] - before["Team"]; got != len(seen) {
		t.Fatalf("%d bogus names read the store %d times, want once each", len(seen), got)
	}

	c := newBenchConn(e.handler)
	if code, err := c.roundTrip(e.urlenc); err != nil || code != http.StatusOK {
		t.Fatalf("token request after the flood: status %d, err %v:\n%s", code, err, c.w.out)
	}
	checkTokenResponse(t, c)
	if after := e.store.counts(); !benchSameCounts(afterFlood, after) {
		t.Errorf("the token request after the flood read the store:\nbefore %v\nafter  %v", afterFlood, after)
	}
}
