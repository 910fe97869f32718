package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/pgtest"
	"github.com/gatehouse/gatehouse/internal/poll"
)

// token asks node n for a client-credentials token at team acme
// (client_secret_basic) and returns the status, 0 when the node does not
// answer (yet).
func (n *node) token(t *testing.T, id, secret string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", fmt.Sprintf("http://127.0.0.1:%d/oauth2/token", n.port),
		strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	req.Host = "acme.example.test"
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// A secret regenerated with the CLI retires the old one on every running
// node within 1 s: SQLite (one node), PostgreSQL (two nodes).
func TestRegeneratedSecretRetiresOldOneWithin1s(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		dataDir := t.TempDir()
		env := cleanEnv("GATEHOUSE_DATA_DIR="+dataDir, "GATEHOUSE_SCHEME=http", "GATEHOUSE_DOMAIN=example.test")
		cli(t, env, "", "migrate")
		cli(t, env, "", "admin", "team", "create", "acme")
		checkRegeneration(t, env, start(t, env))
	})
	t.Run("postgres", func(t *testing.T) {
		env := cleanEnv("GATEHOUSE_DATABASE_URL="+pgtest.URL(t), "GATEHOUSE_MASTER_KEY=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
			"GATEHOUSE_SCHEME=http", "GATEHOUSE_DOMAIN=example.test")
		cli(t, env, "", "migrate")
		cli(t, env, "", "admin", "team", "create", "acme")
		checkRegeneration(t, env, start(t, env), start(t, env))
	})
}

func checkRegeneration(t *testing.T, env []string, nodes ...*node) {
	var created struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	out := cli(t, env, "", "admin", "client", "create", "--team", "acme", "--name", "etl", "--grant-type", "client_credentials",
		"--auth-method", "client_secret_basic", "--scope", "audit.log:read", "--json")
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.ClientSecret == "" {
		t.Fatalf("client create --json: %q", out)
	}
	for i, n := range nodes {
		if _, ok := poll.Until(10*time.Second, func() bool { return n.token(t, created.ClientID, created.ClientSecret) == 200 }); !ok {
			t.Fatalf("node %d does not issue tokens to the new client", i)
		}
	}
	out = cli(t, env, "", "admin", "client", "regenerate-secret", "--team", "acme", created.ClientID, "--json")
	var regenerated struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal([]byte(out), &regenerated); err != nil || regenerated.ClientSecret == "" || regenerated.ClientSecret == created.ClientSecret {
		t.Fatalf("regenerate-secret --json: %q", out)
	}
	for i, n := range nodes {
		took, ok := poll.Until(time.Second, func() bool { return n.token(t, created.ClientID, created.ClientSecret) == 401 })
		if !ok {
			t.Fatalf("node %d still accepts the old secret 1 s after regeneration", i)
		}
		t.Logf("node %d refused the old secret after %v", i, took)
		if code := n.token(t, created.ClientID, regenerated.ClientSecret); code != 200 {
			t.Fatalf("node %d refuses the new secret: %d", i, code)
		}
	}
}
