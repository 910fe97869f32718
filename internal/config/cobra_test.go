package config

import (
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// TestWithCobra runs the sequence the package documentation shows on a real
// cobra command tree: common flags on the root's persistent flags, the rest
// on serve, and Load on the running command's merged flags.
func TestWithCobra(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want func(*Config)
	}{{
		name: "serve",
		args: []string{"serve", "--data-dir", "/var/lib/gatehouse", "--dev"},
		env:  map[string]string{"GATEHOUSE_DATA_DIR": "/srv", "GATEHOUSE_AUTH_CODE_TTL": "30s"},
		want: func(c *Config) {
			c.DataDir = "/var/lib/gatehouse"
			c.AuthCodeTTL = 30 * time.Second
			c.Dev = true
			c.Listen = "127.0.0.1:8080"
			c.Scheme = "http"
			c.Domain = "localhost:8080"
			c.LameDuck = 0
		},
	}, {
		name: "admin",
		args: []string{"--log-format", "json", "admin"},
		env:  map[string]string{"GATEHOUSE_LOG_FORMAT": "text", "GATEHOUSE_SIGNING_ALG": "ES256"},
		want: func(c *Config) {
			c.LogFormat = "json"
			c.SigningAlg = "ES256"
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Default()
			var ran bool
			run := func(cmd *cobra.Command, _ []string) error {
				ran = true
				err := Load(cmd.Flags(), &cfg, func(name string) (string, bool) {
					v, ok := tt.env[name]
					return v, ok
				})
				if err != nil {
					return err
				}
				cfg.ApplyDev()
				return cfg.Validate()
			}
			root := &cobra.Command{Use: "gatehouse", SilenceUsage: true}
			Bind(root.PersistentFlags(), &cfg)
			serve := &cobra.Command{Use: "serve", RunE: run}
			BindServe(serve.Flags(), &cfg)
			root.AddCommand(serve, &cobra.Command{Use: "admin", RunE: run})
			root.SetArgs(tt.args)
			if err := root.Execute(); err != nil {
				t.Fatalf("Execute: %v", err)
			}
			if !ran {
				t.Fatal("command did not run")
			}
			want := Default()
			tt.want(&want)
			if diff := cmpDiff(want, cfg); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}
