package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httputil"
	"slices"
	"strconv"
	"sync"
	"time"
)

// The load generator. Each worker owns one keep-alive TCP connection to
// the server's loopback address, writes a request's bytes (built once,
// or by the scenario's source for each request), reads the response
// itself (status line, headers, a Content-Length or chunked body) and
// writes the next. Doing HTTP/1.1 by hand rather than through net/http's
// client spares the CPU that the load generator takes from the server
// when both share the machine: the client's transport costs more per
// request than this loop, and that would be the server's loss.

// source gives a worker its requests.
type source interface {
	// next returns the bytes of the next request; an error stops the
	// worker (and is reported).
	next() ([]byte, error)
	// observe sees every response of a request that next returned:
	// its status and body (valid only during the call).
	observe(status int, body []byte)
}

// dialFrom is a source whose connection starts from a local address of
// its own (a second loopback address, so that a limit counting per
// address sees another client).
type dialFrom interface {
	localAddr() net.Addr
}

// cycle is a source that sends prebuilt requests in turn.
type cycle struct {
	reqs [][]byte
	i    int
}

func (c *cycle) next() ([]byte, error) {
	r := c.reqs[c.i%len(c.reqs)]
	c.i++
	return r, nil
}

func (c *cycle) observe(int, []byte) {}

// cycleSources makes one cycle per worker over reqs, each starting at a
// different request, so that the workers spread over the credentials.
func cycleSources(reqs ...[]byte) func(worker, workers int) (source, error) {
	return func(w, n int) (source, error) {
		return &cycle{reqs: reqs, i: w * len(reqs) / max(n, 1)}, nil
	}
}

// load is one measurement: conns workers against addr.
type load struct {
	addr     string
	conns    int
	warmup   time.Duration
	duration time.Duration
	// sources makes each worker's source.
	sources func(worker, workers int) (source, error)
	// cpu, if not nil, reads the CPU time of the process under test.
	cpu func() (time.Duration, bool)
	// ours, if not nil, reads the CPU time of the tool and every process
	// it started: the rest of the machine's busy time is other load.
	ours func() time.Duration
}

// measurement is what a load measured.
type measurement struct {
	Requests  int64         // completed within the measured window
	Elapsed   time.Duration // the measured window
	Latencies []int64       // nanoseconds, sorted
	Non2xx    int64
	Transport int64         // dial, write and read errors
	Statuses  map[int]int64 // non-2xx statuses seen
	CPU       time.Duration // of the process under test during the window
	CPUKnown  bool
	// Others is the CPU time that processes other than the tool's used
	// during the window: load that competed with the measurement.
	Others      time.Duration
	OthersKnown bool
	FirstErr    string // the first transport error or stopped source, for the report
}

// pool is the measurement of no round yet, which merge adds rounds to.
func pool() measurement {
	return measurement{CPUKnown: true, OthersKnown: true, Statuses: map[int]int64{}}
}

// merge adds round o to the pooled measurement m of the same scenario; the
// latencies must be sorted again after.
func (m measurement) merge(o measurement) measurement {
	m.Requests += o.Requests
	m.Elapsed += o.Elapsed
	m.Latencies = append(m.Latencies, o.Latencies...)
	m.Non2xx += o.Non2xx
	m.Transport += o.Transport
	for k, v := range o.Statuses {
		m.Statuses[k] += v
	}
	m.CPU += o.CPU
	m.CPUKnown = m.CPUKnown && o.CPUKnown
	m.Others += o.Others
	m.OthersKnown = m.OthersKnown && o.OthersKnown
	if m.FirstErr == "" {
		m.FirstErr = o.FirstErr
	}
	return m
}

func (m measurement) rps() float64 {
	if m.Elapsed <= 0 {
		return 0
	}
	return float64(m.Requests) / m.Elapsed.Seconds()
}

func (m measurement) percentile(p float64) time.Duration {
	if len(m.Latencies) == 0 {
		return 0
	}
	i := int(float64(len(m.Latencies))*p+0.999999) - 1
	i = min(max(i, 0), len(m.Latencies)-1)
	return time.Duration(m.Latencies[i])
}

