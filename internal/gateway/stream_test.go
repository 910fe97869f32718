package gateway_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/gateway"
)

const streamRoutes = `
routes:
  - match: "POST /integration/api/pools/{pool}/push"
    scope: integration.data-pools:data_push
    permission: "push data-pools/{pool}"
    upstream: %s
  - match: "GET /integration/api/pools/{pool}/events"
    scope: integration.data-pools
    permission: "read data-pools/{pool}"
    upstream: %[1]s
`

// TestStreamingUpload sends a body far larger than the heap may grow
// through the gateway, generated on the fly, to an upstream that counts
// and hashes it: it must arrive whole, and the gateway must not buffer it.
func TestStreamingUpload(t *testing.T) {
	size := int64(256 << 20)
	if testing.Short() {
		size = 32 << 20
	}
	type result struct {
		N   int64  `json:"n"`
		Sum string `json:"sum"`
	}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		json.NewEncoder(w).Encode(result{N: n, Sum: hex.EncodeToString(h.Sum(nil))})
	}))
	t.Cleanup(up.Close)
	_, gw := newGateway(t, fmt.Sprintf(streamRoutes, up.URL), allowAll())

	// Sample the heap while the body flows.
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak atomic.Uint64
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})

	sent := sha256.New()
	body := io.TeeReader(io.LimitReader(rand.NewChaCha8([32]byte{1}), size), sent)
	req, err := http.NewRequest("POST", gw.URL+"/integration/api/pools/42/push", body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := http.DefaultClient.Do(req)
	close(stop)
	sampler.Wait()
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	var got result
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if want := (result{N: size, Sum: hex.EncodeToString(sent.Sum(nil))}); got != want {
		t.Errorf("upstream received %+v, want %+v", got, want)
	}

	growth := int64(peak.Load()) - int64(before.HeapInuse)
	t.Logf("%d MiB through the gateway; heap in use grew at most %.1f MiB", size>>20, float64(growth)/(1<<20))
	if limit := size / 8; growth > limit {
		t.Errorf("heap in use grew by %d bytes, want under %d: the body was buffered", growth, limit)
	}
}

// TestStreamingResponse checks that the caller reads what the upstream
// flushed before the upstream has finished, chunked or with a
// Content-Length.
func TestStreamingResponse(t *testing.T) {
	for _, length := range []bool{false, true} {
		t.Run(fmt.Sprintf("Content-Length %v", length), func(t *testing.T) { testStreamingResponse(t, length) })
	}
}

func testStreamingResponse(t *testing.T, length bool) {
	const first, second = "event: 1\n", "event: 2\n"
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if length {
			w.Header().Set("Content-Length", strconv.Itoa(len(first+second)))
		}
		io.WriteString(w, first)
		http.NewResponseController(w).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, second)
	}))
	t.Cleanup(up.Close)
	_, gw := newGateway(t, fmt.Sprintf(streamRoutes, up.URL), allowAll())

	// The caller must get the headers and the first line while the
	// upstream still waits.
	type firstRead struct {
		resp *http.Response
		br   *bufio.Reader
		line string
		err  error
	}
	got := make(chan firstRead, 1)
	go func() {
		resp, err := http.Get(gw.URL + "/integration/api/pools/42/events")
		if err != nil {
			got <- firstRead{err: err}
			return
		}
		br := bufio.NewReader(resp.Body)
		l, err := br.ReadString('\n')
		got <- firstRead{resp, br, l, err}
	}()
	var f firstRead
	select {
	case f = <-got:
	case <-time.After(5 * time.Second):
		close(release)
		if f = <-got; f.resp != nil {
			f.resp.Body.Close()
		}
		t.Fatal("the first chunk did not arrive before the upstream finished: the gateway buffers responses")
	}
	if f.err != nil {
		t.Fatal(f.err)
	}
	resp, br := f.resp, f.br
	defer resp.Body.Close()
	if f.line != first {
		t.Fatalf("first line %q, want %q", f.line, first)
	}
	close(release)
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatal(err)
	}
	if string(rest) != second {
		t.Errorf("rest %q, want %q", rest, second)
	}
	if length && resp.ContentLength != int64(len(first+second)) {
		t.Errorf("Content-Length %d, want the upstream's", resp.ContentLength)
	}
}

// TestServerTimeoutsLifted checks that an authorized gateway request is
// not cut by the server's read and write timeouts, which fit Gatehouse's
// own endpoints: a slow upload and a slow answer outlast both.
func TestServerTimeoutsLifted(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for range 3 { // a slow answer
			fmt.Fprintf(w, "%d\n", n)
			http.NewResponseController(w).Flush()
			time.Sleep(100 * time.Millisecond)
		}
	}))
	t.Cleanup(up.Close)
	g, err := gateway.New(gateway.Options{Path: writeRoutes(t, "", fmt.Sprintf(streamRoutes, up.URL)), Scopes: catalog(t), Auth: allowAll()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(teamInfo(g))
	srv.Config.ReadTimeout = 200 * time.Millisecond
	srv.Config.WriteTimeout = 200 * time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)

	pr, pw := io.Pipe()
	go func() { // a slow upload
		for range 4 {
			pw.Write(make([]byte, 1000))
			time.Sleep(100 * time.Millisecond)
		}
		pw.Close()
	}()
	resp, err := http.Post(srv.URL+"/integration/api/pools/42/push", "application/octet-stream", pr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read the answer: %v (after %q)", err, body)
	}
	if resp.StatusCode != http.StatusOK || string(body) != "4000\n4000\n4000\n" {
		t.Errorf("answer %d %q, want the whole upload counted and the whole answer", resp.StatusCode, body)
	}
}
