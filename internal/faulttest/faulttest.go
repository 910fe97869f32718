// Package faulttest makes real faults for tests: a process to which file
// permissions apply (tests run as root, to whom they do not), a small file
// system of its own, filled to the last byte.
package faulttest

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/required"
)

// childEnv marks the process AsNobody starts.
const childEnv = "GATEHOUSE_FAULTTEST_CHILD"

// Nobody is the user and group AsNobody runs a test as.
const Nobody = 65534

// AsNobody tells whether the calling test is to go on in this process:
// true when the process is not root, so that making a file read-only keeps
// the process from writing it. In a root process it runs the test again
// in a child process as Nobody, with a temporary directory Nobody owns,
// and returns false once the child has passed; a failure of the child
// fails tb with the child's output, and a skip skips it. Use it first:
//
//	if !faulttest.AsNobody(t) {
//		return // the test ran as nobody in a child process
//	}
func AsNobody(t *testing.T) bool {
	t.Helper()
	if os.Geteuid() != 0 {
		return true
	}
	if os.Getenv(childEnv) != "" {
		t.Fatal("faulttest: the child process runs as root")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// A directory Nobody can reach: the test's own are 0700.
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, filepath.Base(exe))
	if err := copyFile(exe, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(tmp, Nobody, Nobody); err != nil {
		t.Fatal(err)
	}
	var run []string
	for _, part := range strings.Split(t.Name(), "/") {
		run = append(run, "^"+regexp.QuoteMeta(part)+"$")
	}
	args := []string{"-test.run=" + strings.Join(run, "/"), "-test.count=1", "-test.v"}
	if d, ok := t.Deadline(); ok {
		args = append(args, "-test.timeout="+time.Until(d).Round(time.Second).String())
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), childEnv+"=1", "TMPDIR="+tmp, "HOME="+tmp)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: Nobody, Gid: Nobody}}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		mustOrSkip(t, "start a child process as nobody (uid %d): %v", Nobody, err)
	}
	if err != nil {
		t.Fatalf("as nobody (uid %d) in a child process: %v\n%s", Nobody, err, out)
	}
	m := regexp.MustCompile(`(?m)^\s*--- (PASS|SKIP|FAIL): ` + regexp.QuoteMeta(t.Name()) + ` \(`).FindSubmatch(out)
	switch {
	case m == nil:
		t.Fatalf("as nobody in a child process: the test did not run:\n%s", out)
	case string(m[1]) == "SKIP":
		t.Skipf("as nobody in a child process, skipped:\n%s", out)
	case string(m[1]) == "FAIL":
		t.Fatalf("as nobody in a child process:\n%s", out)
	}
	if testing.Verbose() {
		t.Logf("passed as nobody (uid %d) in a child process:\n%s", Nobody, out)
	} else {
		t.Logf("passed as nobody (uid %d) in a child process", Nobody)
	}
	return false
}

func copyFile(from, to string, mode os.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// mustOrSkip fails tb under CI=true, where every fault test must run, and
// skips it elsewhere, saying why.
func mustOrSkip(tb testing.TB, format string, args ...any) {
	tb.Helper()
	required.Missing(tb, "%s (fault tests need root)", fmt.Sprintf(format, args...))
}
