package gateway

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// headerKey is a header name as servers that map headers to variables
// (CGI, WSGI, Rack, PHP) read it: lower case, '_' for '-'. X_Real_IP and
// X-Real-Ip are one header to them, so they are one header here.
func headerKey(name string) string {
	b := []byte(name)
	for i, c := range b {
		switch {
		case c >= 'A' && c <= 'Z':
			b[i] = c + 'a' - 'A'
		case c == '_':
			b[i] = '-'
		}
	}
	return string(b)
}

// overrides are the request headers that make an upstream (or a framework
// in front of it) act on another method, another path or another client
// address than the ones the gateway checked. The gateway strips them, and
// every X-Forwarded-* (it sets its own X-Forwarded-For, -Host and -Proto),
// unless a route passes them (pass_headers).
var overrides = []string{
	// another method than the route's
	"x-http-method-override", "x-http-method", "x-method-override", "x-original-method",
	// another path than the one the permission was checked for
	"x-original-url", "x-original-uri", "x-rewrite-url", "x-envoy-original-path", "x-original-path",
	// another host or scheme
	"x-host", "x-original-host", "x-url-scheme", "front-end-https",
	// another client address
	"x-real-ip", "true-client-ip", "x-client-ip", "client-ip", "x-cluster-client-ip", "x-originating-ip",
	"x-remote-ip", "x-remote-addr", "cf-connecting-ip", "fastly-client-ip", "x-azure-clientip",
	"x-appengine-user-ip", "cluster-client-ip",
}

// forwarded are the X-Forwarded-* headers the gateway sets itself: no
// route may pass the caller's.
var forwarded = []string{"x-forwarded-for", "x-forwarded-host", "x-forwarded-proto"}

// isOverride reports whether the header key k (headerKey) is one the
// gateway strips unless a route passes it.
func isOverride(k string) bool {
	return strings.HasPrefix(k, "x-forwarded-") || slices.Contains(overrides, k)
}

// isGatehouseHeader reports whether the header key k (headerKey) starts
// with X-Gatehouse-: the gateway's own headers to the upstream, which a
// caller may never send.
func isGatehouseHeader(k string) bool { return strings.HasPrefix(k, "x-gatehouse-") }

// parsePassHeaders checks a route's pass_headers: each must be a header
// the gateway would strip, and not one it sets itself.
func parsePassHeaders(names []string) (map[string]bool, []error) {
	var errs []error
	pass := map[string]bool{}
	for _, n := range names {
		k := headerKey(strings.TrimSpace(n))
		switch {
		case k == "" || !isToken(k):
			errs = append(errs, fmt.Errorf("pass_headers: %q is not a header name", n))
		case k == "authorization" || k == "cookie" || k == "forwarded" || isGatehouseHeader(k):
			errs = append(errs, fmt.Errorf("pass_headers: %s is Gatehouse's own: the gateway never passes the caller's", http.CanonicalHeaderKey(k)))
		case slices.Contains(forwarded, k):
			errs = append(errs, fmt.Errorf("pass_headers: %s is set by the gateway itself", http.CanonicalHeaderKey(k)))
		case !isOverride(k):
			errs = append(errs, fmt.Errorf("pass_headers: %s is never stripped, so it needs no passing (the list takes the override and client-address headers, and X-Forwarded-*)", http.CanonicalHeaderKey(k)))
		default:
			pass[k] = true
		}
	}
	return pass, errs
}

// isToken reports whether s is an HTTP token (RFC 9110 section 5.6.2).
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return s != ""
}

// ownCookie reports whether the Set-Cookie value line sets one of
// Gatehouse's own cookies: a name that starts with gatehouse_, in any
// case, maybe behind a __Host- or __Secure- prefix. internal/webui names
// its cookies so (gatehouse_session, gatehouse_login); an upstream may
// not set, replace or delete them.
func ownCookie(line string) bool {
	pair, _, _ := strings.Cut(line, ";")
	name, _, _ := strings.Cut(pair, "=") // no '=': browsers take the whole pair
	name = strings.ToLower(strings.Trim(name, " \t\""))
	for _, prefix := range []string{"__host-", "__secure-"} {
		name = strings.TrimPrefix(name, prefix)
	}
	return strings.HasPrefix(name, "gatehouse_")
}

// sandbox is the Content-Security-Policy of every proxied response on a
// shared origin: the browser renders an upstream's HTML (or SVG, or XML)
// in an opaque origin of its own, with no script, so that nothing an
// upstream sends can read or drive the sign-in, consent and profile pages
// that share its origin.
const sandbox = "sandbox"

// modifyResponse applies the response rules of the package documentation
// to an upstream's answer.
func (rt *route) modifyResponse(own bool) func(*http.Response) error {
	return func(resp *http.Response) error {
		h := resp.Header
		if lines := h["Set-Cookie"]; len(lines) > 0 {
			kept := lines[:0:0]
			for _, l := range lines {
				if !ownCookie(l) {
					kept = append(kept, l)
				}
			}
			if len(kept) == 0 {
				delete(h, "Set-Cookie")
			} else {
				h["Set-Cookie"] = kept
			}
		}
		if own {
			return nil
		}
		// Shared origin: one more policy can only narrow what the
		// upstream's own policies allow.
		h.Add("Content-Security-Policy", sandbox)
		h.Set("X-Content-Type-Options", "nosniff")
		// It would erase the sign-in session and storage of the origin.
		h.Del("Clear-Site-Data")
		return nil
	}
}
