package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/edge"
)

// Authorizer applies the access rule to a gateway request.
type Authorizer interface {
	// Authorize authenticates r and applies the access rule for scope,
	// action and resource; when the call is denied it has written the
	// answer (RFC 6750 401/403, JSON) and returns false.
	Authorize(w http.ResponseWriter, r *http.Request, scope, action, resource string) (authz.Subject, bool)
}

// Handler returns the handler of t's routes that have an upstream, which
// authorizes each request with auth and proxies it. It answers a request
// that matches no such route 404 (or 405, with Allow, when another method
// would match), in JSON: decision-only routes are for forward
// authentication, not for the gateway.
func (t *Table) Handler(auth Authorizer) http.Handler {
	mux := http.NewServeMux()
	for _, rt := range t.routes {
		if rt.proxy != nil {
			mux.Handle(rt.pattern.String(), &routeHandler{rt: rt, auth: auth})
		}
	}
	mux.HandleFunc("/", t.unmatched)
	return mux
}

// unmatched answers a request that matches no route.
func (t *Table) unmatched(w http.ResponseWriter, r *http.Request) {
	var allow []string
	probe := r.WithContext(r.Context()) // a shallow copy, to change its method
	for _, m := range t.methods {
		if m == r.Method {
			continue
		}
		probe.Method = m
		if _, p := t.proxied.Handler(probe); p != "" && !slices.Contains(allow, m) {
			allow = append(allow, m)
			if m == http.MethodGet && !slices.Contains(t.methods, http.MethodHead) {
				allow = append(allow, http.MethodHead)
			}
		}
	}
	if allow == nil {
		edge.NotFound(w, r)
		return
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	edge.Error(w, http.StatusMethodNotAllowed, "method_not_allowed", "method "+r.Method+" is not allowed here; allowed: "+strings.Join(allow, ", "))
}

// routeHandler serves one route: it checks the path values, authorizes
// and proxies.
type routeHandler struct {
	rt   *route
	auth Authorizer
}

// identity is who made a call that the rule allowed, as the upstream is
// told (X-Gatehouse-Team, -Principal, -Scopes).
type identity struct {
	team, principal, scopes string
}

// decide is the access rule's decision on r for route rt: the one
// decision of the gateway and of forward authentication alike. It checks
// r's path (refused with status badPath and the error code badCode) and
// fills the route's resource in from r's path values, then has auth
// authenticate r and apply the rule, which writes its own refusals (RFC
// 6750 401 and 403, the static keys' sunset headers, the audit of every
// denial). When the call is refused, the answer is written and decide
// returns false.
func (rt *route) decide(w http.ResponseWriter, r *http.Request, auth Authorizer, badPath int, badCode string) (identity, bool) {
	resource, err := rt.resourceOf(r)
	if err != nil {
		edge.Error(w, badPath, badCode, err.Error())
		return identity{}, false
	}
	subj, ok := auth.Authorize(w, r, rt.Scope, rt.Action, resource)
	if !ok {
		return identity{}, false
	}
	info := edge.RequestInfo(r)
	id := identity{team: info.Team.Name, principal: subj.Principal.String()}
	if id.team == "" {
		id.team = subj.Team
	}
	if info.Principal == "" {
		info.Principal = id.principal
	}
	if subj.AllScopes {
		id.scopes = "*"
	} else {
		id.scopes = strings.Join(subj.Scopes, " ")
	}
	return id, true
}

// forward is what the upstream is told of an authorized request.
type forward struct {
	identity
	requestID, proto string
}

type forwardKey struct{}

// deadlineKey holds a call's *deadlines in the context of the request
// that the proxy serves.
type deadlineKey struct{}

// deadlines are a call's bounds, to tell which one ended it.
type deadlines struct {
	body *timedBody // nil: no request body
}

// answerGrace is how long past max_duration the gateway's own answer (a
// 504) may take to reach the caller; the write deadline also ends the
// call of a caller that stops reading.
const answerGrace = 5 * time.Second

// errMaxDuration is the cause of a call's context that ran past the
// route's max_duration.
var errMaxDuration = errors.New("the call ran past the route's max_duration")

func (h *routeHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt := h.rt
	id, ok := rt.decide(w, r, h.auth, http.StatusBadRequest, "invalid_request")
	if !ok {
		return
	}
	start := time.Now()

	info := edge.RequestInfo(r)
	f := &forward{identity: id, requestID: info.RequestID}
	if scheme, _, ok := strings.Cut(info.TeamURL, "://"); ok {
		f.proto = scheme
	}

	// An authorized call gets the route's deadlines instead of the
	// server's, which fit Gatehouse's own endpoints, not arbitrary APIs:
	// the caller sends its body within body_timeout, and the whole call,
	// however long it streams, ends within max_duration. (Not every
	// ResponseWriter supports deadlines; the context still bounds the
	// call.) Its body is not capped by the server's body limit: the
	// upstream's limits apply.
	ctx, cancel := context.WithDeadlineCause(r.Context(), start.Add(rt.MaxDuration), errMaxDuration)
	defer cancel()
	dl := &deadlines{}
	ctx = context.WithValue(context.WithValue(ctx, forwardKey{}, f), deadlineKey{}, dl)
	out := r.WithContext(ctx)
	edge.LiftBodyLimit(out)
	rc := http.NewResponseController(w)
	if out.Body != nil && out.Body != http.NoBody && out.ContentLength != 0 {
		// Set only while a body is to be read: once it is, net/http
		// clears the read deadline to watch the connection, and a
		// deadline left for that watch would cancel the call.
		_ = rc.SetReadDeadline(start.Add(min(rt.BodyTimeout, rt.MaxDuration)))
		dl.body = &timedBody{ReadCloser: out.Body}
		out.Body = dl.body
	}
	_ = rc.SetWriteDeadline(start.Add(rt.MaxDuration + answerGrace))

	rt.proxy.ServeHTTP(w, out)
}

// timedBody is a request body read under the route's body_timeout; it
// notes whether a read ran out of time.
type timedBody struct {
	io.ReadCloser
	timedOut atomic.Bool
}

func (b *timedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	var ne net.Error
	if err != nil && (errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()) {
		b.timedOut.Store(true)
	}
	return n, err
}

// resourceOf checks r's path values and fills them into the route's
// resource template.
func (rt *route) resourceOf(r *http.Request) (string, error) {
	if err := checkPath(r.URL.EscapedPath()); err != nil {
		return "", err
	}
	for _, name := range rt.pattern.names {
		if err := checkValue(name, r.PathValue(name), name == rt.pattern.rest, rt.used[name]); err != nil {
			return "", err
		}
	}
	var b strings.Builder
	for _, p := range rt.resource {
		if p.name == "" {
			b.WriteString(p.lit)
		} else {
			b.WriteString(r.PathValue(p.name))
		}
	}
	res := b.String()
	if err := authz.ValidateResource(res); err != nil { // what is left to fail: the length
		return "", fmt.Errorf("%w: %w", errPathValue, err)
	}
	return res, nil
}

// flushInterval is how late a write of the upstream may reach the caller
// when the response has a Content-Length. Chunked responses and event
// streams (text/event-stream) are flushed on every write whatever it is
// (net/http/httputil); a short delay for the others spares ordinary
// responses a flush per write, some 15% of BenchmarkGateway's throughput
// against -1.
const flushInterval = 10 * time.Millisecond

// newProxy makes the reverse proxy of a route; ownOrigin: see
// Options.OwnOrigin.
func newProxy(rt *route, tr http.RoundTripper, log *slog.Logger, ownOrigin bool) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite:        rt.rewrite,
		Transport:      tr,
		FlushInterval:  flushInterval,
		BufferPool:     buffers,
		ModifyResponse: rt.modifyResponse(ownOrigin),
		ErrorHandler:   rt.proxyError,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// rewrite makes the upstream request from the caller's, as the package
// documentation says.
func (rt *route) rewrite(pr *httputil.ProxyRequest) {
	pr.SetURL(rt.upstream) // scheme, host, path prefix; the Host header is the upstream's

	h := pr.Out.Header
	for k := range h {
		switch hk := headerKey(k); {
		case hk == "authorization" || hk == "cookie" || hk == "forwarded" || isGatehouseHeader(hk):
			delete(h, k)
		case isOverride(hk) && !(rt.pass[hk] && !strings.Contains(k, "_")): // passed as spelled in the file, not as X_...
			delete(h, k)
		}
	}
	pr.SetXForwarded()
	// The client, not the socket's peer: behind --trusted-proxies the
	// address the proxies named (edge.ClientIP).
	if ip := edge.ClientIP(pr.In); ip != "" {
		h["X-Forwarded-For"] = []string{ip}
	}
	f, _ := pr.In.Context().Value(forwardKey{}).(*forward)
	if f == nil {
		return // unreachable: routeHandler always sets it
	}
	v := [...]string{f.team, f.principal, f.scopes, f.proto, f.requestID} // one allocation for all
	h["X-Gatehouse-Team"] = v[0:1:1]
	h["X-Gatehouse-Principal"] = v[1:2:2]
	h["X-Gatehouse-Scopes"] = v[2:3:3]
	if f.proto != "" {
		h["X-Forwarded-Proto"] = v[3:4:4] // the team URL's, which a TLS-terminating balancer hides
	}
	if f.requestID != "" {
		h["X-Request-Id"] = v[4:5:5]
	}
}

// proxyError answers a request that the upstream did not answer.
func (rt *route) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	log := edge.RequestInfo(r).Log
	var (
		tooBig *http.MaxBytesError
		ne     net.Error
	)
	dl, _ := r.Context().Value(deadlineKey{}).(*deadlines)
	switch {
	case errors.As(err, &tooBig):
		edge.Error(w, http.StatusRequestEntityTooLarge, "request_too_large", fmt.Sprintf("the request body is larger than %d bytes", tooBig.Limit))
	case dl != nil && dl.body != nil && dl.body.timedOut.Load():
		// The server has given up on the connection's reads; the answer
		// still goes out, and the connection is closed after it.
		log.Info("gateway: the caller's body did not arrive in time", "upstream", rt.upstream.Host, "body_timeout", rt.BodyTimeout)
		w.Header().Set("Connection", "close")
		edge.Error(w, http.StatusRequestTimeout, "request_timeout",
			fmt.Sprintf("the request body did not arrive within %s", min(rt.BodyTimeout, rt.MaxDuration)))
	case errors.Is(context.Cause(r.Context()), errMaxDuration):
		log.Warn("gateway: call ran past max_duration", "upstream", rt.upstream.Host, "max_duration", rt.MaxDuration)
		edge.Error(w, http.StatusGatewayTimeout, "gateway_timeout", fmt.Sprintf("the upstream did not answer within %s", rt.MaxDuration))
	case r.Context().Err() != nil:
		// The caller left: nobody reads this answer, but the log shows it.
		log.Debug("gateway: caller went away", "upstream", rt.upstream.Host, "err", err)
		edge.Error(w, http.StatusBadGateway, "bad_gateway", "the request was canceled")
	case errors.As(err, &ne) && ne.Timeout():
		log.Warn("gateway: upstream timed out", "upstream", rt.upstream.Host, "timeout", rt.Timeout, "err", err)
		edge.Error(w, http.StatusGatewayTimeout, "gateway_timeout", fmt.Sprintf("the upstream did not answer within %s", rt.Timeout))
	default:
		log.Warn("gateway: upstream unreachable", "upstream", rt.upstream.Host, "err", err)
		edge.Error(w, http.StatusBadGateway, "bad_gateway", "the upstream could not be reached")
	}
}

