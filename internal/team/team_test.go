package team

import "testing"

func TestValidateName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"acme", true}, {"a", true}, {"a-1", true}, {"0team", true},
		{"", false}, {"-a", false}, {"a-", false}, {"Acme", false}, {"a.b", false}, {"a_b", false},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", true},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
	} {
		if err := ValidateName(tc.name); (err == nil) != tc.ok {
			t.Errorf("ValidateName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestFromHost(t *testing.T) {
	for _, tc := range []struct {
		host, domain, team string
		ok                 bool
	}{
		{"acme.localhost:8080", "localhost:8080", "acme", true},
		{"ACME.Localhost:8080", "localhost:8080", "acme", true},
		{"acme.localhost:9090", "localhost:8080", "", false},
		{"acme.example.com", "example.com", "acme", true},
		{"acme.example.com:443", "example.com", "acme", true},
		{"acme.example.com.", "example.com", "acme", true},
		{"example.com", "example.com", "", false},
		{"a.b.example.com", "example.com", "", false},
		{"evil-example.com", "example.com", "", false},
		{"acme.example.org", "example.com", "", false},
		{"-x.example.com", "example.com", "", false},
		{"", "example.com", "", false},
	} {
		got, ok := FromHost(tc.host, tc.domain)
		if got != tc.team || ok != tc.ok {
			t.Errorf("FromHost(%q, %q) = %q, %v; want %q, %v", tc.host, tc.domain, got, ok, tc.team, tc.ok)
		}
	}
}