// workerStats is one worker's share of a measurement.
type workerStats struct {
	requests  int64
	lat       []int64
	non2xx    int64
	transport int64
	statuses  map[int]int64
	firstErr  string
}

func (s *workerStats) fail(err error) {
	s.transport++
	if s.firstErr == "" {
		s.firstErr = err.Error()
	}
}

// run measures: every worker sends from the start, results count from the
// end of the warm-up until the window closes; a request still in flight
// then is not counted.
func (l load) run(ctx context.Context) (measurement, error) {
	srcs := make([]source, l.conns)
	for i := range srcs {
		s, err := l.sources(i, l.conns)
		if err != nil {
			return measurement{}, err
		}
		srcs[i] = s
	}
	start := time.Now()
	measureFrom := start.Add(l.warmup)
	end := measureFrom.Add(l.duration)
	ctx, cancel := context.WithDeadline(ctx, end.Add(30*time.Second))
	defer cancel()

	stats := make([]workerStats, l.conns)
	var wg sync.WaitGroup
	for i := range stats {
		wg.Go(func() { worker(ctx, l.addr, srcs[i], measureFrom, end, &stats[i]) })
	}

	var m measurement
	if l.cpu != nil || l.ours != nil {
		type reading struct {
			cpu, busy, ours time.Duration
			cpuOK, busyOK   bool
		}
		read := func() (r reading) {
			if l.cpu != nil {
				r.cpu, r.cpuOK = l.cpu()
			}
			if l.ours != nil {
				r.busy, r.busyOK = machineBusy()
				r.ours = l.ours()
			}
			return r
		}
		sleepUntil(ctx, measureFrom)
		r0 := read()
		sleepUntil(ctx, end)
		r1 := read()
		m.CPU, m.CPUKnown = r1.cpu-r0.cpu, r0.cpuOK && r1.cpuOK
		m.Others, m.OthersKnown = max((r1.busy-r0.busy)-(r1.ours-r0.ours), 0), r0.busyOK && r1.busyOK
	}
	wg.Wait()
	if err := ctx.Err(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return measurement{}, err
	}

	m.Elapsed = l.duration
	m.Statuses = map[int]int64{}
	n := 0
	for _, s := range stats {
		n += len(s.lat)
	}
	m.Latencies = make([]int64, 0, n)
	for _, s := range stats {
		m.Requests += s.requests
		m.Latencies = append(m.Latencies, s.lat...)
		m.Non2xx += s.non2xx
		m.Transport += s.transport
		for k, v := range s.statuses {
			m.Statuses[k] += v
		}
		if m.FirstErr == "" {
			m.FirstErr = s.firstErr
		}
	}
	slices.Sort(m.Latencies)
	return m, nil
}

func sleepUntil(ctx context.Context, t time.Time) {
	tm := time.NewTimer(time.Until(t))
	defer tm.Stop()
	select {
	case <-ctx.Done():
	case <-tm.C:
	}
}

