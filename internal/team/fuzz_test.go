package team

import (
	"net"
	"strings"
	"testing"
)

// refLower lowers A-Z only, as DNS compares names (RFC 4343).
func refLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// The Host of every request picks its team. FromHost finds a team only in
// <label>.<domain>, with label a valid team name and the rest the domain
// under DNS's ASCII-only case folding (with the domain's port, if it has
// one); the team of a team's own host is that team.
func FuzzFromHost(f *testing.F) {
	for _, hd := range [][2]string{
		{"acme.gatehouse.test", "gatehouse.test"}, {"ACME.Gatehouse.Test.", "gatehouse.test"},
		{"acme.gatehouse.test:8443", "gatehouse.test"}, {"acme.localhost:8080", "localhost:8080"},
		{"acme.localhost:9090", "localhost:8080"}, {"a.b.gatehouse.test", "gatehouse.test"},
		{"gatehouse.test", "gatehouse.test"}, {".gatehouse.test", "gatehouse.test"}, {"-x.gatehouse.test", "gatehouse.test"},
		{"\u212aelvin.gatehouse.test", "gatehouse.test"}, {"adm\u0130n.gatehouse.test", "gatehouse.test"},
		{"acme.gatehouse.test.:80", "gatehouse.test"}, {"[::1]:80", "gatehouse.test"},
	} {
		f.Add(hd[0], hd[1])
	}
	f.Fuzz(func(t *testing.T, host, domain string) {
		name, ok := FromHost(host, domain)
		if !ok {
			return
		}
		if ValidateName(name) != nil {
			t.Fatalf("FromHost(%q, %q) = %q, not a team name", host, domain, name)
		}
		h := strings.TrimSuffix(host, ".")
		if _, _, err := net.SplitHostPort(domain); err != nil {
			if hh, _, err := net.SplitHostPort(h); err == nil {
				h = hh
			}
		}
		if refLower(h) != name+"."+refLower(domain) {
			t.Errorf("FromHost(%q, %q) = %q, but the host is not %q.<domain> in ASCII case folding", host, domain, name, name)
		}
		if got, ok := FromHost(Host(name, domain), domain); !ok || got != name {
			t.Errorf("FromHost(Host(%q, %q)) = %q, %v", name, domain, got, ok)
		}
	})
}
