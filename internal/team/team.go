// Package team names tenants and finds them in request hosts: every team
// is served at <team>.<domain>.
package team

import (
	"errors"
	"fmt"
	"net"
	"strings"
)

// ErrInvalidName reports a team name that is not a DNS label.
var ErrInvalidName = errors.New("invalid team name")

// ValidateName checks that name is a DNS label of lower-case letters,
// digits and inner hyphens, at most 63 long (RFC 1123 section 2.1).
func ValidateName(name string) error {
	if len(name) == 0 || len(name) > 63 {
		return fmt.Errorf("%w %q: must be 1 to 63 characters", ErrInvalidName, name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("%w %q: only a-z, 0-9 and '-' are allowed", ErrInvalidName, name)
		}
	}
	if name[0] == '-' || name[len(name)-1] == '-' {
		return fmt.Errorf("%w %q: must not start or end with '-'", ErrInvalidName, name)
	}
	return nil
}

// FromHost returns the team named by a request's Host under domain, or
// false when the host is not <valid label>.<domain>. Host and domain compare
// case-insensitively in ASCII only, as DNS names do (RFC 4343): Unicode
// case mapping would read "\u212aelvin" (KELVIN SIGN) as the team "kelvin";
// a port on the host must match the domain's, and a domain without a port
// matches a host on any port.
func FromHost(host, domain string) (string, bool) {
	host = asciiLower(strings.TrimSuffix(host, "."))
	domain = asciiLower(domain)
	if _, _, err := net.SplitHostPort(domain); err != nil {
		// The domain names no port: ignore the host's.
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
	}
	name, ok := strings.CutSuffix(host, "."+domain)
	if !ok || ValidateName(name) != nil {
		return "", false
	}
	return name, true
}

// URL is the team's URL, which is also its token issuer.
func URL(scheme, name, domain string) string {
	return scheme + "://" + name + "." + domain
}

// Host is the team's host, the audience of its access tokens.
func Host(name, domain string) string { return name + "." + domain }

// asciiLower maps A-Z to a-z and leaves every other byte as it is.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
