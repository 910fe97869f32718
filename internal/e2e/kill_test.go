package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/pgtest"
	"github.com/gatehouse/gatehouse/internal/poll"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// A node killed with SIGKILL in the middle of token load loses no audit
// event of a token it answered, and stores none twice: after a restart,
// which ships what the spool held, every access token answered 200 has
// exactly one token.issue event in the database. An event may also exist
// for a request the kill cut off between its event's fsync and its answer
// (at most one per client connection), or one answered 503 because its
// event was still being written after 100 ms; the test reports how many.
func TestKill9DuringTokenLoadKeepsEveryIssuance(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		dataDir := t.TempDir()
		env := cleanEnv("GATEHOUSE_DATA_DIR="+dataDir, "GATEHOUSE_SCHEME=http", "GATEHOUSE_DOMAIN=example.test")
		checkKill9(t, env, "", filepath.Join(dataDir, "gatehouse.db"), nil)
	})
	t.Run("postgres", func(t *testing.T) {
		dbURL := pgtest.URL(t)
		env := cleanEnv("GATEHOUSE_DATABASE_URL="+dbURL, "GATEHOUSE_MASTER_KEY=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
			"GATEHOUSE_SCHEME=http", "GATEHOUSE_DOMAIN=example.test")
		checkKill9(t, env, dbURL, "", []string{"--audit-spool-dir", t.TempDir()})
	})
}

func checkKill9(t *testing.T, env []string, dbURL, dbPath string, args []string) {
	const clients = 8
	cli(t, env, "", "migrate")
	cli(t, env, "", "admin", "team", "create", "acme")
	var c struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	out := cli(t, env, "", "admin", "client", "create", "--team", "acme", "--name", "load", "--grant-type", "client_credentials",
		"--auth-method", "client_secret_basic", "--scope", "audit.log:read", "--json")
	if err := json.Unmarshal([]byte(out), &c); err != nil || c.ClientSecret == "" {
		t.Fatalf("client create --json: %q", out)
	}

	port := freePort(t)
	n := startIn(t, "", env, port, args...)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}, Timeout: 10 * time.Second}
	t.Cleanup(hc.CloseIdleConnections)
	issue := func() (jti string, status int, err error) {
		return requestToken(hc, port, c.ClientID, c.ClientSecret)
	}
	var first string
	poll.Must(t, 10*time.Second, "the first token", func() bool {
		jti, code, _ := issue()
		first = jti
		return code == 200
	})

	// Load from several connections; SIGKILL once some hundreds were
	// answered.
	var (
		mu       sync.Mutex
		answered = map[string]int{first: 1} // jti of every 200 answer
		cut      atomic.Int64               // requests that got no answer
		refused  atomic.Int64               // requests answered 503
		wg       sync.WaitGroup
	)
	for range clients {
		wg.Go(func() {
			for {
				jti, code, err := issue()
				if err != nil {
					cut.Add(1)
					return
				}
				if code == http.StatusServiceUnavailable {
					// The event was not durable within 100 ms (a slow
					// disk): refused, and its event may still be stored.
					refused.Add(1)
					continue
				}
				if code != 200 {
					t.Errorf("token answered %d during the load", code)
					return
				}
				mu.Lock()
				answered[jti]++
				mu.Unlock()
			}
		})
	}
	poll.Must(t, 30*time.Second, "500 tokens", func() bool { mu.Lock(); defer mu.Unlock(); return len(answered) >= 500 })
	if err := n.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	<-n.done
	n.done <- nil // for the cleanup
	hc.CloseIdleConnections()

	db, err := sqlstore.OpenExisting(context.Background(), dbURL, dbPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	before := issued(t, db)
	waiting := 0
	for jti := range answered {
		if before[jti] == 0 {
			waiting++
		}
	}
	if waiting == 0 {
		t.Fatalf("every one of %d answered tokens was in the database at the kill: the spool's replay went untested", len(answered))
	}

	// Restart on the same spool; once a new token's event is in the
	// database, so is everything spooled before it (shipping keeps order).
	n = startIn(t, "", env, port, args...)
	var marker string
	poll.Must(t, 10*time.Second, "a token after the restart", func() bool {
		jti, code, _ := issue()
		marker = jti
		return code == 200
	})
	var after map[string]int
	poll.Must(t, 20*time.Second, "the spool shipped", func() bool { after = issued(t, db); return after[marker] > 0 })
	delete(after, marker)

	extra := 0
	for jti, k := range after {
		if k != 1 {
			t.Errorf("token %s has %d issuance events", jti, k)
		}
		if answered[jti] == 0 {
			extra++
		}
	}
	lost := 0
	for jti, k := range answered {
		if k != 1 {
			t.Errorf("token %s answered %d times", jti, k)
		}
		if after[jti] == 0 {
			lost++
		}
	}
	t.Logf("%d tokens answered 200, %d issuance events in the database (%d waited in the spool at the kill); "+
		"%d requests cut off by the kill, %d answered 503, %d events of tokens never answered",
		len(answered), len(after), waiting, cut.Load(), refused.Load(), extra)
	if lost > 0 {
		t.Errorf("%d of %d tokens answered 200 have no issuance event", lost, len(answered))
	}
	if int64(extra) > cut.Load()+refused.Load() {
		t.Errorf("%d issuance events of tokens never answered, more than the %d requests the kill cut off and the %d answered 503",
			extra, cut.Load(), refused.Load())
	}
}

// requestToken asks for a client-credentials token at team acme and
// returns its jti.
func requestToken(hc *http.Client, port int, id, secret string) (string, int, error) {
	req, _ := http.NewRequest("POST", fmt.Sprintf("http://127.0.0.1:%d/oauth2/token", port),
		strings.NewReader("grant_type=client_credentials"))
	req.Host = "acme.example.test"
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := hc.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", 0, err
	}
	if resp.StatusCode != 200 {
		return "", resp.StatusCode, nil
	}
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		return "", 0, err
	}
	parts := strings.Split(body.AccessToken, ".")
	if len(parts) != 3 {
		return "", 0, errors.New("not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", 0, err
	}
	var claims struct {
		JTI string `json:"jti"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil || claims.JTI == "" {
		return "", 0, fmt.Errorf("no jti in %s", payload)
	}
	return claims.JTI, 200, nil
}

// issued counts the token.issue events of team acme by jti.
func issued(t *testing.T, db store.Store) map[string]int {
	t.Helper()
	out := map[string]int{}
	cursor := ""
	for {
		page, next, err := db.ListAudit(context.Background(), "acme", store.AuditFilter{Action: "token.issue"},
			store.Page{Limit: 1000, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			out[e.Detail["jti"]]++
		}
		if next == "" {
			return out
		}
		cursor = next
	}
}
