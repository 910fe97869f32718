package server_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/statickey"
)

// BenchmarkGatewayJWT is a warm gateway call through the whole server
// handler (middleware, team resolution, the guard, the proxy) to a real
// upstream over keep-alive TCP, from parallel callers.
//
//	go test -run '^$' -bench GatewayJWT -cpuprofile cpu.out ./internal/server/
func BenchmarkGatewayJWT(b *testing.B) { benchGateway(b, false) }

// BenchmarkGatewayAppKey is the same call with an AppKey.
func BenchmarkGatewayAppKey(b *testing.B) { benchGateway(b, true) }

func benchGateway(b *testing.B, appKey bool) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	}))
	b.Cleanup(up.Close)
	routes := filepath.Join(b.TempDir(), "routes.yaml")
	os.WriteFile(routes, fmt.Appendf(nil, `routes:
  - match: "POST /integration/api/pools/{pool}/push"
    scope: integration.data-pools:data_push
    permission: "push data-pools/{pool}"
    upstream: %s
`, up.URL), 0o600)
	s := servertest.Start(b, servertest.WithWallClock(),
		servertest.WithConfig(func(c *config.Config) { c.Routes = routes }))
	c, sec := s.Client(b, "acme", client.NewClient{Name: "bench", GrantTypes: []string{client.GrantClientCredentials},
		AuthMethod: client.AuthSecretBasic, Scopes: []string{"integration.data-pools:data_push"}})
	s.Grant(b, "acme", "client:"+c.ID, "push", "data-pools/*")
	s.SyncChanges(b)
	auth := "Bearer " + s.Token(b, "acme", c.ID, sec)
	if appKey {
		s.App(b, "acme", "etl")
		s.Grant(b, "acme", "app:etl", "push", "data-pools/*")
		_, key := s.StaticKey(b, "acme", statickey.KindApp, "etl")
		auth = "AppKey " + key
		s.SyncChanges(b)
	}
	h := s.Handler()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := httptest.NewRequest("POST", "http://acme.gatehouse.test/integration/api/pools/42/push", nil)
			r.Header.Set("Authorization", auth)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Errorf("status %d: %s", w.Code, w.Body)
				return
			}
		}
	})
}
