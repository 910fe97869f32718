// Package e2e tests the gatehouse binary as operators run it: built once,
// started as a process, driven with its own CLI and plain HTTP.
package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/pgtest"
	"github.com/gatehouse/gatehouse/internal/poll"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gatehouse-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "gatehouse")
	build := exec.Command("go", "build", "-o", binary, "../../cmd/gatehouse")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build gatehouse:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// freePort returns a loopback port nobody listens on.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// cleanEnv is the environment without any GATEHOUSE_ setting of the
// developer's, plus extra.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GATEHOUSE_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// node is a running gatehouse serve.
type node struct {
	cmd    *exec.Cmd
	port   int
	mu     sync.Mutex
	stdout strings.Builder
	stderr strings.Builder
	done   chan error
}

func (n *node) output() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stdout.String()
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// start runs gatehouse serve with args on a free port.
func start(t *testing.T, env []string, args ...string) *node {
	t.Helper()
	return startIn(t, "", env, freePort(t), args...)
}

// get requests path on host (Host header) from the node.
func (n *node) get(host, path string) (int, map[string]any, error) {
	req, err := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d%s", n.port, path), nil)
	if err != nil {
		return 0, nil, err
	}
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var body map[string]any
	json.Unmarshal(b, &body)
	return resp.StatusCode, body, nil
}

// cli runs a gatehouse command and returns its stdout.
func cli(t *testing.T, env []string, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("gatehouse %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// serve --dev answers the dev team's healthz within 2 s of start, and
// prints the admin's credentials once.
func TestDevServerStarts(t *testing.T) {
	dataDir := t.TempDir()
	env := cleanEnv()
	began := time.Now()
	n := start(t, env, "--dev", "--data-dir", dataDir)
	host := fmt.Sprintf("acme.localhost:%d", n.port)
	if _, ok := poll.Until(2*time.Second-time.Since(began), func() bool {
		code, _, err := n.get(host, "/healthz")
		return err == nil && code == 200
	}); !ok {
		t.Fatalf("http://%s/healthz did not answer 200 within 2 s of start", host)
	}
	if _, ok := poll.Until(2*time.Second, func() bool { return strings.Contains(n.output(), "password: ") }); !ok {
		t.Fatalf("--dev printed no password: %q", n.output())
	}
	for _, want := range []string{"email:    admin@acme.example", "http://" + host + "/healthz"} {
		if !strings.Contains(n.output(), want) {
			t.Errorf("--dev output lacks %q:\n%s", want, n.output())
		}
	}
	if code, body, _ := n.get(host, "/readyz"); code != 200 || body["status"] != "ready" {
		t.Errorf("readyz = %d %v", code, body)
	}
	if code, body, _ := n.get(fmt.Sprintf("nope.localhost:%d", n.port), "/anything"); code != 404 || body["error"] != "unknown_team" {
		t.Errorf("unknown team host = %d %v, want 404 unknown_team", code, body)
	}

	// SIGTERM drains and exits cleanly.
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-n.done:
		if err != nil {
			t.Fatalf("serve exited with %v after SIGTERM", err)
		}
		n.done <- nil
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop within 10 s of SIGTERM")
	}

	// A second --dev start on the same data directory changes nothing.
	n2 := start(t, env, "--dev", "--data-dir", dataDir)
	poll.Until(5*time.Second, func() bool {
		code, _, err := n2.get(fmt.Sprintf("acme.localhost:%d", n2.port), "/healthz")
		return err == nil && code == 200
	})
	if strings.Contains(n2.output(), "password") {
		t.Fatalf("--dev bootstrapped an installation that had a team:\n%s", n2.output())
	}
	var teams []map[string]any
	json.Unmarshal([]byte(cli(t, env, "", "admin", "team", "list", "--json", "--data-dir", dataDir)), &teams)
	if len(teams) != 1 {
		t.Fatalf("teams after two --dev starts: %v", teams)
	}
}

// --dev never touches a data directory that already has a team.
func TestDevLeavesExistingInstallationAlone(t *testing.T) {
	dataDir := t.TempDir()
	env := cleanEnv()
	cli(t, env, "", "migrate", "--data-dir", dataDir)
	cli(t, env, "", "admin", "team", "create", "prod", "--data-dir", dataDir)
	n := start(t, env, "--dev", "--data-dir", dataDir)
	if _, ok := poll.Until(5*time.Second, func() bool {
		code, _, err := n.get(fmt.Sprintf("prod.localhost:%d", n.port), "/healthz")
		return err == nil && code == 200
	}); !ok {
		t.Fatal("server did not start")
	}
	if code, _, _ := n.get(fmt.Sprintf("acme.localhost:%d", n.port), "/x"); code != 404 {
		t.Fatalf("acme exists on an installation that had a team")
	}
	if strings.Contains(n.output(), "password") {
		t.Fatalf("--dev printed credentials:\n%s", n.output())
	}
}

// teamServed tells whether the node, on --domain example.test, serves
// team (its unknown paths answer not_found, not unknown_team).
func teamServed(n *node, team string) bool {
	_, body, err := n.get(team+".example.test", "/no-such-path")
	return err == nil && body["error"] == "not_found"
}

// A change made with the CLI while servers run reaches every one of them
// within 1 s: SQLite (one node), and PostgreSQL (two nodes).
func TestCLIChangeReachesServersWithin1s(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		dataDir := t.TempDir()
		env := cleanEnv("GATEHOUSE_DATA_DIR="+dataDir, "GATEHOUSE_SCHEME=http", "GATEHOUSE_DOMAIN=example.test")
		cli(t, env, "", "migrate")
		n := start(t, env)
		checkPropagation(t, env, n)
	})
	t.Run("postgres", func(t *testing.T) {
		key := "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
		env := cleanEnv("GATEHOUSE_DATABASE_URL="+pgtest.URL(t), "GATEHOUSE_MASTER_KEY="+key, "GATEHOUSE_SCHEME=http", "GATEHOUSE_DOMAIN=example.test")
		cli(t, env, "", "migrate")
		n1 := start(t, env)
		n2 := start(t, env)
		checkPropagation(t, env, n1, n2)
	})
}

func checkPropagation(t *testing.T, env []string, nodes ...*node) {
	t.Helper()
	ready := func(n *node) bool { code, _, err := n.get("localhost", "/readyz"); return err == nil && code == 200 }
	for _, n := range nodes {
		if _, ok := poll.Until(10*time.Second, func() bool { return ready(n) }); !ok {
			t.Fatal("server not ready")
		}
	}
	for _, step := range []struct {
		args   []string
		served bool
	}{
		{[]string{"admin", "team", "create", "beta"}, true},
		{[]string{"admin", "team", "delete", "beta"}, false},
	} {
		// Warm the caches with the current answer first.
		for _, n := range nodes {
			if teamServed(n, "beta") == step.served {
				t.Fatalf("before %v the node already answers as after it", step.args)
			}
		}
		cli(t, env, "", step.args...)
		for i, n := range nodes {
			took, ok := poll.Until(time.Second, func() bool { return teamServed(n, "beta") == step.served })
			if !ok {
				t.Fatalf("node %d: %v not seen within 1 s", i, step.args)
			}
			t.Logf("node %d saw %v after %v", i, step.args, took)
		}
	}
}
