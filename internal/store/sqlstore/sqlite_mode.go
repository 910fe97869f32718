package sqlstore

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"runtime"
)

// sqliteFiles are the database file and the files SQLite keeps beside it,
// which hold the same data: the write-ahead log, its index, and the
// rollback journal SQLite uses before it switches to WAL.
func sqliteFiles(path string) []string {
	return []string{path, path + "-wal", path + "-shm", path + "-journal"}
}

// tightenModes makes each of the database's files that exists readable
// and writable by its owner only: they hold password hashes, keyed hashes
// of every secret and the audit log. A file made by an older release, a
// restored backup or another tool may be wider (0644 in a 0755
// directory); SQLite makes the -wal and -shm files with the database
// file's mode, and reuses those it finds. Each file changed is logged. A
// file whose mode cannot be changed (not this user's) is an error that
// names it, as a master key file readable by others is.
func tightenModes(path string, log *slog.Logger) error {
	if runtime.GOOS == "windows" {
		return nil // no Unix permission bits; Go reports 0666 or 0444
	}
	for _, name := range sqliteFiles(path) {
		fi, err := os.Stat(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("check the mode of %s: %w", name, err)
		}
		perm := fi.Mode().Perm()
		if !fi.Mode().IsRegular() || perm&^0o600 == 0 {
			continue
		}
		if err := os.Chmod(name, perm&0o600); err != nil {
			return fmt.Errorf("%s has mode %#o, so others may read it, and its mode cannot be set to 0600 (run `chmod 600 %s` as its owner): %w",
				name, perm, name, err)
		}
		log.Warn("database file was open to others: its mode is now 0600", "file", name, "was", fmt.Sprintf("%#o", perm))
	}
	return nil
}
