package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/pgtest"
)

// TestMain lets the test binary play the tool's helper servers, which the
// tool starts from its own executable.
func TestMain(m *testing.M) {
	if role := os.Getenv(roleEnv); role != "" {
		os.Exit(runRole(role, os.Stdin, os.Stdout, os.Stderr))
	}
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

// gatehouseBin builds the server once for the tests of this package.
func gatehouseBin(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "gatehouse-bench-test-*")
		if binErr == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			binPath, binErr = buildGatehouse(ctx, binDir)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// smoke runs the tool in-process with args and returns its JSON report;
// it fails the test unless the tool exits 0 (no scenario failed or saw
// an error).
func smoke(t *testing.T, args ...string) report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	args = append([]string{"-json", "-gatehouse", gatehouseBin(t)}, args...)
	if code := run(ctx, args, &stdout, &stderr); code != 0 {
		t.Fatalf("bench %s: exit %d\n%s\n%s", strings.Join(args, " "), code, stderr.String(), stdout.String())
	}
	var rep report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, stdout.String())
	}
	return rep
}

// TestSmoke runs every scenario and the ceilings briefly. It asserts only
// that the tool completes without errors: figures from a loaded test
// machine mean nothing.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	rep := smoke(t, "-c", "2", "-d", "100ms", "-warmup", "50ms", "-rounds", "2", "-retries", "0", "-baseline")
	seen := map[string]string{}
	for _, r := range rep.Rows {
		seen[r.Scenario] = r.Status
		if !r.ok() && !strings.HasPrefix(r.Status, "unavailable:") {
			t.Errorf("%s: %s", r.Scenario, r.Status)
		}
		if strings.HasPrefix(r.Status, "unavailable:") {
			t.Logf("%s: %s", r.Scenario, r.Status)
		}
	}
	for _, name := range append([]string{scReference, scReferenceMultipart}, allScenarios...) {
		if _, ok := seen[name]; !ok {
			t.Errorf("no row for %s", name)
		}
	}
	// Everything but refresh is built already and must run.
	for name, status := range seen {
		if name != scRefresh && status != "ok" {
			t.Errorf("%s: %s", name, status)
		}
	}
	if rep.Crypto == nil || rep.Crypto.SignPerSec <= 0 || rep.Crypto.VerifyPerSec <= 0 {
		t.Errorf("no ES384 ceiling: %+v", rep.Crypto)
	}
}

// TestSmokeScale runs the scale scenario on a small scale, on SQLite and
// on PostgreSQL.
func TestSmokeScale(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	args := []string{"-scale", "-scale-sizes", "20,60", "-scale-active", "10", "-scale-batch", "25",
		"-c", "2", "-d", "200ms", "-warmup", "50ms", "-retries", "0"}
	check := func(t *testing.T, rep report, backend string) {
		if len(rep.Rows) != 0 {
			t.Errorf("--scale alone ran scenarios: %+v", rep.Rows)
		}
		if len(rep.Scale) != 2 {
			t.Fatalf("scale rows: %+v", rep.Scale)
		}
		for _, s := range rep.Scale {
			if s.Backend != backend || s.Active != 10 || len(s.Rows) != 2 || s.Startup <= 0 {
				t.Errorf("scale row: %+v", s)
			}
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		check(t, smoke(t, args...), "sqlite")
	})
	t.Run("postgres", func(t *testing.T) {
		url := pgtest.URL(t) // skipped, with the reason, without PostgreSQL unless CI=true
		check(t, smoke(t, append(args, "-database-url", url)...), "postgres")
	})
}

// TestSmokeSoak runs the soak for a few seconds. Verdicts from seconds on
// a loaded test machine mean nothing, so the exit status is not asserted:
// only that every kind of the mix got the answers it expects, that the
// samples were read, and that the audit log grew.
func TestSmokeSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	args := []string{"-json", "-gatehouse", gatehouseBin(t), "-soak", "3s", "-soak-sample", "1s", "-c", "3"}
	code := run(ctx, args, &stdout, &stderr)
	var rep report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil || rep.Soak == nil {
		t.Fatalf("bench %s: exit %d, no soak report (%v)\n%s\n%s", strings.Join(args, " "), code, err, stderr.String(), stdout.String())
	}
	s := rep.Soak
	if len(rep.Rows) != 0 {
		t.Errorf("--soak alone ran scenarios: %+v", rep.Rows)
	}
	if s.Transport != 0 {
		t.Errorf("%d transport errors (first: %s)", s.Transport, s.FirstErr)
	}
	kinds := map[string]bool{}
	for _, k := range s.Kinds {
		kinds[k.Kind] = true
		if k.Requests == 0 || k.Unexpected != 0 {
			t.Errorf("%s: %d requests, %d unexpected (first: %s)", k.Kind, k.Requests, k.Unexpected, k.FirstBad)
		}
	}
	if len(kinds) != 9 {
		t.Errorf("kinds of the mix: %v, want 9", kinds)
	}
	if len(s.Samples) < 4 {
		t.Fatalf("%d samples, want one at the start, one a second and one at the end", len(s.Samples))
	}
	last := s.Samples[len(s.Samples)-1]
	if last.RSS <= 0 || last.Goroutines <= 0 || last.OpenFiles <= 0 || last.DBBytes <= 0 || last.Rows["audit_events"] <= s.Samples[0].Rows["audit_events"] {
		t.Errorf("last sample %+v: want every figure read and the audit log grown", last)
	}
	if len(s.Verdicts) == 0 {
		t.Error("no verdicts")
	}
}
