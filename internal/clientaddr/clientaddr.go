// Package clientaddr finds the address of the client behind a request:
// the address of the peer that connected, unless that peer is a proxy the
// operator trusts (--trusted-proxies), in which case the forwarding header
// the operator names (--trusted-proxy-header: X-Forwarded-For, or RFC
// 7239's Forwarded) says who the proxy spoke for.
//
// The header is read from its right end, where the nearest proxy wrote:
// each hop that is itself a trusted proxy passes the question one hop to
// the left, and the first hop that is not is the client. What lies to the
// left of it was written by the client and is ignored, so a client can
// never choose its own address by sending the header itself. A hop that
// cannot be read ("unknown", an obfuscated name, garbage) stops the walk
// at the trusted proxy that wrote it: the limits then count that proxy,
// the safe side. Without trusted proxies every request's address is its
// peer's, and the header is never read.
//
// Only one header is read, the one the operator names: a proxy passes on
// the headers it does not write unchanged, so that reading the other one
// would let a client write its own address.
package clientaddr

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// The forwarding headers a Resolver can read.
const (
	XForwardedFor = "X-Forwarded-For"
	Forwarded     = "Forwarded" // RFC 7239
)

// maxHops bounds the hops a Resolver walks through: no chain of proxies is
// that long, and a header full of trusted addresses costs no more.
const maxHops = 32

// Resolver finds requests' client addresses. The zero Resolver trusts no
// proxy: every address is the peer's.
type Resolver struct {
	trusted []netip.Prefix
	header  string
}

// New returns a Resolver that reads header (XForwardedFor or Forwarded)
// from peers inside trusted.
func New(trusted []netip.Prefix, header string) (*Resolver, error) {
	switch http.CanonicalHeaderKey(header) {
	case XForwardedFor, Forwarded:
	default:
		return nil, fmt.Errorf("client address: header %q is neither %s nor %s", header, XForwardedFor, Forwarded)
	}
	return &Resolver{trusted: trusted, header: http.CanonicalHeaderKey(header)}, nil
}

// Resolve returns the address of r's client, as text (an IPv4 address in
// dotted form, an IPv6 one without zone). A peer address that is not an
// IP (a Unix socket, a test's made-up RemoteAddr) is returned as it is.
func (res *Resolver) Resolve(r *http.Request) string {
	peer, ok := Peer(r.RemoteAddr)
	if !ok {
		return hostOf(r.RemoteAddr)
	}
	if res == nil || !res.trusts(peer) {
		return peer.String()
	}
	var hops []string
	for _, v := range r.Header.Values(res.header) {
		if res.header == Forwarded {
			hops = append(hops, forwardedFors(v)...)
		} else {
			hops = append(hops, strings.Split(v, ",")...)
		}
	}
	last := peer // the nearest hop known to be a trusted proxy
	for i, n := len(hops)-1, 0; i >= 0 && n < maxHops; i, n = i-1, n+1 {
		a, ok := parseNode(hops[i])
		if !ok {
			return last.String()
		}
		if !res.trusts(a) {
			return a.String()
		}
		last = a
	}
	return last.String()
}

// TrustsPeer reports whether r came straight from one of the proxies the
// operator trusts: what only such a proxy may tell (the client's address,
// the original request it asks a decision for) is believed from r, and
// from no one else. The zero and the nil Resolver trust no one.
func (res *Resolver) TrustsPeer(r *http.Request) bool {
	peer, ok := Peer(r.RemoteAddr)
	return ok && res != nil && res.trusts(peer)
}

func (res *Resolver) trusts(a netip.Addr) bool {
	for _, p := range res.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Peer parses a RemoteAddr ("ip:port"; "[v6]:port") into an address,
// IPv4-mapped IPv6 addresses as IPv4, without zone.
func Peer(remoteAddr string) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		a, err := netip.ParseAddr(remoteAddr)
		if err != nil {
			return netip.Addr{}, false
		}
		return a.Unmap().WithZone(""), true
	}
	return ap.Addr().Unmap().WithZone(""), true
}

// hostOf is the host part of a RemoteAddr that is not an IP address.
func hostOf(remoteAddr string) string {
	if h, _, err := net.SplitHostPort(remoteAddr); err == nil {
		return h
	}
	return remoteAddr
}

// parseNode reads one hop: an IP address, optionally with a port
// ("192.0.2.1:443", "[2001:db8::1]:443") or in brackets ("[2001:db8::1]"),
// as both headers write them. Anything else is not a hop it can read.
func parseNode(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil && ap.Addr().Zone() == "" {
		return ap.Addr().Unmap(), true
	}
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil && a.Is6() && a.Zone() == "" {
			return a.Unmap(), true
		}
	}
	return netip.Addr{}, false
}

// forwardedFors returns, for each element of a Forwarded header value (RFC
// 7239 section 4: elements separated by commas, pairs by semicolons, each
// value a token or a quoted-string), the value of its "for" parameter; ""
// for an element without one, which names no address.
func forwardedFors(v string) []string {
	var out []string
	for _, elem := range splitQuoted(v, ',') {
		if strings.TrimSpace(elem) == "" {
			continue
		}
		node := ""
		for _, pair := range splitQuoted(elem, ';') {
			name, value, ok := strings.Cut(strings.TrimSpace(pair), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(name), "for") {
				continue
			}
			node = unquote(strings.TrimSpace(value))
		}
		out = append(out, node)
	}
	return out
}

// splitQuoted splits s at sep outside double quotes (a backslash escapes
// the next character inside them).
func splitQuoted(s string, sep byte) []string {
	var (
		out     []string
		start   int
		quoted  bool
		escaped bool
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case escaped:
			escaped = false
		case quoted && c == '\\':
			escaped = true
		case c == '"':
			quoted = !quoted
		case !quoted && c == sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// unquote returns a quoted-string's content (RFC 7230 section 3.2.6), or a
// token as it is. A malformed quoted-string is returned as it is, which no
// address parses.
func unquote(s string) string {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return s
	}
	var b strings.Builder
	for i := 1; i < len(s)-1; i++ {
		if s[i] == '\\' && i+1 < len(s)-1 {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
