package sqlstore

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// records keeps the messages logged through it, and the lines with their
// attributes.
type records struct {
	mu    sync.Mutex
	msgs  []string
	lines []string
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, rec.Level.String()+" "+rec.Message)
	line := rec.Level.String() + " " + rec.Message
	rec.Attrs(func(a slog.Attr) bool {
		line += " " + a.String()
		return true
	})
	r.lines = append(r.lines, line)
	return nil
}
func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *records) WithGroup(string) slog.Handler      { return r }

// String is every line logged, with attributes.
func (r *records) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}

func (r *records) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...)
}

// A failing loop warns at its first failure, then at most once a minute,
// and says when it works again after a warning.
func TestFaultLog(t *testing.T) {
	const (
		warn = "WARN change listener cannot reach the database; retrying"
		info = "INFO change listener reaches the database again"
	)
	tests := []struct {
		name   string
		events []time.Duration // when each failure happens; a negative one is a recovery at -d
		want   []string
	}{
		{"one failure", []time.Duration{0, -time.Second}, []string{warn, info}},
		{"failures within a minute", []time.Duration{0, time.Second, 30 * time.Second, 59 * time.Second}, []string{warn}},
		{"failures for three minutes", []time.Duration{0, 20 * time.Second, 60 * time.Second, 90 * time.Second, 120 * time.Second, 150 * time.Second, 181 * time.Second},
			[]string{warn, warn, warn, warn}},
		{"flapping: one warning a minute", []time.Duration{0, -time.Second, 2 * time.Second, 3 * time.Second, -4 * time.Second, 5 * time.Second, -6 * time.Second},
			[]string{warn, info}},
		{"a new run after a minute warns again", []time.Duration{0, -time.Second, 61 * time.Second, -62 * time.Second},
			[]string{warn, info, warn, info}},
		{"recovery without a failure logs nothing", []time.Duration{-time.Second}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var now time.Time
			start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			r := &records{}
			f := &faultLog{log: slog.New(r), what: "change listener", now: func() time.Time { return now }}
			for _, e := range tc.events {
				if e < 0 {
					now = start.Add(-e)
					f.recovered()
				} else {
					now = start.Add(e)
					f.failed(errors.New("connection refused"))
				}
			}
			got := r.all()
			if len(got) != len(tc.want) {
				t.Fatalf("logged %q, want %q", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("line %d: %q, want %q", i, got[i], tc.want[i])
				}
			}
		})
	}
}
