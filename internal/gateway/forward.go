package gateway

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse/internal/edge"
)

// The paths of forward authentication on a team's host.
const (
	// ForwardPath is where NGINX auth_request, Caddy forward_auth and
	// Traefik ForwardAuth ask, with any method.
	ForwardPath = "/api/authz/forward"
	// EnvoyPrefix is Envoy ext_authz's path_prefix: Envoy appends the
	// original path (and query) to it and keeps the original method.
	EnvoyPrefix = "/api/authz/envoy"
)

// The headers that name the original request of a forward authentication
// request: the X-Forwarded-* of Caddy forward_auth and Traefik
// ForwardAuth, and the X-Original-* of the usual NGINX auth_request
// configuration.
var (
	hForwardedMethod = header{"X-Forwarded-Method", "X-Forwarded-Method"}
	hForwardedURI    = header{"X-Forwarded-Uri", "X-Forwarded-Uri"}
	hOriginalMethod  = header{"X-Original-Method", "X-Original-Method"}
	hOriginalURI     = header{"X-Original-Uri", "X-Original-URI"}
)

// header is a header's canonical key and the name messages give it.
type header struct{ key, name string }

// maxOriginalURI bounds the original URI a proxy may name: longer than
// any route's path needs, shorter than the header limit.
const maxOriginalURI = 8 << 10

// ServeForward is forward authentication (ForwardPath, any method): it
// decides, with the gateway's own decision (route.decide), the request a
// proxy holds, named by the proxy's headers, and answers 200 without a
// body, with X-Gatehouse-Team, X-Gatehouse-Principal and
// X-Gatehouse-Scopes for the proxy to pass on; or the decision's 401 or
// 403; never a redirect. The original method and URI are taken from
// X-Forwarded-Method and X-Forwarded-Uri, or X-Original-Method and
// X-Original-URI, and only from a trusted proxy (Options.TrustedPeer):
// anyone else is refused 403, so that no client can choose the route it
// is judged by. Both spellings of one, sent with different values, or
// one sent twice, are refused too: a proxy sets one and passes the other
// on as the client sent it.
func (g *Gateway) ServeForward(w http.ResponseWriter, r *http.Request) {
	if !g.trusted(w, r) {
		return
	}
	method, status, err := originalOf(r.Header, hForwardedMethod, hOriginalMethod)
	if err == "" {
		var uri string
		uri, status, err = originalOf(r.Header, hForwardedURI, hOriginalURI)
		if err == "" {
			g.decideOriginal(w, r, method, uri)
			return
		}
	}
	refuse(w, status, err)
}

// ServeEnvoy is Envoy's ext_authz HTTP service (EnvoyPrefix and below,
// any method): the original request is the request itself, its path less
// EnvoyPrefix, its method and its query. Envoy sends the original Host,
// which must therefore be the team's host (or its gateway host). Only
// trusted proxies are answered, as by ServeForward.
func (g *Gateway) ServeEnvoy(w http.ResponseWriter, r *http.Request) {
	if !g.trusted(w, r) {
		return
	}
	path, ok := strings.CutPrefix(r.URL.EscapedPath(), EnvoyPrefix)
	if !ok || path != "" && path[0] != '/' {
		refuse(w, http.StatusBadRequest, "the path does not start with "+EnvoyPrefix+"/: set Envoy's path_prefix to "+EnvoyPrefix)
		return
	}
	if path == "" {
		path = "/"
	}
	if r.URL.RawQuery != "" {
		path += "?" + r.URL.RawQuery
	}
	g.decideOriginal(w, r, r.Method, path)
}

// trusted refuses a request whose peer is not a trusted proxy.
func (g *Gateway) trusted(w http.ResponseWriter, r *http.Request) bool {
	if g.opts.TrustedPeer != nil && g.opts.TrustedPeer(r) {
		return true
	}
	refuse(w, http.StatusForbidden, "forward authentication answers only the proxies named by --trusted-proxies")
	return false
}

