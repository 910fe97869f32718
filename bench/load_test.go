package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestReadResponse(t *testing.T) {
	tests := []struct {
		name      string
		raw       string
		status    int
		body      string
		closeConn bool
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\ncontent-length: 11\r\n\r\n{\"ok\":true}", 200, `{"ok":true}`, false},
		{"chunked with trailer", "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n", 201, "hello world", false},
		{"no body", "HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n", 204, "", false},
		{"connection close", "HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}", 401, "{}", true},
		{"to the end", "HTTP/1.1 200 OK\r\n\r\nuntil EOF", 200, "until EOF", true},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", 200, "x", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := tt.raw
			if !tt.closeConn {
				raw += "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext"
			}
			br := bufio.NewReader(strings.NewReader(raw))
			status, closeConn, body, err := readResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			if status != tt.status || string(body) != tt.body || closeConn != tt.closeConn {
				t.Errorf("got %d %q close=%v, want %d %q close=%v", status, body, closeConn, tt.status, tt.body, tt.closeConn)
			}
			if tt.closeConn {
				return
			}
			// The connection stays usable: the next response parses.
			status, _, body, err = readResponse(br, body[:0])
			if err != nil || status != 200 || string(body) != "next" {
				t.Errorf("next response: %d %q %v", status, body, err)
			}
		})
	}
	for _, bad := range []string{"", "HTTP/1.1 2x0 OK\r\n\r\n", "SSH-2.0\r\n", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"} {
		if _, _, _, err := readResponse(bufio.NewReader(strings.NewReader(bad)), nil); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestPercentile(t *testing.T) {
	m := measurement{}
	for i := int64(1); i <= 100; i++ {
		m.Latencies = append(m.Latencies, i)
	}
	for p, want := range map[float64]time.Duration{0.5: 50, 0.9: 90, 0.99: 99, 1: 100} {
		if got := m.percentile(p); got != want {
			t.Errorf("p%v = %d, want %d", p*100, got, want)
		}
	}
	if (measurement{}).percentile(.99) != 0 {
		t.Error("percentile of nothing")
	}
}

// TestLoad drives a real server: counts, statuses and keep-alive.
func TestLoad(t *testing.T) {
	var conns, reqs atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqs.Add(1)
		if r.URL.Path == "/bad" {
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	good := rawRequest("GET", "x", "/good", nil, nil)
	bad := rawRequest("GET", "x", "/bad", nil, nil)
	l := load{addr: addr, conns: 3, warmup: 20 * time.Millisecond, duration: 200 * time.Millisecond, sources: cycleSources(good, bad)}
	m, err := l.run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if m.Requests == 0 || m.Transport != 0 || m.Non2xx == 0 || m.Statuses[403] != m.Non2xx || int64(len(m.Latencies)) != m.Requests {
		t.Errorf("measurement: %d requests, %d non-2xx %v, %d transport errors, %d latencies",
			m.Requests, m.Non2xx, m.Statuses, m.Transport, len(m.Latencies))
	}
	if m.Non2xx*3 < m.Requests || m.Non2xx*3 > m.Requests*2 {
		t.Errorf("the workers should alternate: %d of %d refused", m.Non2xx, m.Requests)
	}
	if conns.Load() != 3 {
		t.Errorf("%d connections, want 3 kept alive", conns.Load())
	}
	if reqs.Load() < m.Requests {
		t.Errorf("server saw %d, load counted %d", reqs.Load(), m.Requests)
	}
}

func TestLoadTransportErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nobody listens: every dial fails
	l := load{addr: addr, conns: 2, duration: 100 * time.Millisecond, sources: cycleSources(rawRequest("GET", "x", "/", nil, nil))}
	m, err := l.run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if m.Transport == 0 || m.Requests != 0 || m.FirstErr == "" {
		t.Errorf("want transport errors: %+v", m)
	}
}

func TestCycleSourcesSpread(t *testing.T) {
	reqs := [][]byte{[]byte("a"), []byte("b"), []byte("c"), []byte("d")}
	mk := cycleSources(reqs...)
	var firsts []string
	for w := range 4 {
		s, _ := mk(w, 4)
		b, _ := s.next()
		firsts = append(firsts, string(b))
	}
	if strings.Join(firsts, "") != "abcd" {
		t.Errorf("workers start at %v", firsts)
	}
}

func TestActiveIndex(t *testing.T) {
	for _, c := range []struct{ n, active int }{{10, 3}, {1000, 1000}, {1_000_000, 1000}, {60, 10}, {7, 7}} {
		seen := map[int]bool{}
		for rec := range c.n {
			if i, ok := activeIndex(rec, c.n, c.active); ok {
				if seen[i] || i*c.n/c.active != rec {
					t.Fatalf("n=%d active=%d: record %d is active %d again or wrongly", c.n, c.active, rec, i)
				}
				seen[i] = true
			}
		}
		if len(seen) != c.active {
			t.Errorf("n=%d active=%d: %d active", c.n, c.active, len(seen))
		}
	}
}

func TestParseOptions(t *testing.T) {
	o, err := parseOptions([]string{"-c", "4", "-d", "1s", "-scenarios", "api-jwt,token-cc"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(o.Scenarios, ",") != "token-cc,api-jwt" || o.Warmup != 200*time.Millisecond {
		t.Errorf("options: %+v", o)
	}
	for _, bad := range [][]string{
		{"-c", "0"},
		{"-scenarios", "nope"},
		{"-scale-sizes", "10,x"},
		{"-target", "http://192.0.2.1:8080", "-team", "a"},
		{"-target", "https://127.0.0.1:8443", "-team", "a"},
		{"-target", "http://127.0.0.1:8080"},
		{"-app-key", "k"},
		{"extra"},
		{"-soak", "1m", "-c", "1"},
		{"-soak", "1m", "-soak-retention", "30s"},
		{"-soak", "1m", "-soak-sample", "2m"},
		{"-soak", "1m", "-target", "http://127.0.0.1:8080", "-team", "acme"},
	} {
		if _, err := parseOptions(bad, io.Discard); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
	if _, err := parseOptions([]string{"-target", "http://127.0.0.1:8080", "-team", "acme", "-client-id", "x"}, io.Discard); err != nil {
		t.Errorf("a loopback target: %v", err)
	}
	if o, err := parseOptions([]string{"-soak", "10m"}, io.Discard); err != nil || o.Soak != 10*time.Minute ||
		o.SoakSample != 10*time.Second || o.SoakRetention != time.Minute {
		t.Errorf("-soak 10m: %+v, %v", o, err)
	}
}
