package gateway_test

// The gateway's cost over a bare reverse proxy to the same upstream, in
// one run:
//
//	go test -bench . -run '^$' ./internal/gateway/

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"

	"github.com/gatehouse/gatehouse/internal/authz"
)

// benchUpstream answers a small JSON body.
func benchUpstream(b *testing.B) *httptest.Server {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	}))
	b.Cleanup(up.Close)
	return up
}

// benchServe sends POST /integration/api/pools/42/push to the server at
// base, over keep-alive connections from parallel clients.
func benchServe(b *testing.B, base string) {
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	b.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr}
	url := base + "/integration/api/pools/42/push"
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("POST", url, nil)
			req.Header.Set("Authorization", "Bearer x")
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}

// allowing is an Authorizer that lets subj through and records nothing.
type allowing struct{ subj authz.Subject }

func (a allowing) Authorize(http.ResponseWriter, *http.Request, string, string, string) (authz.Subject, bool) {
	return a.subj, true
}

func BenchmarkGateway(b *testing.B) {
	up := benchUpstream(b)
	_, srv := newGateway(b, fmt.Sprintf(streamRoutes, up.URL), allowing{allowAll().subj})
	benchServe(b, srv.URL)
}

func BenchmarkBareReverseProxy(b *testing.B) {
	up := benchUpstream(b)
	target, _ := url.Parse(up.URL)
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	b.Cleanup(tr.CloseIdleConnections)
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
		},
		Transport: tr,
	}
	srv := httptest.NewServer(teamInfo(rp))
	b.Cleanup(srv.Close)
	benchServe(b, srv.URL)
}