// originalOf reads the original request's method or URI from the header
// named modern (X-Forwarded-*) or the one named legacy (X-Original-*).
// A problem is returned as a status and a description: 400 for a proxy
// that sent neither (its configuration lacks them), 403 for values that a
// client may have chosen.
func originalOf(h http.Header, modern, legacy header) (string, int, string) {
	m, l := h[modern.key], h[legacy.key]
	switch {
	case len(m) > 1 || len(l) > 1:
		return "", http.StatusForbidden, "the proxy sent " + modern.name + " or " + legacy.name + " more than once"
	case len(m) == 1 && len(l) == 1 && m[0] != l[0]:
		return "", http.StatusForbidden, "the proxy sent " + modern.name + " and " + legacy.name + " with different values: set both, or remove the one it does not set"
	case len(m) == 1:
		return m[0], 0, ""
	case len(l) == 1:
		return l[0], 0, ""
	}
	return "", http.StatusBadRequest, "the proxy sent neither " + modern.name + " nor " + legacy.name + " (see the README's proxy configurations)"
}

// decideOriginal decides the original request, method and uri, with the
// credential of r.
func (g *Gateway) decideOriginal(w http.ResponseWriter, r *http.Request, method, uri string) {
	if !isMethod(method) || len(method) > 32 {
		refuse(w, http.StatusForbidden, "the original method is not an HTTP method")
		return
	}
	if len(uri) > maxOriginalURI || !strings.HasPrefix(uri, "/") {
		refuse(w, http.StatusForbidden, "the original URI is not a path (origin-form, at most 8 KiB)")
		return
	}
	u, err := url.ParseRequestURI(uri)
	if err != nil || u.Host != "" || u.Scheme != "" {
		refuse(w, http.StatusForbidden, "the original URI cannot be read")
		return
	}
	// Before matching: a path that a ServeMux would clean is refused
	// here, never redirected.
	if err := checkPath(u.EscapedPath()); err != nil {
		refuse(w, http.StatusForbidden, err.Error())
		return
	}
	// The original request: r's credential, context and address, with
	// the original method and URI. (A shallow copy: nothing of r
	// changes.)
	o := r.WithContext(r.Context())
	o.Method, o.URL, o.RequestURI, o.Pattern = method, u, uri, ""
	g.current.Load().decider.ServeHTTP(w, o)
}

// decider decides the requests of forward authentication with a table's
// routes, every one of them, decision-only or not.
type decider struct{ mux *http.ServeMux }

// decider returns the decider of t's routes, which authorizes with auth.
func (t *Table) decider(auth Authorizer) *decider {
	d := &decider{mux: http.NewServeMux()}
	for _, rt := range t.routes {
		d.mux.Handle(rt.pattern.String(), &decisionHandler{rt: rt, auth: auth})
	}
	return d
}

func (d *decider) ServeHTTP(w http.ResponseWriter, o *http.Request) {
	// Handler is asked first: where no route's handler would serve o, a
	// ServeMux answers 404 or redirects (to add a trailing slash, say),
	// and forward authentication refuses instead.
	if h, _ := d.mux.Handler(o); !isDecision(h) {
		refuse(w, http.StatusForbidden, "no route matches "+o.Method+" "+o.URL.Path)
		return
	}
	d.mux.ServeHTTP(w, o)
}

func isDecision(h http.Handler) bool {
	_, ok := h.(*decisionHandler)
	return ok
}

// decisionHandler answers forward authentication for one route.
type decisionHandler struct {
	rt   *route
	auth Authorizer
}

func (h *decisionHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, ok := h.rt.decide(w, r, h.auth, http.StatusForbidden, "forbidden")
	if !ok {
		return
	}
	v := [...]string{id.team, id.principal, id.scopes, "no-store"} // one allocation for all
	hd := w.Header()
	hd["X-Gatehouse-Team"] = v[0:1:1]
	hd["X-Gatehouse-Principal"] = v[1:2:2]
	hd["X-Gatehouse-Scopes"] = v[2:3:3]
	hd["Cache-Control"] = v[3:4:4]
	w.WriteHeader(http.StatusOK)
}

// refuse answers a forward authentication request that is not decided:
// 400 for a proxy whose configuration lacks what it must send, 403 for
// the rest.
func refuse(w http.ResponseWriter, status int, description string) {
	code := "forbidden"
	if status == http.StatusBadRequest {
		code = "invalid_request"
	}
	w.Header().Set("Cache-Control", "no-store")
	edge.Error(w, status, code, description)
}
