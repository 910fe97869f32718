package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/poll"
)

// The README's walk-through, as a newcomer follows it: every code block
// marked "<!-- walkthrough -->" is run in order, verbatim, against a real
// `gatehouse serve --dev` on SQLite in a temporary directory. In a block,
// a line "$ command" (continued by a final "\") is a command, run by bash
// in the directory the server was started from, with `gatehouse` on the
// PATH; the lines after it are what it prints, checked loosely (see
// checkOutput). What differs from a newcomer's terminal:
//
//   - "go run ./cmd/gatehouse serve --dev" starts the built binary, on a
//     free port instead of 8080; "localhost:8080" in commands becomes
//     "localhost:<that port>", and curl resolves acme.localhost to
//     127.0.0.1 (--resolve) as a newcomer's curl does by itself;
//   - "$ export NAME=<key> ..." sets NAME to the value of key in the JSON
//     the previous command printed, which the README asks the reader to
//     copy.
func TestReadmeWalkthrough(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	steps := walkthrough(t, string(readme))

	// Guard against a walk-through that lost its steps: these are what a
	// newcomer must be able to do from zero.
	var all strings.Builder
	for _, s := range steps {
		all.WriteString(s.cmd + "\n")
	}
	for _, want := range []string{
		"go run ./cmd/gatehouse serve --dev", "curl http://acme.localhost:8080/healthz",
		"gatehouse admin client create", "--principal client:$CLIENT_ID --action read --resource audit-log",
		"/oauth2/token", "/api/team/audit-log", "gatehouse admin user create", "gatehouse admin group add-member",
		"--principal group:", "gatehouse admin key create --team acme --user", "Authorization: Bearer $USER_API_KEY",
		"gatehouse admin app create", "gatehouse admin key create --team acme --app", "Authorization: AppKey $APP_KEY",
		"gatehouse admin static-keys policy", "gatehouse admin static-keys migrate", "Authorization: Bearer $TOKEN",
		"gatehouse admin --url http://acme.localhost:8080 client create",
	} {
		if !strings.Contains(all.String(), want) {
			t.Errorf("the README's walk-through has no step with %q", want)
		}
	}

	realCurl, err := exec.LookPath("curl")
	if err != nil {
		t.Fatal("the README's walk-through uses curl:", err)
	}
	dir := t.TempDir()
	binDir := filepath.Join(dir, "bin")
	work := filepath.Join(dir, "work")
	for _, d := range []string{binDir, work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(binary, filepath.Join(binDir, "gatehouse")); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	curl := fmt.Sprintf("#!/bin/sh\nexec %q --silent --show-error --resolve acme.localhost:%d:127.0.0.1 \"$@\"\n", realCurl, port)
	if err := os.WriteFile(filepath.Join(binDir, "curl"), []byte(curl), 0o755); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range cleanEnv() {
		if !strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	env = append(env, "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"))

	var (
		served bool
		vars   []string
		last   string // what the previous command printed
	)
	for _, s := range steps {
		where := fmt.Sprintf("README.md:%d: %s", s.line, s.cmd)
		switch {
		case strings.HasPrefix(s.cmd, "go run ./cmd/gatehouse serve --dev"):
			extra := strings.Fields(strings.TrimPrefix(s.cmd, "go run ./cmd/gatehouse serve --dev"))
			n := startIn(t, work, env, port, append([]string{"--dev"}, extra...)...)
			if _, ok := poll.Until(10*time.Second, func() bool {
				code, _, err := n.get(fmt.Sprintf("acme.localhost:%d", port), "/healthz")
				return err == nil && code == 200
			}); !ok {
				t.Fatalf("%s: the server did not answer within 10 s", where)
			}
			served = true
			continue
		case exportRE.MatchString(s.cmd):
			set, err := exported(s.cmd, last)
			if err != nil {
				t.Fatalf("%s: %v; the previous command printed:\n%s", where, err, last)
			}
			vars = append(vars, set...)
			continue
		case !served:
			t.Fatalf("%s: a walk-through command before the server is started", where)
		}
		// A change made with the CLI reaches the server within a second
		// (README: "Every admin change ..."): a request right after one is
		// tried again until then, as a person typing would not notice.
		var out, errOut string
		var checkErr error
		try := func() bool {
			var err error
			out, errOut, err = run(s.cmd, port, work, append(append([]string{}, env...), vars...))
			if err != nil {
				t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", where, err, out, errOut)
			}
			checkErr = checkOutput(s.want, out)
			return checkErr == nil
		}
		if strings.HasPrefix(s.cmd, "curl ") {
			poll.Until(2*time.Second, try)
		} else {
			try() // a command that changes something runs once
		}
		last = out
		if checkErr != nil {
			t.Fatalf("%s: %v\nit printed:\n%s\nstderr:\n%s", where, checkErr, out, errOut)
		}
	}
}

// run runs a walk-through command with bash, its URLs on port.
func run(command string, port int, dir string, env []string) (stdout, stderr string, err error) {
	cmd := exec.Command("bash", "-c", strings.ReplaceAll(command, "localhost:8080", fmt.Sprintf("localhost:%d", port)))
	cmd.Dir = dir
	cmd.Env = env
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// startIn starts gatehouse serve in dir, listening on port, without a
// lame-duck period on SIGTERM unless args set one.
func startIn(t *testing.T, dir string, env []string, port int, args ...string) *node {
	t.Helper()
	n := &node{port: port, done: make(chan error, 1)}
	if dir == "" && !namesDataDir(env, args) {
		// Nodes on PostgreSQL without a data directory: each its own
		// audit spool, not ./gatehouse-data in the source tree.
		args = append(args, "--audit-spool-dir", t.TempDir())
	}
	n.cmd = exec.Command(binary, append([]string{"serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--lame-duck", "0"}, args...)...)
	n.cmd.Dir = dir
	n.cmd.Env = env
	n.cmd.Stdout = lockedWriter{&n.mu, &n.stdout}
	n.cmd.Stderr = lockedWriter{&n.mu, &n.stderr}
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { n.done <- n.cmd.Wait() }()
	t.Cleanup(func() {
		n.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.done:
		case <-time.After(10 * time.Second):
			n.cmd.Process.Kill()
		}
		if t.Failed() {
			n.mu.Lock()
			t.Logf("server stdout:\n%s\nserver stderr:\n%s", n.stdout.String(), n.stderr.String())
			n.mu.Unlock()
		}
	})
	return n
}

// namesDataDir tells whether env or args choose the data directory or the
// audit spool's.
func namesDataDir(env, args []string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, "GATEHOUSE_DATA_DIR=") || strings.HasPrefix(kv, "GATEHOUSE_AUDIT_SPOOL_DIR=") {
			return true
		}
	}
	for _, a := range args {
		if strings.HasPrefix(a, "--data-dir") || strings.HasPrefix(a, "--audit-spool-dir") {
			return true
		}
	}
	return false
}

