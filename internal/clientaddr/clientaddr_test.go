package clientaddr_test

import (
	"net/http"
	"net/netip"
	"testing"

	"github.com/gatehouse/gatehouse/internal/clientaddr"
)

var proxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:1::/48")}

func resolver(t testing.TB, trusted []netip.Prefix, header string) *clientaddr.Resolver {
	t.Helper()
	r, err := clientaddr.New(trusted, header)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestResolve(t *testing.T) {
	xff := resolver(t, proxies, clientaddr.XForwardedFor)
	fwd := resolver(t, proxies, "forwarded")
	none := resolver(t, nil, clientaddr.XForwardedFor)
	tests := []struct {
		name   string
		res    *clientaddr.Resolver
		peer   string
		header map[string][]string
		want   string
	}{
		{"no proxies: the peer", none, "203.0.113.7:4711", map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}, "203.0.113.7"},
		{"nil resolver: the peer", nil, "203.0.113.7:4711", map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}, "203.0.113.7"},
		{"untrusted peer: header ignored", xff, "203.0.113.7:4711", map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}, "203.0.113.7"},
		{"trusted peer without header", xff, "10.1.2.3:4711", nil, "10.1.2.3"},
		{"trusted peer", xff, "10.1.2.3:4711", map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}, "198.51.100.1"},
		{"the client's own entries are ignored", xff, "10.1.2.3:4711",
			map[string][]string{"X-Forwarded-For": {"1.2.3.4, 10.9.9.9, 198.51.100.1"}}, "198.51.100.1"},
		{"a chain of trusted proxies", xff, "10.1.2.3:4711",
			map[string][]string{"X-Forwarded-For": {"198.51.100.1, 10.0.0.7", "10.0.0.8"}}, "198.51.100.1"},
		{"every hop trusted: the leftmost", xff, "10.1.2.3:4711", map[string][]string{"X-Forwarded-For": {"10.0.0.7, 10.0.0.8"}}, "10.0.0.7"},
		{"an unreadable hop: the proxy that wrote it", xff, "10.1.2.3:4711",
			map[string][]string{"X-Forwarded-For": {"198.51.100.1, garbage, 10.0.0.8"}}, "10.0.0.8"},
		{"an empty header: the peer", xff, "10.1.2.3:4711", map[string][]string{"X-Forwarded-For": {""}}, "10.1.2.3"},
		{"ports and brackets", xff, "10.1.2.3:4711",
			map[string][]string{"X-Forwarded-For": {"[2001:db8:2::5]:443"}}, "2001:db8:2::5"},
		{"IPv4 with a port", xff, "10.1.2.3:4711", map[string][]string{"X-Forwarded-For": {" 198.51.100.1:80 "}}, "198.51.100.1"},
		{"an IPv6 proxy", xff, "[2001:db8:1::1]:4711", map[string][]string{"X-Forwarded-For": {"2001:db8:9::9"}}, "2001:db8:9::9"},
		{"an IPv4-mapped peer", xff, "[::ffff:10.1.2.3]:4711", map[string][]string{"X-Forwarded-For": {"::ffff:198.51.100.1"}}, "198.51.100.1"},
		{"a zone is not an address", xff, "10.1.2.3:4711", map[string][]string{"X-Forwarded-For": {"fe80::1%eth0"}}, "10.1.2.3"},
		{"the other header is not read", xff, "10.1.2.3:4711", map[string][]string{"Forwarded": {"for=198.51.100.1"}}, "10.1.2.3"},

		{"Forwarded", fwd, "10.1.2.3:4711", map[string][]string{"Forwarded": {"for=198.51.100.1;proto=https;by=10.1.2.3"}}, "198.51.100.1"},
		{"Forwarded, quoted with port", fwd, "10.1.2.3:4711",
			map[string][]string{"Forwarded": {`for="[2001:db8:cafe::17]:4711"`}}, "2001:db8:cafe::17"},
		{"Forwarded, parameter names in any case", fwd, "10.1.2.3:4711", map[string][]string{"Forwarded": {"For=198.51.100.1"}}, "198.51.100.1"},
		{"Forwarded, several elements and lines", fwd, "10.1.2.3:4711",
			map[string][]string{"Forwarded": {"for=1.2.3.4, for=198.51.100.1", "for=10.0.0.9;proto=http"}}, "198.51.100.1"},
		{"Forwarded, unknown", fwd, "10.1.2.3:4711", map[string][]string{"Forwarded": {"for=198.51.100.1, for=unknown"}}, "10.1.2.3"},
		{"Forwarded, obfuscated", fwd, "10.1.2.3:4711", map[string][]string{"Forwarded": {"for=_hidden"}}, "10.1.2.3"},
		{"Forwarded, an element without for", fwd, "10.1.2.3:4711", map[string][]string{"Forwarded": {"for=198.51.100.1, proto=https"}}, "10.1.2.3"},
		{"Forwarded, a quoted comma", fwd, "10.1.2.3:4711",
			map[string][]string{"Forwarded": {`for=198.51.100.1;ext="a,b", for=10.0.0.9`}}, "198.51.100.1"},
		{"Forwarded, untrusted peer", fwd, "203.0.113.7:1", map[string][]string{"Forwarded": {"for=198.51.100.1"}}, "203.0.113.7"},
		{"Forwarded, X-Forwarded-For is not read", fwd, "10.1.2.3:4711", map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}, "10.1.2.3"},

		{"a peer that is not an IP", xff, "@", nil, "@"},
		{"a peer without port", xff, "203.0.113.7", nil, "203.0.113.7"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: tc.peer, Header: http.Header{}}
			for k, vs := range tc.header {
				for _, v := range vs {
					r.Header.Add(k, v)
				}
			}
			if got := tc.res.Resolve(r); got != tc.want {
				t.Errorf("Resolve = %q, want %q", got, tc.want)
			}
		})
	}
}

