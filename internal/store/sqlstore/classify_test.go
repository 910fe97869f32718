package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gatehouse/gatehouse/internal/pgtest"
	"github.com/gatehouse/gatehouse/internal/poll"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Which errors mean that the database cannot answer, and what the error
// says the cause is.
func TestClassify(t *testing.T) {
	q := &queries{d: postgresDialect{}, lim: newLimits()}
	opErr := func(err error) error {
		return fmt.Errorf("list teams: %w", &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", err)})
	}
	pg := func(code string) error {
		return fmt.Errorf("begin: %w", &pgconn.PgError{Severity: "FATAL", Code: code})
	}
	tests := []struct {
		name  string
		err   error
		cause string // "": not ErrUnavailable
	}{
		{"refused", opErr(syscall.ECONNREFUSED), "connection refused"},
		{"reset", opErr(syscall.ECONNRESET), "connection reset"},
		{"broken pipe", opErr(syscall.EPIPE), "connection lost"},
		{"unexpected EOF", fmt.Errorf("x: %w", io.ErrUnexpectedEOF), "connection lost"},
		{"unreachable", opErr(syscall.EHOSTUNREACH), "network unreachable"},
		{"dns", &net.DNSError{Name: "db.invalid", Err: "no such host"}, "cannot resolve db.invalid"},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), "no answer within 750ms"},
		{"admin shutdown", pg("57P01"), "the server is shutting down"},
		{"crash shutdown", pg("57P02"), "the server crashed"},
		{"cannot connect now", pg("57P03"), "the server is starting or stopping"},
		{"read-only", pg("25006"), "the database is read-only"},
		{"disk full", pg("53100"), "disk full"},
		{"too many connections", pg("53300"), "too many connections"},
		{"connection exception", pg("08006"), "connection failure"},
		{"io error", pg("58030"), "server I/O error"},
		{"unique violation", pg("23505"), ""},
		{"syntax error", pg("42601"), ""},
		{"not found", fmt.Errorf("team x: %w", store.ErrNotFound), ""},
		{"conflict", fmt.Errorf("use code: %w", store.ErrConflict), ""},
		{"other", errors.New("something else"), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := q.fault(context.Background(), false, DefaultTimeout, tc.err)
			if tc.cause == "" {
				if got != tc.err {
					t.Errorf("fault(%v) = %v, want it unchanged", tc.err, got)
				}
				return
			}
			if !errors.Is(got, store.ErrUnavailable) || !errors.Is(got, tc.err) {
				t.Fatalf("fault(%v) = %v, want ErrUnavailable wrapping it", tc.err, got)
			}
			if want := "database unavailable (" + tc.cause + "): " + tc.err.Error(); got.Error() != want {
				t.Errorf("fault(%v) says %q, want %q", tc.err, got, want)
			}
		})
	}
	t.Run("caller cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := fmt.Errorf("x: %w", context.Canceled)
		if got := q.fault(ctx, true, DefaultTimeout, err); got != err {
			t.Errorf("fault of a cancelled caller = %v, want %v unchanged", got, err)
		}
	})
}

// A PostgreSQL server that ends the store's connection (as on shutdown)
// makes the call that finds out ErrUnavailable, naming the cause; the pool
// then connects again.
func TestAdminShutdown(t *testing.T) {
	url := pgtest.URL(t)
	s, err := OpenPostgres(context.Background(), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.SetTimeout(10 * time.Second) // the transaction below waits for the termination
	ctx := context.Background()
	if err := s.CreateTeam(ctx, store.Team{Name: "alpha"}); err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	others := `FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`
	err = s.Tx(ctx, func(q store.Queries) error {
		if _, err := q.Team(ctx, "alpha"); err != nil {
			t.Fatalf("Team before the termination: %v", err)
		}
		if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend(pid) `+others); err != nil {
			t.Fatal(err)
		}
		poll.Must(t, 5*time.Second, "the store's connection to end", func() bool {
			var n int
			err := admin.QueryRow(ctx, `SELECT count(*) `+others).Scan(&n)
			return err == nil && n == 0
		})
		_, err := q.Team(ctx, "alpha")
		return err
	})
	if !errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), "(the server is shutting down)") {
		t.Errorf("Team on a terminated connection: %v, want ErrUnavailable naming the shutdown", err)
	}
	if _, err := s.Team(ctx, "alpha"); err != nil {
		t.Errorf("Team once more: %v", err)
	}
}
