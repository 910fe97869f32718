package sqlstore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/faulttest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// wantFault checks that err is a store.ErrUnavailable whose message says
// every one of want.
func wantFault(t *testing.T, what string, err error, want ...string) {
	t.Helper()
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("%s = %v, want an error wrapping store.ErrUnavailable", what, err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s = %q, want it to say %q", what, err, w)
		}
	}
}

func chmod(t *testing.T, mode os.FileMode, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := os.Chmod(n, mode); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
}

// A database whose files the process may not write: the probe, and any
// write, fail with store.ErrUnavailable naming the file and the cause,
// reads go on, and once the permissions are back the same *DB writes
// again, without being reopened. SQLite opens a file it may not write
// read-only without an error, whether it was so when the store was opened
// or became so later.
func TestSQLiteReadOnly(t *testing.T) {
	if !faulttest.AsNobody(t) {
		return
	}
	for _, tc := range []struct {
		name string
		// dir makes the directory read-only too.
		dir bool
		// fromStart makes the files read-only before the store is opened.
		fromStart bool
	}{
		{"file and directory made read-only while open", true, false},
		{"file made read-only while open", false, false},
		{"file read-only when opened", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := filepath.Join(t.TempDir(), "data")
			path := filepath.Join(dir, "gatehouse.db")
			db, err := OpenSQLite(ctx, path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.CreateTeam(ctx, store.Team{Name: "alpha", CreatedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
			files := []string{path, path + "-wal", path + "-shm"}
			readOnly := func() {
				chmod(t, 0o444, files...)
				if tc.dir {
					chmod(t, 0o555, dir)
				}
			}
			// SQLite makes the -wal and -shm files with the database
			// file's permissions: an operator fixes all three.
			writable := func() { chmod(t, 0o700, dir); chmod(t, 0o600, files...) }
			t.Cleanup(writable)
			if tc.fromStart {
				db.Close()
				readOnly()
				if db, err = OpenSQLite(ctx, path, nil); err != nil {
					t.Fatalf("open a read-only database with a current schema: %v", err)
				}
			} else {
				readOnly()
			}
			defer db.Close()

			wantFault(t, "Probe", db.Probe(ctx), path+" is read-only", "not writable")
			wantFault(t, "CreateTeam", db.CreateTeam(ctx, store.Team{Name: "beta", CreatedAt: time.Now()}), path+" is read-only")
			if _, err := db.Team(ctx, "alpha"); err != nil {
				t.Errorf("a read of a read-only database: %v", err)
			}

			writable()
			if err := db.Probe(ctx); err != nil {
				t.Fatalf("Probe once the files are writable again: %v", err)
			}
			if err := db.CreateTeam(ctx, store.Team{Name: "beta", CreatedAt: time.Now()}); err != nil {
				t.Fatalf("CreateTeam once the files are writable again: %v", err)
			}
			// Every connection of the pool writes: none opened read-only
			// was kept.
			for i := range 20 {
				if err := db.LockTeam(ctx, "alpha"); err != nil {
					t.Fatalf("write %d after the fix: %v", i, err)
				}
			}
		})
	}
}

// A database that cannot be opened says where and why: a new one in a
// directory the process may not write, an existing one whose directory is
// read-only (SQLite cannot make its write-ahead log there).
func TestSQLiteCannotOpen(t *testing.T) {
	if !faulttest.AsNobody(t) {
		return
	}
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "gatehouse.db")
	chmod(t, 0o555, dir)
	t.Cleanup(func() { chmod(t, 0o700, dir) })
	_, err := OpenSQLite(ctx, path, nil)
	wantFault(t, "OpenSQLite in a read-only directory", err, "database "+path+" cannot be created", dir+" is not writable")

	chmod(t, 0o700, dir)
	db, err := OpenSQLite(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	chmod(t, 0o555, dir)
	_, err = OpenSQLite(ctx, path, nil)
	wantFault(t, "OpenSQLite of a database in a read-only directory", err, "database "+path+" is read-only", dir+" is not writable")
}

// A full file system: the probe says so even while SQLite still has room
// in its write-ahead log, a write that needs space fails with
// store.ErrUnavailable, and once space is freed the same *DB writes again.
func TestSQLiteDiskFull(t *testing.T) {
	ctx := context.Background()
	dir := faulttest.Tmpfs(t, 8<<20)
	path := filepath.Join(dir, "gatehouse.db")
	db, err := OpenSQLite(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.CreateTeam(ctx, store.Team{Name: "alpha", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	// An empty write-ahead log, so that the next write needs new space.
	if _, err := db.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	free := faulttest.Fill(t, dir)

	wantFault(t, "Probe", db.Probe(ctx), "database "+path+": disk full", "0 bytes free")
	wantFault(t, "CreateTeam", db.CreateTeam(ctx, store.Team{Name: "beta", CreatedAt: time.Now()}), "database "+path+": disk full")
	if _, err := db.Team(ctx, "alpha"); err != nil {
		t.Errorf("a read on a full disk: %v", err)
	}

	free()
	if err := db.Probe(ctx); err != nil {
		t.Fatalf("Probe once space is free: %v", err)
	}
	if err := db.CreateTeam(ctx, store.Team{Name: "beta", CreatedAt: time.Now()}); err != nil {
		t.Fatalf("CreateTeam once space is free: %v", err)
	}
}
