package main

import (
	"strings"
	"testing"
	"time"
)

// samples makes a sample a second for n seconds at 1,000 requests a
// second, with rss and audit rows given per second.
func samples(n int, rss, rows func(sec int) int64) []soakSample {
	var out []soakSample
	for i := 0; i <= n; i++ {
		out = append(out, soakSample{Seconds: float64(i), Requests: int64(i) * 1000, RSS: rss(i), Goroutines: 40, OpenFiles: 30,
			DBBytes: 10e6, Rows: map[string]int64{"audit_events": rows(i)}})
	}
	return out
}

func TestSoakVerdicts(t *testing.T) {
	flat := func(int) int64 { return 40e6 }
	leak := func(s int) int64 { return 40e6 + int64(s)*200e3 } // 200 kB a second
	// The purge's sawtooth: rows climb for 6 s, then drop back.
	sawtooth := func(s int) int64 { return 50_000 + int64(s%6)*1000 }
	unbounded := func(s int) int64 { return int64(s) * 700 }
	for _, tc := range []struct {
		name      string
		samples   []soakSample
		settle    time.Duration
		rss, rows string // verdict prefixes
	}{
		{"steady", samples(120, flat, sawtooth), 72 * time.Second, "flat", "bounded"},
		{"leak and no purge", samples(120, leak, unbounded), 72 * time.Second, "grows", "grows"},
		{"too short to judge rows", samples(60, flat, unbounded), 72 * time.Second, "flat", "n/a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := map[string]string{}
			for _, v := range soakVerdicts(tc.samples, tc.settle) {
				got[v.Metric] = v.Verdict
			}
			if !strings.HasPrefix(got["RSS"], tc.rss) || !strings.HasPrefix(got["rows audit_events"], tc.rows) {
				t.Errorf("verdicts %v, want RSS %s and audit rows %s", got, tc.rss, tc.rows)
			}
			if got["goroutines"] != "flat" || got["open files"] != "flat" {
				t.Errorf("constant goroutines and open files: %v", got)
			}
		})
	}
}

func TestAccessToken(t *testing.T) {
	for body, want := range map[string]string{
		`{"access_token":"eyJ.a.b","scope":"x","token_type":"Bearer"}`: "eyJ.a.b",
		`{"error":"invalid_client"}`:                                   "",
		`{"access_token":"unterminated`:                                "",
	} {
		if got := accessToken([]byte(body)); got != want {
			t.Errorf("accessToken(%s) = %q, want %q", body, got, want)
		}
	}
}

// A few 503 temporarily_unavailable answers are the server keeping its
// bounds and do not fail the soak; more than maxShed of a kind do, and so
// does any other unexpected answer.
func TestSoakProblems(t *testing.T) {
	for _, tc := range []struct {
		name string
		kind soakKindRow
		want int
	}{
		{"clean", soakKindRow{Kind: "token-cc", Requests: 10_000}, 0},
		{"a few shed", soakKindRow{Kind: "token-cc", Requests: 10_000, Shed: 100}, 0},
		{"too many shed", soakKindRow{Kind: "token-cc", Requests: 10_000, Shed: 101}, 1},
		{"one unexpected", soakKindRow{Kind: "token-cc", Requests: 10_000, Unexpected: 1, FirstBad: "500: boom"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := soakReport{Kinds: []soakKindRow{tc.kind}}
			if got := r.problems(); len(got) != tc.want {
				t.Errorf("problems = %q, want %d", got, tc.want)
			}
		})
	}
}
