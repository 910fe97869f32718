package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// benchDomain is the --domain of the servers the tool starts: a domain
// without a port matches any port, so team hosts are <team>.bench.test
// whatever port the server got.
const benchDomain = "bench.test"

// buildGatehouse builds ./cmd/gatehouse of the module the tool runs in
// into dir and returns the binary's path.
func buildGatehouse(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find the module: go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("find the module: run the tool inside the Gatehouse module (or give -gatehouse BINARY)")
	}
	bin := filepath.Join(dir, "gatehouse")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/gatehouse")
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/gatehouse: %w\n%s", err, out)
	}
	return bin, nil
}

// gatehouse runs the gatehouse binary on one database: its CLI and its
// server.
type gatehouse struct {
	bin        string
	dir        string // where logs go
	dataDir    string // SQLite, or
	dbURL      string // PostgreSQL
	masterKey  string // GATEHOUSE_MASTER_KEY, if any
	gomaxprocs int
	logLevel   string
	logs       int // servers started, to name their logs
}

func (g *gatehouse) env() []string {
	env := childEnv(g.gomaxprocs)
	if g.masterKey != "" {
		env = append(env, "GATEHOUSE_MASTER_KEY="+g.masterKey)
	}
	return env
}

func (g *gatehouse) storeArgs() []string {
	if g.dbURL != "" {
		return []string{"--database-url", g.dbURL}
	}
	return []string{"--data-dir", g.dataDir}
}

// cli runs a gatehouse command with stdin and returns its stdout.
func (g *gatehouse) cli(ctx context.Context, stdin string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, g.bin, append(args, g.storeArgs()...)...)
	cmd.Env = g.env()
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("gatehouse %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// cliJSON runs a gatehouse command with --json and decodes its output.
func (g *gatehouse) cliJSON(ctx context.Context, v any, stdin string, args ...string) error {
	out, err := g.cli(ctx, stdin, append(args, "--json")...)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(out, v); err != nil {
		return fmt.Errorf("gatehouse %s: output is not the JSON expected: %w", strings.Join(args, " "), err)
	}
	return nil
}

// server is a running gatehouse serve.
type server struct {
	cmd     *exec.Cmd
	addr    string
	logPath string
	startup time.Duration // process start to the first /readyz 200
	done    chan struct{} // closed when the process has exited
	waitErr error
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// serve starts gatehouse serve on a free loopback port with extra flags
// and waits until /readyz answers 200.
func (g *gatehouse) serve(ctx context.Context, extra ...string) (*server, error) {
	g.logs++
	logPath := filepath.Join(g.dir, fmt.Sprintf("server-%d.log", g.logs))
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child holds its own descriptor
	// A port chosen here rather than read from the "serving" log line,
	// which --server-log-level warn leaves out.
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := append([]string{"serve", "--listen", addr, "--domain", benchDomain, "--scheme", "http",
		"--log-format", "json", "--log-level", g.logLevel, "--lame-duck", "0"}, g.storeArgs()...)
	if g.dbURL != "" {
		// Nodes on one PostgreSQL: each needs an audit spool of its own.
		args = append(args, "--audit-spool-dir", filepath.Join(g.dir, fmt.Sprintf("audit-spool-%d", g.logs)))
	}
	cmd := exec.Command(g.bin, append(args, extra...)...)
	cmd.Env = g.env()
	cmd.Stdout, cmd.Stderr = logf, logf
	setParentDeath(cmd)
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start gatehouse serve: %w", err)
	}
	s := &server{cmd: cmd, logPath: logPath, addr: addr, done: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.done)
	}()
	fail := func(err error) (*server, error) {
		s.stop()
		return nil, fmt.Errorf("%w\n%s", err, tail(logPath, 20))
	}

	deadline := time.Now().Add(5 * time.Minute) // migrations of a large database included
	ready := []byte("GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: gatehouse-bench/1\r\nConnection: close\r\n\r\n")
	for {
		if status, _, err := do(ctx, s.addr, ready); err == nil && status == 200 {
			s.startup = time.Since(t0)
			return s, nil
		}
		if err := s.wait(ctx, deadline); err != nil {
			return fail(fmt.Errorf("gatehouse serve at %s is not ready: %w", s.addr, err))
		}
	}
}

// wait sleeps a moment, or fails if the server exited, ctx ended or the
// deadline passed.
func (s *server) wait(ctx context.Context, deadline time.Time) error {
	select {
	case <-s.done:
		return fmt.Errorf("it exited: %v", s.waitErr)
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(2 * time.Millisecond):
	}
	if time.Now().After(deadline) {
		return errors.New("timed out")
	}
	return nil
}

// freeAddr is a loopback address with a port free at the moment.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// stop ends the server as an operator would, with SIGTERM, so that it
// drains and flushes; it is killed if it has not stopped within 30 s.
func (s *server) stop() error {
	if s == nil {
		return nil
	}
	select {
	case <-s.done:
		return nil
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		var ee *exec.ExitError
		if errors.As(s.waitErr, &ee) {
			return fmt.Errorf("gatehouse serve: %w\n%s", s.waitErr, tail(s.logPath, 10))
		}
		return nil
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
		return errors.New("gatehouse serve did not stop within 30s of SIGTERM: killed")
	}
}

// tail returns the last n lines of a file, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "log " + path + ":\n  " + strings.Join(lines, "\n  ")
}