// worker sends requests on one connection until end, reconnecting after a
// transport error or a response that closes the connection.
func worker(ctx context.Context, addr string, src source, measureFrom, end time.Time, st *workerStats) {
	st.lat = make([]int64, 0, 4096)
	var (
		conn net.Conn
		br   *bufio.Reader
		body []byte
		d    = net.Dialer{Timeout: 5 * time.Second}
	)
	if f, ok := src.(dialFrom); ok {
		d.LocalAddr = f.localAddr()
	}
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	deadline, _ := ctx.Deadline()
	for ctx.Err() == nil {
		if !time.Now().Before(end) {
			return
		}
		if conn == nil {
			c, err := d.DialContext(ctx, "tcp", addr)
			if err != nil {
				st.fail(fmt.Errorf("dial %s: %w", addr, err))
				sleepUntil(ctx, time.Now().Add(20*time.Millisecond)) // no busy loop against a dead server
				continue
			}
			c.SetDeadline(deadline)
			conn = c
			if br == nil {
				br = bufio.NewReaderSize(conn, 32<<10)
			} else {
				br.Reset(conn)
			}
		}
		req, err := src.next()
		if err != nil {
			if st.firstErr == "" {
				st.firstErr = err.Error()
			}
			st.transport++
			return
		}
		t0 := time.Now()
		if _, err := conn.Write(req); err != nil {
			st.fail(fmt.Errorf("write: %w", err))
			conn.Close()
			conn = nil
			continue
		}
		var status int
		var closeConn bool
		status, closeConn, body, err = readResponse(br, body[:0])
		t1 := time.Now()
		if err != nil {
			st.fail(fmt.Errorf("read response: %w", err))
			conn.Close()
			conn = nil
			continue
		}
		src.observe(status, body)
		if !t0.Before(measureFrom) && t1.Before(end) {
			st.requests++
			st.lat = append(st.lat, int64(t1.Sub(t0)))
			if status < 200 || status > 299 {
				st.non2xx++
				if st.statuses == nil {
					st.statuses = map[int]int64{}
				}
				st.statuses[status]++
			}
		}
		if closeConn {
			conn.Close()
			conn = nil
		}
	}
}

// readResponse reads one HTTP/1.1 response from br, appending its body to
// body. It returns the status, whether the server closes the connection,
// and the body.
func readResponse(br *bufio.Reader, body []byte) (status int, closeConn bool, _ []byte, err error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, false, body, err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, false, body, fmt.Errorf("malformed status line %q", line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, false, body, fmt.Errorf("malformed status line %q", line)
	}
	closeConn = line[7] == '0' // HTTP/1.0
	length := int64(-1)
	chunked := false
	for {
		h, err := br.ReadSlice('\n')
		if err != nil {
			return 0, false, body, fmt.Errorf("read headers: %w", err)
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			continue
		}
		value = bytes.TrimSpace(value)
		switch {
		case asciiEqualFold(name, "content-length"):
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 {
				return 0, false, body, fmt.Errorf("malformed Content-Length %q", value)
			}
			length = n
		case asciiEqualFold(name, "transfer-encoding"):
			chunked = bytes.Contains(bytes.ToLower(value), []byte("chunked"))
		case asciiEqualFold(name, "connection"):
			if bytes.EqualFold(value, []byte("close")) {
				closeConn = true
			}
		}
	}
	switch {
	case status/100 == 1 || status == 204 || status == 304:
		return status, closeConn, body, nil
	case chunked:
		buf := bytes.NewBuffer(body)
		if _, err := buf.ReadFrom(httputil.NewChunkedReader(br)); err != nil {
			return 0, false, body, fmt.Errorf("read chunked body: %w", err)
		}
		for { // trailers, up to the blank line
			t, err := br.ReadSlice('\n')
			if err != nil {
				return 0, false, body, fmt.Errorf("read trailers: %w", err)
			}
			if len(bytes.TrimRight(t, "\r\n")) == 0 {
				break
			}
		}
		return status, closeConn, buf.Bytes(), nil
	case length >= 0:
		if length > 64<<20 {
			return 0, false, body, fmt.Errorf("response body of %d bytes: larger than this tool reads", length)
		}
		n := len(body)
		body = slices.Grow(body, int(length))[:n+int(length)]
		if _, err := io.ReadFull(br, body[n:]); err != nil {
			return 0, false, body, fmt.Errorf("read body: %w", err)
		}
		return status, closeConn, body, nil
	default: // the body runs to the end of the connection
		buf := bytes.NewBuffer(body)
		if _, err := buf.ReadFrom(io.LimitReader(br, 64<<20)); err != nil {
			return 0, false, body, fmt.Errorf("read body: %w", err)
		}
		return status, true, buf.Bytes(), nil
	}
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// do sends one request on a new connection and returns the status and
// body: the check before a measurement that the scenario works at all.
func do(ctx context.Context, addr string, req []byte) (int, []byte, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := conn.Write(req); err != nil {
		return 0, nil, err
	}
	status, _, body, err := readResponse(bufio.NewReader(conn), nil)
	return status, body, err
}
