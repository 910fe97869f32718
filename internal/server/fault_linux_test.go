package server_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/faulttest"
	"github.com/gatehouse/gatehouse/internal/poll"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/servertest"
)

// waitReadiness asks /readyz, moving the server's clock past the write
// probe's period each time so that every answer is a fresh probe, until it
// answers status with a body that says want (and, for a 503, Retry-After).
func waitReadiness(t *testing.T, e *flowEnv, status int, want string) {
	t.Helper()
	var last string
	ok := func() bool {
		e.clock.Advance(server.ProbeInterval)
		resp, err := e.http.Get("http://127.0.0.1/readyz")
		if err != nil {
			last = err.Error()
			return false
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		last = fmt.Sprintf("%d %s", resp.StatusCode, body)
		return resp.StatusCode == status && strings.Contains(string(body), want) &&
			(status != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "")
	}
	if _, held := poll.Until(10*time.Second, ok); !held {
		t.Fatalf("/readyz: want %d saying %q, last answer %s", status, want, last)
	}
}

// consentWrite is a request that must write: the deletion of the signed-in
// user's consent through the profile API. It returns the status.
type consentWrite func() (int, string)

// withConsent signs the env's user in, gives the app a consent, and
// returns the write that deletes it.
func withConsent(t *testing.T, e *flowEnv) consentWrite {
	t.Helper()
	write, _ := withConsentAndRefresh(t, e)
	return write
}

// withConsentAndRefresh is withConsent, and also returns a refresh grant
// of the consent's refresh token (which writes its rotation) and its
// status: the OAuth endpoint's answer to a database that cannot write.
func withConsentAndRefresh(t *testing.T, e *flowEnv) (consentWrite, consentWrite) {
	t.Helper()
	b := e.signedIn(t)
	_, refresh := e.tokens(t, b, "audit.log:read")
	refreshGrant := func() (int, string) {
		req, err := http.NewRequest("POST", teamURL("acme", "/oauth2/token"),
			strings.NewReader("grant_type=refresh_token&refresh_token="+refresh))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", basic(e.app.ID, e.app.secret))
		resp, err := e.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
			t.Errorf("refresh grant: 503 without Retry-After")
		}
		return resp.StatusCode, string(body)
	}
	p := b.get(t, teamURL("acme", "/api/profile/consents"))
	var list struct {
		CSRFToken string `json:"csrf_token"`
	}
	if err := jsonUnmarshal(p.body, &list); err != nil || p.status != 200 || list.CSRFToken == "" {
		t.Fatalf("list consents: %d %s %v", p.status, p.body, err)
	}
	return func() (int, string) {
		p := b.do(t, "DELETE", teamURL("acme", "/api/profile/consents/"+e.app.ID), nil,
			map[string]string{"X-CSRF-Token": list.CSRFToken})
		return p.status, p.body
	}, refreshGrant
}

// A running server whose SQLite database becomes read-only (file, -wal,
// -shm and directory): /readyz answers 503 and names the file and the
// cause, a request that must write answers 503 (never 500), and once the
// permissions are back the same server is ready and writes again, without
// a restart. The server runs as nobody: file permissions do not bind root.
func TestReadOnlyDatabase(t *testing.T) {
	if !faulttest.AsNobody(t) {
		return // it ran as nobody in a child process
	}
	e := startFlowEnv(t)
	write, refresh := withConsentAndRefresh(t, e)
	waitReadiness(t, e, http.StatusOK, `"status":"ready"`)

	dir := filepath.Dir(e.dbPath)
	files := []string{e.dbPath, e.dbPath + "-wal", e.dbPath + "-shm"}
	chmod := func(mode os.FileMode, names ...string) {
		for _, n := range names {
			if err := os.Chmod(n, mode); err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
		}
	}
	writable := func() { chmod(0o700, dir); chmod(0o600, files...) }
	t.Cleanup(writable)
	chmod(0o444, files...)
	chmod(0o555, dir)

	waitReadiness(t, e, http.StatusServiceUnavailable, "database "+e.dbPath+" is read-only")
	if status, body := write(); status != http.StatusServiceUnavailable {
		t.Fatalf("a write to a read-only database: %d %s, want 503", status, body)
	}
	if status, body := refresh(); status != http.StatusServiceUnavailable || !strings.Contains(body, "temporarily_unavailable") {
		t.Fatalf("a refresh grant on a read-only database: %d %s, want 503 temporarily_unavailable", status, body)
	}

	writable()
	waitReadiness(t, e, http.StatusOK, `"status":"ready"`)
	if status, body := refresh(); status != http.StatusOK {
		t.Fatalf("the refresh grant once the database is writable again: %d %s, want 200", status, body)
	}
	if status, body := write(); status != http.StatusNoContent {
		t.Fatalf("the write once the database is writable again: %d %s, want 204", status, body)
	}
}

// A running server whose database's file system fills up: /readyz answers
// 503 "disk full", a request that must write answers 503, and once space
// is freed the same server is ready and writes again.
func TestDiskFull(t *testing.T) {
	dir := faulttest.Tmpfs(t, 16<<20)
	path := filepath.Join(dir, "gatehouse.db")
	e := flowEnvOn(t, servertest.Start(t, servertest.WithSQLiteFile(path)))
	write := withConsent(t, e)
	waitReadiness(t, e, http.StatusOK, `"status":"ready"`)

	// Empty the write-ahead log first, so that the next write needs new
	// space (SQLite reuses the log's space once it is checkpointed).
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	poll.Must(t, 10*time.Second, "a full checkpoint", func() bool {
		var busy, log, done int
		err := db.QueryRowContext(context.Background(), `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &log, &done)
		return err == nil && busy == 0
	})
	db.Close()
	free := faulttest.Fill(t, dir)

	waitReadiness(t, e, http.StatusServiceUnavailable, "database "+path+": disk full")
	if status, body := write(); status != http.StatusServiceUnavailable {
		t.Fatalf("a write on a full disk: %d %s, want 503", status, body)
	}

	free()
	waitReadiness(t, e, http.StatusOK, `"status":"ready"`)
	if status, body := write(); status != http.StatusNoContent {
		t.Fatalf("the write once space is free: %d %s, want 204", status, body)
	}
}
