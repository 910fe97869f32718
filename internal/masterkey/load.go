package masterkey

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

const (
	// EnvVar names the environment variable that carries the master key.
	EnvVar = "GATEHOUSE_MASTER_KEY"
	// FileName is the master key file in the data directory.
	FileName = "master.key"
)

// ErrRequired reports that no master key was given where one must be.
var ErrRequired = errors.New(EnvVar + " is required with --database-url")

// Load returns the master key.
//
//   - If env (the value of GATEHOUSE_MASTER_KEY) is not empty, it is the
//     key, in standard base64 ([Parse]).
//   - Else, if required (PostgreSQL mode), Load fails with [ErrRequired]:
//     every node shares the database, so every node needs the same key, and
//     a key generated on one machine would not be on the others.
//   - Else the key is <dataDir>/master.key (base64 text). When the file is
//     absent, Load creates dataDir (mode 0700) and the file (mode 0600)
//     atomically: the key is written to a temporary file that is then
//     hard-linked to the final name, which fails if the name exists, so of
//     two processes starting at once one creates the key and the other reads
//     it. A key file that others than its owner may read or write, or that
//     its owner may execute (mode wider than 0600), is refused.
func Load(env, dataDir string, required bool) (Key, error) {
	return load(env, dataDir, required, true)
}

// ErrNoKeyFile reports that LoadExisting found no key: neither
// GATEHOUSE_MASTER_KEY nor <dataDir>/master.key.
var ErrNoKeyFile = errors.New("no master key")

// LoadExisting is Load for commands that only use an installation made
// before: it never creates the data directory or the key file, and fails
// with [ErrNoKeyFile], naming the file, when there is no key.
func LoadExisting(env, dataDir string, required bool) (Key, error) {
	return load(env, dataDir, required, false)
}

func load(env, dataDir string, required, create bool) (Key, error) {
	if env != "" {
		k, err := Parse(env)
		if err != nil {
			return Key{}, fmt.Errorf("load master key: %s: %w", EnvVar, err)
		}
		return k, nil
	}
	if required {
		return Key{}, fmt.Errorf("load master key: %w: every node shares the database and needs the same key "+
			"to open what another node sealed; make one with `openssl rand -base64 32` "+
			"(or `head -c32 /dev/urandom | base64`) and set it on every node", ErrRequired)
	}
	if dataDir == "" {
		return Key{}, fmt.Errorf("load master key: no %s and no data directory", EnvVar)
	}
	k, err := loadFile(dataDir, create)
	if err != nil {
		return Key{}, fmt.Errorf("load master key: %w", err)
	}
	return k, nil
}

func loadFile(dir string, create bool) (Key, error) {
	path := filepath.Join(dir, FileName)
	k, err := readFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	if !create {
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
		return Key{}, fmt.Errorf("%w at %s and no %s: the key is made with the database by \"gatehouse migrate\" or \"gatehouse serve\"; "+
			"if the database was made with %s, set it", ErrNoKeyFile, path, EnvVar, EnvVar)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Key{}, fmt.Errorf("create data directory: %w", err)
	}
	return createFile(dir, path)
}

// maxFileSize bounds what readFile reads: a key file is 45 bytes.
const maxFileSize = 1 << 10

func readFile(path string) (Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return Key{}, err // *fs.PathError names the path and the operation
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Key{}, err
	}
	if !fi.Mode().IsRegular() {
		return Key{}, fmt.Errorf("%s is not a regular file", path)
	}
	// Windows has no Unix permission bits; Go reports 0666 or 0444 there.
	if perm := fi.Mode().Perm(); perm&^0o600 != 0 && runtime.GOOS != "windows" {
		return Key{}, fmt.Errorf("%s has mode %#o, wider than 0600, so others may read the key: run `chmod 600 %s`", path, perm, path)
	}
	text, err := io.ReadAll(io.LimitReader(f, maxFileSize))
	if err != nil {
		return Key{}, fmt.Errorf("read %s: %w", path, err)
	}
	k, err := Parse(string(text))
	if err != nil {
		return Key{}, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// createFile generates a key and publishes it at path, or, if another
// process published one first, returns that one.
func createFile(dir, path string) (Key, error) {
	raw := make([]byte, Size)
	if _, err := io.ReadFull(rand.Reader, raw); err != nil {
		return Key{}, fmt.Errorf("generate: %w", err)
	}
	k, err := New(raw)
	if err != nil {
		return Key{}, err
	}

	// CreateTemp makes the file with mode 0600 and O_EXCL.
	tmp, err := os.CreateTemp(dir, "."+FileName+"-*.tmp")
	if err != nil {
		return Key{}, fmt.Errorf("create key file: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the link, this drops only the temporary name
	_, err = tmp.WriteString(base64.StdEncoding.EncodeToString(raw) + "\n")
	if err == nil {
		err = tmp.Sync() // the content is on disk before the name is
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Key{}, fmt.Errorf("write key file: %w", err)
	}

	// Link, unlike rename, fails if path exists: the first process wins and
	// readers never see a partly written file.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readFile(path)
		}
		return Key{}, fmt.Errorf("publish key file: %w", err)
	}
	syncDir(dir)
	return k, nil
}

// syncDir makes a new directory entry durable. It is best effort: some
// systems cannot sync a directory, and the key file itself is already
// synced.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}
