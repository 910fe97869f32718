package admin_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/pgtest"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// The writer side of TestCrashKeepsAcknowledgedWrites: this test binary,
// re-run with crashWriterEnv set, writes groups through the admin service
// and acknowledges each on stdout once it has committed, until killed.
const crashWriterEnv = "GATEHOUSE_CRASH_WRITER"

func crashWriter() {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, os.Getenv("CRASH_DATABASE_URL"), os.Getenv("CRASH_SQLITE_PATH"), nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	svc := &admin.Service{Store: st, Gen: secret.Generator{}}
	out := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		if _, err := svc.CreateGroup(ctx, kernel.CLI, "crash", os.Getenv("CRASH_PREFIX")+strconv.Itoa(i)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(4)
		}
		fmt.Fprintf(out, "ack %d\n", i)
		out.Flush()
	}
}

// A writer killed with SIGKILL in the middle of a stream of admin writes
// loses none that it acknowledged, and leaves a database that passes its
// integrity check.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	if os.Getenv(crashWriterEnv) != "" {
		crashWriter()
		return
	}
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "gatehouse.db")
		runCrash(t, "", path)
	})
	t.Run("postgres", func(t *testing.T) {
		runCrash(t, pgtest.URL(t), "")
	})
}

func runCrash(t *testing.T, databaseURL, sqlitePath string) {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, databaseURL, sqlitePath, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&admin.Service{Store: st}).CreateTeam(ctx, kernel.CLI, "crash"); err != nil {
		t.Fatal(err)
	}
	st.Close()

	for round := range 3 {
		prefix := fmt.Sprintf("r%d-", round)
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashKeepsAcknowledgedWrites$")
		cmd.Env = append(os.Environ(), crashWriterEnv+"=1", "CRASH_DATABASE_URL="+databaseURL, "CRASH_SQLITE_PATH="+sqlitePath, "CRASH_PREFIX="+prefix)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill after a number of acknowledgements that varies by round,
		// so the kill lands at different points of a write.
		killAt := 150 + 37*round
		acked := -1
		sc := bufio.NewScanner(stdout)
		deadline := time.After(60 * time.Second)
		for sc.Scan() {
			n, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "ack "))
			if err != nil {
				t.Fatalf("writer said %q", sc.Text())
			}
			acked = n
			if acked >= killAt {
				break
			}
			select {
			case <-deadline:
				t.Fatalf("writer too slow: %d acknowledged in 60 s", acked+1)
			default:
			}
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		// Drain what it wrote before dying: those were acknowledged too.
		for sc.Scan() {
			if n, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "ack ")); err == nil {
				acked = n
			}
		}
		cmd.Wait()
		if acked < killAt {
			t.Fatalf("writer stopped after %d acknowledgements: %s", acked+1, stderr.String())
		}

		st, err := sqlstore.Open(ctx, databaseURL, sqlitePath, nil)
		if err != nil {
			t.Fatalf("reopen after SIGKILL: %v", err)
		}
		if err := st.Check(ctx); err != nil {
			t.Fatalf("integrity check after SIGKILL: %v", err)
		}
		groups := map[string]bool{}
		p := store.Page{Limit: 1000}
		for {
			gs, next, err := st.ListGroups(ctx, "crash", p)
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range gs {
				groups[g.Name] = true
			}
			if next == "" {
				break
			}
			p.Cursor = next
		}
		audited := map[string]bool{}
		p = store.Page{Limit: 1000}
		for {
			events, next, err := st.ListAudit(ctx, "crash", store.AuditFilter{Action: "group.create"}, p)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range events {
				audited[strings.TrimPrefix(e.Target, "group:")] = true
			}
			if next == "" {
				break
			}
			p.Cursor = next
		}
		for i := 0; i <= acked; i++ {
			name := prefix + strconv.Itoa(i)
			if !groups[name] {
				t.Fatalf("round %d: acknowledged write %s lost after SIGKILL (%d acknowledged)", round, name, acked+1)
			}
		}
		// A group and its audit event are one transaction: both or neither.
		for name := range groups {
			if !audited[name] {
				t.Errorf("group %s has no audit event", name)
			}
		}
		for name := range audited {
			if !groups[name] {
				t.Errorf("audit event for group %s that does not exist", name)
			}
		}
		st.Close()
	}
}
