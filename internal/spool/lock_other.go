//go:build !unix

package spool

import "os"

// lock opens the lock file; without flock, one process per spool
// directory is the operator's to ensure.
func lock(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
}

func unlock(f *os.File) {
	if f != nil {
		f.Close()
	}
}

// syncDir is a no-op where directories cannot be fsync'd.
func syncDir(string) error { return nil }
