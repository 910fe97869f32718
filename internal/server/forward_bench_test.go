package server_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/servertest"
)

// BenchmarkForwardNginx measures forward authentication behind a real
// NGINX, in one run, each case over keep-alive TCP on loopback from
// parallel callers, with the same token on every call:
//
//   - nginx-direct: NGINX proxying to the API, no authentication (the
//     baseline);
//   - nginx-auth_request: NGINX asking Gatehouse (auth_request, the
//     README's configuration) before it proxies to the API;
//   - forward-decision: Gatehouse's /api/authz/forward alone, asked as
//     NGINX asks it (the subrequest's share);
//   - gateway: Gatehouse's own gateway, the same decision and the proxy to
//     the API, with no NGINX.
//
// Each reports req/s; BENCHMARKS.md has the ratios.
//
//	go test -run '^$' -bench ForwardNginx -benchtime 5s ./internal/server/
func BenchmarkForwardNginx(b *testing.B) {
	proxyBinary(b, "nginx")
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"pool":"42","rows":3}`)
	}))
	b.Cleanup(api.Close)
	apiAddr := api.Listener.Addr().String()
	routes := filepath.Join(b.TempDir(), "routes.yaml")
	writeConf(b, routes, fmt.Sprintf(`routes:
  - match: "GET /integration/api/pools/{pool}"
    scope: integration.data-pools
    permission: "read data-pools/{pool}"
  - match: "GET /gateway/api/pools/{pool}"
    scope: integration.data-pools
    permission: "read data-pools/{pool}"
    upstream: %s
`, api.URL))
	s := servertest.Start(b, servertest.WithWallClock(), servertest.WithConfig(func(c *config.Config) {
		c.Routes = routes
		c.TrustedProxies = "127.0.0.1"
	}))
	c, sec := s.Client(b, "acme", client.NewClient{Name: "bench", GrantTypes: []string{client.GrantClientCredentials},
		AuthMethod: client.AuthSecretBasic, Scopes: []string{"integration.data-pools"}})
	s.Grant(b, "acme", "client:"+c.ID, "read", "data-pools/*")
	s.SyncChanges(b)
	auth := "Bearer " + s.Token(b, "acme", c.ID, sec)

	site := proxySite{gatehouse: s.Addr, api: apiAddr, teamHost: "acme.gatehouse.test"}
	withAuth := runProxy(b, "nginx", site)
	// The floor of any authorization service in Go: one that answers 200
	// at once, behind the same auth_request.
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	b.Cleanup(bare.Close)
	bareSite := site
	bareSite.gatehouse = bare.Listener.Addr().String()
	withBare := runProxy(b, "nginx", bareSite)
	site.direct = true
	direct := runProxy(b, "nginx", site)

	const path = "/integration/api/pools/42"
	for _, bc := range []struct {
		name, addr, host, path string
		header                 map[string]string
		nginx                  int // the pid of the NGINX in the way, or 0
	}{
		{"nginx-direct", direct.addr, "api.example.test", path, nil, direct.pid},
		{"nginx-auth_request", withAuth.addr, "api.example.test", path, nil, withAuth.pid},
		{"nginx-auth_request-bare-200", withBare.addr, "api.example.test", path, nil, withBare.pid},
		{"forward-decision", s.Addr, "acme.gatehouse.test", "/api/authz/forward",
			map[string]string{"X-Original-Method": "GET", "X-Original-URI": path, "X-Forwarded-Method": "GET", "X-Forwarded-Uri": path,
				"X-Forwarded-Host": "api.example.test", "X-Forwarded-Proto": "http", "X-Forwarded-For": "127.0.0.1"}, 0},
		{"gateway", s.Addr, "acme.gatehouse.test", "/gateway/api/pools/42", nil, 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			tr := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
			b.Cleanup(tr.CloseIdleConnections)
			hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
			b.SetParallelism(8)
			goCPU, nginxCPU := processCPU(b), nginxCPUOf(b, bc.nginx)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest("GET", "http://"+bc.addr+bc.path, nil)
					req.Host = bc.host
					req.Header.Set("Authorization", auth)
					for k, v := range bc.header {
						req.Header.Set(k, v)
					}
					resp, err := hc.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("%s: status %d", bc.name, resp.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
			// Where the CPU went: this process (the callers, the API and
			// Gatehouse) and NGINX, per request.
			b.ReportMetric(float64((processCPU(b)-goCPU).Microseconds())/float64(b.N), "go-cpu-µs/op")
			b.ReportMetric(float64((nginxCPUOf(b, bc.nginx)-nginxCPU).Microseconds())/float64(b.N), "nginx-cpu-µs/op")
		})
	}
}

// processCPU is the CPU time this process has used.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// nginxCPUOf is the CPU time the process pid has used (0 for pid 0),
// from /proc, in clock ticks of 10 ms.
func nginxCPUOf(tb testing.TB, pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		tb.Fatal(err)
	}
	// The fields after the command name, which is in parentheses: utime
	// and stime are the 12th and 13th of them.
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
	utime, _ := strconv.Atoi(f[11])
	stime, _ := strconv.Atoi(f[12])
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// BenchmarkForwardDecisionJWT is a warm forward authentication decision
// through the whole server handler (middleware, team resolution, the
// gateway's decision with the guard), in process, from parallel callers:
// to set beside BenchmarkGatewayJWT, the same decision followed by the
// proxy.
//
//	go test -run '^$' -bench 'ForwardDecisionJWT|GatewayJWT' ./internal/server/
func BenchmarkForwardDecisionJWT(b *testing.B) {
	routes := filepath.Join(b.TempDir(), "routes.yaml")
	writeConf(b, routes, `routes:
  - match: "POST /integration/api/pools/{pool}/push"
    scope: integration.data-pools:data_push
    permission: "push data-pools/{pool}"
`)
	s := servertest.Start(b, servertest.WithWallClock(), servertest.WithConfig(func(c *config.Config) {
		c.Routes = routes
		c.TrustedProxies = "192.0.2.1" // httptest.NewRequest's peer
	}))
	c, sec := s.Client(b, "acme", client.NewClient{Name: "bench", GrantTypes: []string{client.GrantClientCredentials},
		AuthMethod: client.AuthSecretBasic, Scopes: []string{"integration.data-pools:data_push"}})
	s.Grant(b, "acme", "client:"+c.ID, "push", "data-pools/*")
	s.SyncChanges(b)
	auth := "Bearer " + s.Token(b, "acme", c.ID, sec)
	h := s.Handler()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := httptest.NewRequest("GET", "http://acme.gatehouse.test/api/authz/forward", nil)
			r.Header.Set("Authorization", auth)
			r.Header.Set("X-Original-Method", "POST")
			r.Header.Set("X-Original-URI", "/integration/api/pools/42/push")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Errorf("status %d: %s", w.Code, w.Body)
				return
			}
		}
	})
}
