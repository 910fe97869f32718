package masterkey_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/masterkey"
)

func TestLoadFromEnv(t *testing.T) {
	key := rawKey(0x42)
	std := base64.StdEncoding.EncodeToString(key)
	tests := []struct {
		name     string
		env      string
		required bool
		wantErr  string
	}{
		{"valid", std, false, ""},
		{"valid, required", std, true, ""},
		{"valid with newline", std + "\n", true, ""},
		{"16 bytes", base64.StdEncoding.EncodeToString(key[:16]), true, "decodes to 16 bytes, want 32"},
		{"31 bytes", base64.StdEncoding.EncodeToString(key[:31]), false, "decodes to 31 bytes, want 32"},
		{"33 bytes", base64.StdEncoding.EncodeToString(append(key, 1)), false, "decodes to 33 bytes, want 32"},
		{"not base64", "correct horse battery staple", true, "not standard base64"},
		{"unpadded", base64.RawStdEncoding.EncodeToString(key), false, "not standard base64"},
		{"only space", "   ", false, "decodes to 0 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			k, err := masterkey.Load(tt.env, dir, tt.required)
			if _, statErr := os.Stat(dir); !errors.Is(statErr, fs.ErrNotExist) {
				t.Fatalf("Load with %s set touched the data directory (%v)", masterkey.EnvVar, statErr)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if !bytes.Equal(k.Raw(), key) {
					t.Fatalf("Load = %x, want %x", k.Raw(), key)
				}
				return
			}
			if err == nil {
				t.Fatal("Load: no error")
			}
			for _, want := range []string{"load master key: ", masterkey.EnvVar, tt.wantErr} {
				if !strings.Contains(err.Error(), want) {
					t.Fatalf("error %q lacks %q", err, want)
				}
			}
			if s := strings.TrimSpace(tt.env); len(s) > 4 && strings.Contains(err.Error(), s) {
				t.Fatalf("error %q quotes the variable's value", err)
			}
		})
	}
}

func TestLoadEnvWinsOverFile(t *testing.T) {
	dir := t.TempDir()
	fromFile, err := masterkey.Load("", dir, false)
	if err != nil {
		t.Fatal(err)
	}
	env := base64.StdEncoding.EncodeToString(rawKey(9))
	k, err := masterkey.Load(env, dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k.Raw(), rawKey(9)) || bytes.Equal(k.Raw(), fromFile.Raw()) {
		t.Fatal("the file's key was used although the variable was set")
	}
}

func TestLoadRequiredWithoutEnv(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	_, err := masterkey.Load("", dir, true)
	if !errors.Is(err, masterkey.ErrRequired) {
		t.Fatalf("Load error = %v, want %v", err, masterkey.ErrRequired)
	}
	for _, want := range []string{masterkey.EnvVar, "--database-url", "same key", "openssl rand -base64 32", "head -c32 /dev/urandom | base64"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("required mode created the data directory (%v)", err)
	}
}

func TestLoadNoDataDir(t *testing.T) {
	if _, err := masterkey.Load("", "", false); err == nil {
		t.Fatal("Load with no variable and no data directory: no error")
	}
}

func TestLoadGeneratesFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	dir := filepath.Join(t.TempDir(), "nested", "data")
	k, err := masterkey.Load("", dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Raw()) != masterkey.Size || bytes.Equal(k.Raw(), make([]byte, masterkey.Size)) {
		t.Fatalf("generated key %x", k.Raw())
	}

	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := di.Mode().Perm(); got != 0o700 {
		t.Errorf("data directory mode %#o, want 0700", got)
	}
	path := filepath.Join(dir, masterkey.FileName)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("key file mode %#o, want 0600", got)
	}
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := base64.StdEncoding.EncodeToString(k.Raw()) + "\n"; string(text) != want {
		t.Errorf("key file holds %q, want %q", text, want)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("data directory holds %d entries, want only %s (temporary file left?)", len(entries), masterkey.FileName)
	}

	// The same key, every time, and from the file as an operator would write it.
	for range 3 {
		again, err := masterkey.Load("", dir, false)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again.Raw(), k.Raw()) {
			t.Fatal("second Load returned another key")
		}
	}
	sealed, err := k.Seal([]byte("x"), []byte("acme/kid"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := masterkey.Load("", dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := again.Open(sealed, []byte("acme/kid")); err != nil {
		t.Fatalf("a reloaded key does not open what the first sealed: %v", err)
	}
}

func TestLoadExistingDirectoryKeepsItsMode(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if _, err := masterkey.Load("", dir, false); err != nil {
		t.Fatal(err)
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := di.Mode().Perm(); got != 0o750 {
		t.Fatalf("Load changed an existing directory's mode to %#o", got)
	}
}

func TestLoadOperatorFile(t *testing.T) {
	key := rawKey(0x33)
	std := base64.StdEncoding.EncodeToString(key)
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		wantErr string
	}{
		{"0600", std + "\n", 0o600, ""},
		{"0400", std + "\n", 0o400, ""},
		{"no newline", std, 0o600, ""},
		{"crlf", std + "\r\n", 0o600, ""},
		{"0644", std, 0o644, "wider than 0600"},
		{"0640", std, 0o640, "wider than 0600"},
		{"0604", std, 0o604, "wider than 0600"},
		{"0660", std, 0o660, "wider than 0600"},
		{"0666", std, 0o666, "wider than 0600"},
		{"0700", std, 0o700, "wider than 0600"},
		{"0602", std, 0o602, "wider than 0600"},
		{"empty", "", 0o600, "decodes to 0 bytes"},
		{"short key", base64.StdEncoding.EncodeToString(key[:16]), 0o600, "decodes to 16 bytes"},
		{"not base64", "not a key at all", 0o600, "not standard base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if runtime.GOOS == "windows" {
				t.Skip("no Unix permissions")
			}
			dir := t.TempDir()
			path := filepath.Join(dir, masterkey.FileName)
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil { // Chmod ignores the umask
				t.Fatal(err)
			}
			k, err := masterkey.Load("", dir, false)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if !bytes.Equal(k.Raw(), key) {
					t.Fatalf("Load = %x, want %x", k.Raw(), key)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), path) {
				t.Fatalf("Load error = %v, want one naming %s and containing %q", err, path, tt.wantErr)
			}
			if strings.Contains(tt.wantErr, "0600") && !strings.Contains(err.Error(), "chmod 600") {
				t.Fatalf("error %q does not say how to fix it", err)
			}
			if len(tt.content) > 4 && strings.Contains(err.Error(), tt.content) {
				t.Fatalf("error %q quotes the file's content", err)
			}
			// A refused file is left alone, never replaced.
			if got, _ := os.ReadFile(path); string(got) != tt.content {
				t.Fatalf("Load changed the refused file to %q", got)
			}
		})
	}
}

func TestLoadRefusesNonRegularFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, masterkey.FileName), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := masterkey.Load("", dir, false); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("Load error = %v, want one saying it is not a regular file", err)
	}
}

func TestLoadUnwritableDataDir(t *testing.T) {
	parent := t.TempDir()
	file := filepath.Join(parent, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// A data directory below a regular file can be neither read nor created.
	if _, err := masterkey.Load("", filepath.Join(file, "data"), false); err == nil {
		t.Fatal("Load under a regular file: no error")
	}
}

func TestLoadConcurrent(t *testing.T) {
	for round := range 20 {
		dir := filepath.Join(t.TempDir(), "data")
		const n = 16
		keys := make([]masterkey.Key, n)
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				keys[i], errs[i] = masterkey.Load("", dir, false)
			})
		}
		close(start)
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("round %d, Load %d: %v", round, i, errs[i])
			}
			if !bytes.Equal(keys[i].Raw(), keys[0].Raw()) {
				t.Fatalf("round %d: Load %d returned another key than Load 0", round, i)
			}
		}
		final, err := masterkey.Load("", dir, false)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(final.Raw(), keys[0].Raw()) {
			t.Fatalf("round %d: the file holds another key than the concurrent Loads returned", round)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 {
			t.Fatalf("round %d: data directory holds %d entries, want 1", round, len(entries))
		}
	}
}

// LoadExisting reads a key that is there and makes none that is not.
func TestLoadExisting(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	_, err := masterkey.LoadExisting("", dir, false)
	if !errors.Is(err, masterkey.ErrNoKeyFile) || !strings.Contains(err.Error(), filepath.Join(dir, masterkey.FileName)) {
		t.Fatalf("LoadExisting without a key = %v, want ErrNoKeyFile naming the file", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("LoadExisting created the data directory (%v)", err)
	}
	made, err := masterkey.Load("", dir, false)
	if err != nil {
		t.Fatal(err)
	}
	got, err := masterkey.LoadExisting("", dir, false)
	if err != nil || !bytes.Equal(got.Raw(), made.Raw()) {
		t.Fatalf("LoadExisting = %x, %v; want the key Load made", got.Raw(), err)
	}
	if _, err := masterkey.LoadExisting("", dir, true); !errors.Is(err, masterkey.ErrRequired) {
		t.Errorf("LoadExisting required without env = %v, want ErrRequired", err)
	}
}
