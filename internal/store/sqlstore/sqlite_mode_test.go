//go:build unix

package sqlstore

import (
	"bytes"
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// fileModes returns the permission bits of the database's files that exist.
func fileModes(t *testing.T, path string) map[string]fs.FileMode {
	t.Helper()
	out := map[string]fs.FileMode{}
	for _, name := range sqliteFiles(path) {
		fi, err := os.Stat(name)
		if err == nil {
			out[filepath.Base(name)] = fi.Mode().Perm()
		} else if !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	return out
}

// wantOwnerOnly checks that the database file, its -wal and its -shm
// exist and are 0600 (and any other file of the database too).
func wantOwnerOnly(t *testing.T, path string) {
	t.Helper()
	got := fileModes(t, path)
	for _, name := range []string{"gatehouse.db", "gatehouse.db-wal", "gatehouse.db-shm"} {
		if _, ok := got[name]; !ok {
			t.Errorf("%s does not exist (files: %v)", name, got)
		}
	}
	for name, m := range got {
		if m != 0o600 {
			t.Errorf("%s has mode %#o, want 0600", name, m)
		}
	}
}

// write makes the database write (a team named name), so that its -wal
// and -shm exist.
func write(t *testing.T, db *DB, name string) {
	t.Helper()
	if err := db.CreateTeam(context.Background(), store.Team{Name: name, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

// The database and its -wal and -shm files are readable by their owner
// only, whatever the directory they are in: a data
// directory that already exists (0755, as an operator's mkdir makes it), a
// database file left 0644 by an older release or a restore from a backup,
// and -wal and -shm files left 0644 by a process that opened that file
// before. Each file tightened is logged. A directory Gatehouse makes is
// 0700.
func TestSQLiteFileModes(t *testing.T) {
	ctx := context.Background()
	open := func(t *testing.T, path string, create bool) (*DB, string) {
		t.Helper()
		var logs bytes.Buffer
		db, err := openSQLite(ctx, path, slog.New(slog.NewTextHandler(&logs, nil)), create)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db, logs.String()
	}
	existingDir := func(t *testing.T) string {
		dir := filepath.Join(t.TempDir(), "data")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o755); err != nil { // whatever the umask
			t.Fatal(err)
		}
		return dir
	}

	t.Run("new database in an existing 0755 directory", func(t *testing.T) {
		path := filepath.Join(existingDir(t), "gatehouse.db")
		db, _ := open(t, path, true)
		write(t, db, "acme")
		wantOwnerOnly(t, path)
	})
	t.Run("a 0644 database file", func(t *testing.T) {
		path := filepath.Join(existingDir(t), "gatehouse.db")
		// An empty file is an empty database, as an older release made it.
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		db, logs := open(t, path, true)
		write(t, db, "acme")
		wantOwnerOnly(t, path)
		if !strings.Contains(logs, "mode is now 0600") || !strings.Contains(logs, path) || !strings.Contains(logs, "was=0644") {
			t.Errorf("the tightening was not logged:\n%s", logs)
		}
	})
	t.Run("0644 -wal and -shm of a process still running", func(t *testing.T) {
		path := filepath.Join(existingDir(t), "gatehouse.db")
		first, _ := open(t, path, true)
		write(t, first, "acme") // its -wal and -shm stay while it is open
		for _, name := range sqliteFiles(path)[:3] {
			if err := os.Chmod(name, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		second, logs := open(t, path, false) // as a CLI command opens it
		write(t, second, "beta")
		wantOwnerOnly(t, path)
		for _, name := range sqliteFiles(path)[:3] {
			if !strings.Contains(logs, "file="+name+" ") {
				t.Errorf("the tightening of %s was not logged:\n%s", name, logs)
			}
		}
	})
	t.Run("a data directory Gatehouse makes", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "new", "data")
		path := filepath.Join(dir, "gatehouse.db")
		db, logs := open(t, path, true)
		write(t, db, "acme")
		wantOwnerOnly(t, path)
		if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("data directory: %v, %v; want mode 0700", fi.Mode(), err)
		}
		if logs != "" {
			t.Errorf("a new database logged:\n%s", logs)
		}
	})
}
