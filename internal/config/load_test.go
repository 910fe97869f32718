package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/spf13/pflag"
)

// command is a command line under test: its flags, as Bind (and, for
// serve, BindServe) register them, and its environment.
type command struct {
	serve bool // false: an admin command, which binds only the common flags
	args  []string
	env   map[string]string
}

// load parses the command's flags and loads its configuration.
func (cmd command) load(t *testing.T) (Config, error) {
	t.Helper()
	c := Default()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	Bind(fs, &c)
	if cmd.serve {
		BindServe(fs, &c)
	}
	if err := fs.Parse(cmd.args); err != nil {
		t.Fatalf("parse %q: %v", cmd.args, err)
	}
	err := Load(fs, &c, func(name string) (string, bool) {
		v, ok := cmd.env[name]
		return v, ok
	})
	return c, err
}

// writeFile writes a file in a test directory and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// cmpDiff compares configurations, leaving out what Load records for
// ApplyDev.
func cmpDiff(want, got Config) string {
	return cmp.Diff(want, got, cmpopts.IgnoreUnexported(Config{}))
}

func TestLoadPrecedence(t *testing.T) {
	file := writeFile(t, "gatehouse.yaml", `
access-token-ttl: 20m
log-level: warn
ops-listen: 127.0.0.1:9090
scopes:
  - name: billing:read
    description: Read invoices
`)
	other := writeFile(t, "other.yaml", "access-token-ttl: 25m\n")
	empty := writeFile(t, "empty.yaml", "# nothing yet\n")

	tests := []struct {
		name string
		cmd  command
		want func(*Config)
	}{{
		name: "defaults",
		cmd:  command{serve: true},
		want: func(*Config) {},
	}, {
		name: "file over default",
		cmd:  command{serve: true, args: []string{"--config", file}},
		want: func(c *Config) {
			c.File = file
			c.AccessTokenTTL = 20 * time.Minute
			c.LogLevel = "warn"
			c.OpsListen = "127.0.0.1:9090"
			c.Scopes = []ScopeEntry{{Name: "billing:read", Description: "Read invoices"}}
		},
	}, {
		name: "env over file",
		cmd: command{serve: true, args: []string{"--config", file}, env: map[string]string{
			"GATEHOUSE_ACCESS_TOKEN_TTL": "30m",
			"GATEHOUSE_OPS_LISTEN":       "", // set, though empty: disables the listener
		}},
		want: func(c *Config) {
			c.File = file
			c.AccessTokenTTL = 30 * time.Minute
			c.LogLevel = "warn"
			c.Scopes = []ScopeEntry{{Name: "billing:read", Description: "Read invoices"}}
		},
	}, {
		name: "flag over env over file",
		cmd: command{
			serve: true,
			args:  []string{"--config", file, "--access-token-ttl", "40m"},
			env:   map[string]string{"GATEHOUSE_ACCESS_TOKEN_TTL": "30m", "GATEHOUSE_LOG_LEVEL": "debug"},
		},
		want: func(c *Config) {
			c.File = file
			c.AccessTokenTTL = 40 * time.Minute
			c.LogLevel = "debug"
			c.OpsListen = "127.0.0.1:9090"
			c.Scopes = []ScopeEntry{{Name: "billing:read", Description: "Read invoices"}}
		},
	}, {
		name: "flag set to its default still wins",
		cmd: command{
			args: []string{"--log-level=info"},
			env:  map[string]string{"GATEHOUSE_LOG_LEVEL": "debug"},
		},
		want: func(*Config) {},
	}, {
		name: "file named by GATEHOUSE_CONFIG",
		cmd:  command{env: map[string]string{"GATEHOUSE_CONFIG": other}},
		want: func(c *Config) {
			c.File = other
			c.AccessTokenTTL = 25 * time.Minute
		},
	}, {
		name: "--config over GATEHOUSE_CONFIG",
		cmd:  command{args: []string{"--config", other}, env: map[string]string{"GATEHOUSE_CONFIG": file}},
		want: func(c *Config) {
			c.File = other
			c.AccessTokenTTL = 25 * time.Minute
		},
	}, {
		// An admin command has no --access-token-ttl, yet the environment
		// and the file mean the same to it as to serve.
		name: "env and file reach settings the command has no flag for",
		cmd: command{args: []string{"--config", file}, env: map[string]string{
			"GATEHOUSE_SIGNING_ALG":  "EdDSA",
			"GATEHOUSE_DATABASE_URL": "postgres://db/gatehouse",
		}},
		want: func(c *Config) {
			c.File = file
			c.AccessTokenTTL = 20 * time.Minute
			c.LogLevel = "warn"
			c.OpsListen = "127.0.0.1:9090"
			c.Scopes = []ScopeEntry{{Name: "billing:read", Description: "Read invoices"}}
			c.SigningAlg = "EdDSA"
			c.DatabaseURL = "postgres://db/gatehouse"
		},
	}, {
		name: "every kind of value from the environment",
		cmd: command{serve: true, env: map[string]string{
			"GATEHOUSE_DEV":                    "true",
			"GATEHOUSE_MAX_BODY_BYTES":         "2048",
			"GATEHOUSE_CLIENT_AUTH_FAILURES":   "3",
			"GATEHOUSE_READ_TIMEOUT":           "1m30s",
			"GATEHOUSE_STATIC_KEYS_SUNSET_AT":  "2027-01-01T00:00:00Z",
			"GATEHOUSE_STATIC_KEYS_REFUSE_NEW": "1",
		}},
		want: func(c *Config) {
			c.Dev = true
			c.MaxBodyBytes = 2048
			c.ClientAuthFailures = 3
			c.ReadTimeout = 90 * time.Second
			c.StaticKeysSunsetAt = "2027-01-01T00:00:00Z"
			c.StaticKeysRefuseNew = true
		},
	}, {
		name: "empty file",
		cmd:  command{args: []string{"--config", empty}},
		want: func(c *Config) { c.File = empty },
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.cmd.load(t)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			want := Default()
			tt.want(&want)
			if diff := cmpDiff(want, got); diff != "" {
				t.Errorf("Load (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		cmd  command
		want []string // each a part of the error message
	}{{
		name: "unknown key",
		cmd:  command{args: []string{"--config", writeFile(t, "a.yaml", "acces-token-ttl: 5m\n")}},
		want: []string{"a.yaml", "acces-token-ttl", "not found"},
	}, {
		name: "unknown key in a scope",
		cmd:  command{args: []string{"--config", writeFile(t, "b.yaml", "scopes:\n  - name: x\n    desc: y\n")}},
		want: []string{"b.yaml", "line 3", "desc"},
	}, {
		name: "the file cannot name another file",
		cmd:  command{args: []string{"--config", writeFile(t, "c.yaml", "config: other.yaml\n")}},
		want: []string{"c.yaml", "config", "not found"},
	}, {
		name: "a duration without a unit",
		cmd:  command{args: []string{"--config", writeFile(t, "d.yaml", "access-token-ttl: 900\n")}},
		want: []string{"d.yaml", "line 1", "time.Duration"},
	}, {
		name: "two documents",
		cmd:  command{args: []string{"--config", writeFile(t, "e.yaml", "log-level: warn\n---\nlog-level: debug\n")}},
		want: []string{"e.yaml", "one YAML document"},
	}, {
		name: "missing file",
		cmd:  command{env: map[string]string{"GATEHOUSE_CONFIG": "/nonexistent/gatehouse.yaml"}},
		want: []string{"read config file", "/nonexistent/gatehouse.yaml"},
	}, {
		name: "bad duration in env",
		cmd:  command{serve: true, env: map[string]string{"GATEHOUSE_ACCESS_TOKEN_TTL": "15 minutes"}},
		want: []string{"GATEHOUSE_ACCESS_TOKEN_TTL", "15 minutes"},
	}, {
		name: "bad env for a setting the command has no flag for",
		cmd:  command{env: map[string]string{"GATEHOUSE_DEV": "yes please"}},
		want: []string{"GATEHOUSE_DEV", "yes please"},
	}, {
		name: "every bad env at once",
		cmd: command{serve: true, env: map[string]string{
			"GATEHOUSE_MAX_BODY_BYTES":       "1MiB",
			"GATEHOUSE_CLIENT_AUTH_FAILURES": "ten",
		}},
		want: []string{"GATEHOUSE_MAX_BODY_BYTES", "1MiB", "GATEHOUSE_CLIENT_AUTH_FAILURES", "ten"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.cmd.load(t)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Load error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestBadEnvIgnoredWhenFlagSet(t *testing.T) {
	// The command line wins, so the environment is not even parsed.
	cmd := command{
		serve: true,
		args:  []string{"--access-token-ttl=5m"},
		env:   map[string]string{"GATEHOUSE_ACCESS_TOKEN_TTL": "soon"},
	}
	c, err := cmd.load(t)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.AccessTokenTTL != 5*time.Minute {
		t.Errorf("AccessTokenTTL = %v, want 5m", c.AccessTokenTTL)
	}
}

func TestApplyDev(t *testing.T) {
	devFile := writeFile(t, "dev.yaml", "dev: true\nlisten: '[::1]:8443'\n")
	tests := []struct {
		name string
		cmd  command
		want func(*Config)
	}{{
		name: "not dev",
		cmd:  command{serve: true},
		want: func(*Config) {},
	}, {
		name: "dev",
		cmd:  command{serve: true, args: []string{"--dev"}},
		want: func(c *Config) {
			c.Dev = true
			c.Listen = "127.0.0.1:8080"
			c.Scheme = "http"
			c.Domain = "localhost:8080"
			c.LameDuck = 0
		},
	}, {
		name: "dev with --listen takes its port, keeps its host",
		cmd:  command{serve: true, args: []string{"--dev", "--listen", ":9000"}},
		want: func(c *Config) {
			c.Dev = true
			c.Listen = ":9000"
			c.Scheme = "http"
			c.Domain = "localhost:9000"
			c.LameDuck = 0
		},
	}, {
		name: "dev keeps an explicit domain and scheme",
		cmd: command{
			serve: true,
			args:  []string{"--dev", "--domain", "gatehouse.test"},
			env:   map[string]string{"GATEHOUSE_SCHEME": "https"},
		},
		want: func(c *Config) {
			c.Dev = true
			c.Listen = "127.0.0.1:8080"
			c.Domain = "gatehouse.test"
			c.LameDuck = 0
		},
	}, {
		name: "dev and listen from the file",
		cmd:  command{serve: true, args: []string{"--config", devFile}},
		want: func(c *Config) {
			c.File = devFile
			c.Dev = true
			c.Listen = "[::1]:8443"
			c.Scheme = "http"
			c.Domain = "localhost:8443"
			c.LameDuck = 0
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.cmd.load(t)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			got.ApplyDev()
			want := Default()
			tt.want(&want)
			if diff := cmpDiff(want, got); diff != "" {
				t.Errorf("ApplyDev (-want +got):\n%s", diff)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("Validate after ApplyDev: %v", err)
			}
		})
	}
}