// step is one command of the walk-through and the lines shown after it.
type step struct {
	line int
	cmd  string
	want []string
}

var fenceRE = regexp.MustCompile("^\\s*```")

// walkthrough returns the steps of the README's marked blocks, fenced or
// indented by four spaces.
func walkthrough(t *testing.T, readme string) []step {
	t.Helper()
	lines := strings.Split(readme, "\n")
	var steps []step
	blocks := 0
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "<!-- walkthrough -->" {
			continue
		}
		blocks++
		j := i + 1
		for j < len(lines) && strings.TrimSpace(lines[j]) == "" {
			j++
		}
		var body []string
		start := j
		switch {
		case j < len(lines) && fenceRE.MatchString(lines[j]):
			indent := len(lines[j]) - len(strings.TrimLeft(lines[j], " "))
			start = j + 1
			for j++; j < len(lines) && !fenceRE.MatchString(lines[j]); j++ {
				body = append(body, strings.TrimPrefix(lines[j], strings.Repeat(" ", indent)))
			}
		case j < len(lines) && strings.HasPrefix(lines[j], "    "):
			for ; j < len(lines) && (strings.HasPrefix(lines[j], "    ") || strings.TrimSpace(lines[j]) == ""); j++ {
				body = append(body, strings.TrimPrefix(lines[j], "    "))
			}
		default:
			t.Fatalf("README.md:%d: <!-- walkthrough --> is not followed by a code block", i+1)
		}
		var cur *step
		for k := 0; k < len(body); k++ {
			l := body[k]
			if cmd, ok := strings.CutPrefix(l, "$ "); ok {
				steps = append(steps, step{line: start + k + 1, cmd: cmd})
				cur = &steps[len(steps)-1]
				for strings.HasSuffix(cur.cmd, "\\") && k+1 < len(body) {
					k++
					cur.cmd += "\n" + body[k]
				}
				continue
			}
			if strings.TrimSpace(l) == "" {
				continue
			}
			if cur == nil {
				t.Fatalf("README.md:%d: walk-through output %q before any command", start+k+1, l)
			}
			cur.want = append(cur.want, strings.TrimSpace(l))
		}
	}
	if blocks < 5 || len(steps) < 20 {
		t.Fatalf("README.md has %d walk-through blocks with %d commands; it lost its walk-through", blocks, len(steps))
	}
	return steps
}