// buffers are the proxies' copy buffers, shared so that a response costs
// no 32 KiB allocation.
var buffers = &bufferPool{}

type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if buf, ok := b.p.Get().(*[]byte); ok {
		return *buf
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }

// pool holds one transport per upstream origin and timeout, so that the
// routes to an upstream share its keep-alive connections, across reloads
// too.
type pool struct {
	mu sync.Mutex
	m  map[transportKey]*http.Transport
}

type transportKey struct {
	scheme, host string
	timeout      time.Duration
}

func newPool() *pool { return &pool{m: map[transportKey]*http.Transport{}} }

// transport returns the transport to u's origin whose response header
// timeout is timeout.
func (p *pool) transport(u *url.URL, timeout time.Duration) *http.Transport {
	k := transportKey{u.Scheme, u.Host, timeout}
	p.mu.Lock()
	defer p.mu.Unlock()
	if tr, ok := p.m[k]; ok {
		return tr
	}
	dial := &net.Dialer{Timeout: min(timeout, 10*time.Second), KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		// Upstreams are named by the route file; HTTP_PROXY and friends are
		// not for them.
		Proxy:                 nil,
		DialContext:           dial.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          0, // no total limit: per host below
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   min(timeout, 10*time.Second),
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: timeout,
		// Pass bodies as they are: the caller chose its Accept-Encoding.
		DisableCompression: true,
	}
	p.m[k] = tr
	return tr
}

// retain keeps the transports that t's routes use and closes the idle
// connections of the others, which no new request will take. Requests in
// flight on them finish undisturbed.
func (p *pool) retain(t *Table) {
	keep := map[transportKey]bool{}
	for _, rt := range t.routes {
		if rt.upstream == nil {
			continue
		}
		keep[transportKey{rt.upstream.Scheme, rt.upstream.Host, rt.Timeout}] = true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, tr := range p.m {
		if !keep[k] {
			tr.CloseIdleConnections()
			delete(p.m, k)
		}
	}
}