// Only a peer inside the trusted prefixes is a trusted proxy, whatever the
// request's headers say.
func TestTrustsPeer(t *testing.T) {
	xff := resolver(t, proxies, clientaddr.XForwardedFor)
	none := resolver(t, nil, clientaddr.XForwardedFor)
	tests := []struct {
		name string
		res  *clientaddr.Resolver
		peer string
		want bool
	}{
		{"a trusted IPv4 peer", xff, "10.1.2.3:4711", true},
		{"a trusted IPv6 peer", xff, "[2001:db8:1::1]:4711", true},
		{"an IPv4-mapped trusted peer", xff, "[::ffff:10.1.2.3]:4711", true},
		{"an untrusted peer", xff, "203.0.113.7:4711", false},
		{"no proxies", none, "10.1.2.3:4711", false},
		{"nil resolver", nil, "10.1.2.3:4711", false},
		{"a peer that is not an IP", xff, "@", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: tc.peer, Header: http.Header{"X-Forwarded-For": {"10.0.0.1"}, "Forwarded": {"for=10.0.0.1"}}}
			if got := tc.res.TrustsPeer(r); got != tc.want {
				t.Errorf("TrustsPeer = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestNewRefusesOtherHeaders(t *testing.T) {
	for _, h := range []string{"", "X-Real-IP", "True-Client-IP"} {
		if _, err := clientaddr.New(proxies, h); err == nil {
			t.Errorf("New(%q) accepted", h)
		}
	}
}

// Whatever the header holds, the answer is the peer when it is not a
// trusted proxy, and otherwise an IP address, never a string of the
// header's own.
func FuzzResolve(f *testing.F) {
	for _, s := range []string{
		"198.51.100.1", "1.2.3.4, 10.0.0.1", "[2001:db8::1]:443", "unknown", "",
		`for="[2001:db8:cafe::17]:4711";proto=https`, `for=1.2.3.4;ext="a,\"b", for=10.0.0.2`, "for=_x, for=\"",
	} {
		f.Add("10.1.2.3:80", s)
		f.Add("203.0.113.7:80", s)
	}
	xff := resolver(f, proxies, clientaddr.XForwardedFor)
	fwd := resolver(f, proxies, clientaddr.Forwarded)
	f.Fuzz(func(t *testing.T, peer, header string) {
		for _, res := range []*clientaddr.Resolver{xff, fwd} {
			r := &http.Request{RemoteAddr: peer, Header: http.Header{}}
			r.Header.Set(clientaddr.XForwardedFor, header)
			r.Header.Set(clientaddr.Forwarded, header)
			got := res.Resolve(r)
			p, ok := clientaddr.Peer(peer)
			if !ok {
				continue
			}
			a, err := netip.ParseAddr(got)
			if err != nil {
				t.Fatalf("Resolve(%q, %q) = %q, not an address", peer, header, got)
			}
			trusted := false
			for _, pr := range proxies {
				trusted = trusted || pr.Contains(p)
			}
			if !trusted && a != p {
				t.Fatalf("Resolve(%q, %q) = %q from an untrusted peer", peer, header, got)
			}
		}
	})
}