var (
	exportRE = regexp.MustCompile(`^export( [A-Z_]+=<[a-z_]+>)+$`)
	statusRE = regexp.MustCompile(`^HTTP/[0-9.]+ (\d{3})\b`)
	headerRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9-]*): (.*)$`)
)

// exported reads "export A=<key> B=<key2>" as variables set from the JSON
// object out.
func exported(cmd, out string) ([]string, error) {
	var obj map[string]any
	if err := json.Unmarshal([]byte(out), &obj); err != nil {
		return nil, fmt.Errorf("the previous command printed no JSON object: %v", err)
	}
	var vars []string
	for _, f := range strings.Fields(strings.TrimPrefix(cmd, "export ")) {
		name, key, _ := strings.Cut(f, "=")
		key = strings.Trim(key, "<>")
		v, ok := obj[key].(string)
		if !ok || v == "" {
			return nil, fmt.Errorf("no string %q in the previous command's JSON", key)
		}
		vars = append(vars, name+"="+v)
	}
	return vars, nil
}

// checkOutput checks what a command printed against the lines the README
// shows after it, loosely: "…" stands for anything.
//
//   - "HTTP/1.1 200 OK": the response's status code (curl -i);
//   - "Name: value" after a status line: the response has that header;
//   - a line starting with { or [: the JSON printed (the body, after the
//     headers with curl -i) has every key shown, with the values shown
//     ("eyJ…" a string starting "eyJ", […] any array);
//   - anything else: a line printed matches it.
func checkOutput(want []string, out string) error {
	head, body := "", out
	if statusRE.MatchString(out) {
		h, b, _ := strings.Cut(strings.ReplaceAll(out, "\r\n", "\n"), "\n\n")
		head, body = h, b
	}
	for _, w := range want {
		switch {
		case statusRE.MatchString(w):
			got := statusRE.FindStringSubmatch(head)
			if got == nil || got[1] != statusRE.FindStringSubmatch(w)[1] {
				return fmt.Errorf("want status %q", w)
			}
		case head != "" && headerRE.MatchString(w):
			m := headerRE.FindStringSubmatch(w)
			re := pattern(m[1] + ": " + m[2])
			found := false
			for _, l := range strings.Split(head, "\n") {
				if re.MatchString(strings.TrimSpace(l)) {
					found = true
				}
			}
			if !found {
				return fmt.Errorf("want the header %q", w)
			}
		case strings.HasPrefix(w, "{") || strings.HasPrefix(w, "["):
			var wantJSON, got any
			if err := json.Unmarshal([]byte(strings.ReplaceAll(w, "[…]", `"`+anyArray+`"`)), &wantJSON); err != nil {
				return fmt.Errorf("the README's expected JSON %s: %v", w, err)
			}
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				return fmt.Errorf("want JSON like %s, got none: %v", w, err)
			}
			if err := matchJSON("", wantJSON, got); err != nil {
				return fmt.Errorf("want JSON like %s: %v", w, err)
			}
		default:
			re := pattern(w)
			found := false
			for _, l := range strings.Split(out, "\n") {
				if re.MatchString(strings.TrimSpace(l)) {
					found = true
				}
			}
			if !found {
				return fmt.Errorf("want a line like %q", w)
			}
		}
	}
	return nil
}

const anyArray = "<any array>"

// pattern is a whole-line regular expression of s with "…" for anything.
func pattern(s string) *regexp.Regexp {
	parts := strings.Split(s, "…")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile("(?i:^" + strings.Join(parts, ".*") + "$)")
}

func matchJSON(path string, want, got any) error {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: got %v, want an object", path, got)
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				return fmt.Errorf("%s.%s: missing", path, k)
			}
			if err := matchJSON(path+"."+k, wv, gv); err != nil {
				return err
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) < len(w) {
			return fmt.Errorf("%s: got %v, want an array of at least %d", path, got, len(w))
		}
		for i := range w {
			if err := matchJSON(path+"["+strconv.Itoa(i)+"]", w[i], g[i]); err != nil {
				return err
			}
		}
	case string:
		if w == anyArray {
			if _, ok := got.([]any); !ok {
				return fmt.Errorf("%s: got %v, want an array", path, got)
			}
			return nil
		}
		g, ok := got.(string)
		if !ok || !pattern(w).MatchString(g) {
			return fmt.Errorf("%s: got %v, want %q", path, got, w)
		}
	default:
		if fmt.Sprint(want) != fmt.Sprint(got) {
			return fmt.Errorf("%s: got %v, want %v", path, got, want)
		}
	}
	return nil
}
