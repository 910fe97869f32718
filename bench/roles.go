package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// The helper servers run as child processes of the tool's own binary, so
// that each is measured as Gatehouse is: a process of its own, with its own
// Go runtime, CPU time and GOMAXPROCS, not sharing the load generator's.
//
// A child is the binary run with roleEnv set. It listens on a free
// loopback port, prints "listening <addr>" on stdout, and serves until its
// stdin closes (the tool ended, however it ended) or it gets SIGTERM.

const (
	roleEnv = "GATEHOUSE_BENCH_ROLE"

	roleUpstream  = "upstream"  // the trivial upstream API of the gateway scenarios
	roleProxy     = "proxy"     // proxy-noauth: a bare httputil.ReverseProxy to the upstream
	roleReference = "reference" // the reference token server

	// Settings of the children, in their environment.
	envUpstream        = "GATEHOUSE_BENCH_UPSTREAM"          // proxy: the upstream URL
	envRefClientID     = "GATEHOUSE_BENCH_REF_CLIENT_ID"     // reference: the client
	envRefClientSecret = "GATEHOUSE_BENCH_REF_CLIENT_SECRET" // reference: its secret
	envRefDomain       = "GATEHOUSE_BENCH_REF_DOMAIN"        // reference: the domain of the issuer
)

// runRole runs the child named role and returns its exit code.
func runRole(role string, stdin io.Reader, stdout, stderr io.Writer) int {
	var h http.Handler
	switch role {
	case roleUpstream:
		h = upstreamHandler()
	case roleProxy:
		u, err := url.Parse(os.Getenv(envUpstream))
		if err != nil || u.Host == "" {
			fmt.Fprintf(stderr, "bench %s: %s: want the upstream URL\n", role, envUpstream)
			return 2
		}
		h = bareProxy(u)
	case roleReference:
		ref, err := newReference(os.Getenv(envRefClientID), os.Getenv(envRefClientSecret), os.Getenv(envRefDomain))
		if err != nil {
			fmt.Fprintf(stderr, "bench %s: %v\n", role, err)
			return 2
		}
		h = ref
	default:
		fmt.Fprintf(stderr, "bench: unknown %s %q\n", roleEnv, role)
		return 2
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(stderr, "bench %s: %v\n", role, err)
		return 1
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 2 * time.Minute}
	fmt.Fprintf(stdout, "listening %s\n", ln.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		io.Copy(io.Discard, stdin) // returns when the tool's end of the pipe closes
		stop()
	}()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		return 0
	case err := <-errc:
		fmt.Fprintf(stderr, "bench %s: %v\n", role, err)
		return 1
	}
}

// upstreamBody is the upstream's answer to every request.
var upstreamBody = []byte(`{"ok":true}` + "\n")

// upstreamHandler is the trivial upstream API: it answers every request
// with a small JSON document of known length.
func upstreamHandler() http.Handler {
	length := fmt.Sprint(len(upstreamBody))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		h := w.Header()
		h["Content-Type"] = []string{"application/json"}
		h["Content-Length"] = []string{length}
		w.Write(upstreamBody)
	})
}

// bareProxy is proxy-noauth: httputil.ReverseProxy with nothing but the
// rewrite to the upstream, on a transport that keeps as many idle
// connections per upstream as the gateway's does (the default transport's
// two would make it open and close connections under load, which is not
// the proxy's cost).
func bareProxy(upstream *url.URL) http.Handler {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upstream)
			pr.SetXForwarded()
		},
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}
}

// child is a running helper server.
type child struct {
	role  string
	addr  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// startChild starts the helper server role from the tool's own binary,
// with extra environment, and waits for its address.
func startChild(ctx context.Context, role string, gomaxprocs int, extra ...string) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", role, err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(childEnv(gomaxprocs), roleEnv+"="+role)
	cmd.Env = append(cmd.Env, extra...)
	cmd.Stderr = os.Stderr
	setParentDeath(cmd)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", role, err)
	}
	c := &child{role: role, cmd: cmd, stdin: stdin}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		io.Copy(io.Discard, stdout)
	}()
	select {
	case line, ok := <-lines:
		addr, found := strings.CutPrefix(line, "listening ")
		if !ok || !found {
			c.stop()
			return nil, fmt.Errorf("start %s: it did not say where it listens (%q)", role, line)
		}
		c.addr = addr
		return c, nil
	case <-time.After(30 * time.Second):
		c.stop()
		return nil, fmt.Errorf("start %s: no address within 30s", role)
	case <-ctx.Done():
		c.stop()
		return nil, ctx.Err()
	}
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// stop ends the child: closing its stdin asks it to stop; it is killed if
// it has not within 10 s.
func (c *child) stop() error {
	if c == nil {
		return nil
	}
	c.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("%s: %w", c.role, err)
		}
		return nil
	case <-time.After(10 * time.Second):
		c.cmd.Process.Kill()
		<-done
		return fmt.Errorf("%s did not stop within 10s: killed", c.role)
	}
}

// childEnv is the environment of the tool's child processes: the tool's,
// without GATEHOUSE_* settings (which would change what is measured),
// with GOMAXPROCS when -gomaxprocs sets it.
func childEnv(gomaxprocs int) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GATEHOUSE_") || gomaxprocs > 0 && strings.HasPrefix(kv, "GOMAXPROCS=") {
			continue
		}
		env = append(env, kv)
	}
	if gomaxprocs > 0 {
		env = append(env, fmt.Sprintf("GOMAXPROCS=%d", gomaxprocs))
	}
	return env
}
