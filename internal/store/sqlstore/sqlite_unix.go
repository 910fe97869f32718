//go:build linux || darwin

package sqlstore

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"syscall"
)

// diagnose names what keeps this process from writing the database at
// path: its directory or one of its files not writable, or on a read-only
// file system, or a file system without space. It returns "" when it
// finds nothing.
func diagnose(path string) string {
	dir := filepath.Dir(path)
	for _, name := range []string{dir, path, path + "-wal", path + "-shm"} {
		const wOK = 2 // access(2)'s W_OK
		err := syscall.Access(name, wOK)
		switch {
		case err == nil, errors.Is(err, fs.ErrNotExist):
		case errors.Is(err, syscall.EROFS):
			return fmt.Sprintf("%s is on a read-only file system", name)
		default:
			return fmt.Sprintf("%s is not writable: %v", name, err)
		}
	}
	if free, err := freeBytes(dir); err == nil && free < minFreeBytes {
		return fmt.Sprintf("%d bytes free on the file system of %s", free, dir)
	}
	return ""
}

// freeBytes is the space this process may still write on the file system
// of dir.
func freeBytes(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}
