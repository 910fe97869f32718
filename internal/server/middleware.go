package server

import (
	"context"
	"encoding/hex"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/internal/change"
	"github.com/gatehouse/gatehouse/internal/clientaddr"
	"github.com/gatehouse/gatehouse/internal/edge"
	"github.com/gatehouse/gatehouse/internal/kernel"
)

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_http_requests_total",
			Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gatehouse_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// staleServed exports a change.Monitor as
// gatehouse_cache_stale_served_total{cache}: the Gets that a cache
// answered from what it held because the store could not answer.
type staleServed struct{ m *change.Monitor }

var staleServedDesc = prometheus.NewDesc("gatehouse_cache_stale_served_total",
	"Lookups answered from a cache entry held past its lifetime because the database could not answer (stale-if-error), by cache.",
	[]string{"cache"}, nil)

func (c staleServed) Describe(ch chan<- *prometheus.Desc) { ch <- staleServedDesc }

func (c staleServed) Collect(ch chan<- prometheus.Metric) {
	for label, n := range c.m.StaleServed() {
		ch <- prometheus.MustNewConstMetric(staleServedDesc, prometheus.CounterValue, float64(n), label)
	}
}

// statusWriter records what a handler answered. A failure (5xx) answered
// after the client went away (edge.ClientGone) is the client's departure,
// not the server's fault: it is sent, logged and counted as 499
// (edge.StatusClientClosedRequest), whichever handler wrote it.
type statusWriter struct {
	http.ResponseWriter
	ctx   context.Context // the request's
	code  int
	bytes int64
}

func (w *statusWriter) WriteHeader(code int) {
	if code >= 500 && edge.ClientGone(w.ctx) {
		code = edge.StatusClientClosedRequest
	}
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// middleware wraps every request: request ID, panic recovery, body limit,
// request log and metrics; then the host-independent routes, or the team's.
func (s *Server) middleware(global *http.ServeMux, team http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		// The client's address, once: what the limits, the logs, the audit
		// trail and the login history name (--trusted-proxies).
		info := &edge.Info{RequestID: s.requestID(r), ClientIP: kernel.Clip(s.clients.Resolve(r), kernel.MaxIP)}
		info.Log = s.log.With("request_id", info.RequestID)
		r = r.WithContext(edge.WithInfo(r.Context(), info))
		w.Header().Set("X-Request-Id", info.RequestID)
		sw := &statusWriter{ResponseWriter: w, ctx: r.Context()}
		// Every body is capped; only the handler that serves the request
		// may lift the cap (a gateway route, once the call is authorized,
		// streams bodies of any size to its upstream), never a guess made
		// here from the path.
		if r.ContentLength != 0 {
			edge.LimitBody(sw, r, s.cfg.MaxBodyBytes)
		}

		// The host-independent routes are a few paths: look them up only
		// for those, not for every team request.
		h, pattern := team, ""
		if globalPaths[r.URL.Path] {
			if gh, gp := global.Handler(r); gp != "" {
				h, pattern = gh, gp
			}
		}
		func() {
			defer func() {
				if p := recover(); p != nil {
					if p == http.ErrAbortHandler {
						panic(p)
					}
					info.Log.Error("panic serving request", "panic", p, "stack", string(debug.Stack()))
					if sw.code == 0 {
						edge.Error(sw, http.StatusInternalServerError, "server_error", "internal error; request "+info.RequestID)
					}
				}
			}()
			h.ServeHTTP(sw, r)
		}()

		route := r.Pattern
		if route == "" {
			route = pattern
		}
		if route == "" {
			route = "unmatched"
		}
		code := sw.code
		if code == 0 {
			code = http.StatusOK
		}
		elapsed := time.Since(start)
		s.metrics.requests.WithLabelValues(route, r.Method, strconv.Itoa(code)).Inc()
		s.metrics.duration.WithLabelValues(route).Observe(elapsed.Seconds())
		level := slog.LevelInfo
		if code >= 500 {
			level = slog.LevelError
		}
		attrs := []slog.Attr{
			slog.String("method", kernel.Clip(r.Method, kernel.MaxName)), slog.String("host", kernel.Clip(r.Host, kernel.MaxName)),
			slog.String("path", kernel.Clip(r.URL.Path, kernel.MaxName)),
			slog.String("route", route), slog.Int("status", code), slog.Int64("bytes", sw.bytes),
			slog.Duration("duration", elapsed), slog.String("remote", info.ClientIP),
			slog.String("principal", info.Principal),
		}
		if peer, ok := clientaddr.Peer(r.RemoteAddr); ok && peer.String() != info.ClientIP {
			attrs = append(attrs, slog.String("peer", peer.String())) // the trusted proxy it came through
		}
		if code == edge.StatusClientClosedRequest {
			attrs = append(attrs, slog.String("outcome", "client went away"))
		}
		info.Log.LogAttrs(r.Context(), level, "request", attrs...)
	})
}

// requestID keeps a caller's X-Request-Id when it is short and plain,
// else makes one.
func (s *Server) requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); id != "" && len(id) <= 64 && plain(id) {
		return id
	}
	b, err := s.svc.Gen.Bytes(12)
	if err != nil {
		return strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	return hex.EncodeToString(b)
}

func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
