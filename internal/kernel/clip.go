package kernel

import (
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/store"
)

// The bounds of the strings that audit events, login history and log
// lines keep, in bytes. Whatever a request sends, a record holds at most
// this much of it: a 1 MB User-Agent costs a request, not a row.
const (
	MaxUserAgent = 256
	// MaxIP holds any IPv6 address with a zone.
	MaxIP = 64
	// MaxEmail is RFC 5321's limit of a path (what the login form may
	// name).
	MaxEmail = 320
	// MaxName bounds an actor, a target and a logged path: every
	// principal, client, key and resource the server validates is far
	// shorter.
	MaxName = 1024
	// MaxDetail bounds each value of an audit event's detail.
	MaxDetail = 4096
)

// Clip returns s as at most n bytes of valid UTF-8 without NUL: a byte that
// is not UTF-8, and NUL (which PostgreSQL's text refuses), become U+FFFD,
// and a cut never splits a character. A string within the bounds comes
// back as it is, without an allocation.
func Clip(s string, n int) string {
	if len(s) <= n && clean(s) {
		return s
	}
	// Replacements only lengthen what precedes them, so nothing past
	// n+UTFMax can end up within n bytes.
	if len(s) > n+utf8.UTFMax {
		s = s[:n+utf8.UTFMax]
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

// clean reports whether s is valid UTF-8 without NUL, in one pass over
// the ASCII that most of these strings are.
func clean(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == 0:
			return false
		case c >= utf8.RuneSelf:
			return utf8.ValidString(s[i:]) && strings.IndexByte(s[i:], 0) < 0
		}
	}
	return true
}

// clipEvent bounds every string of e that a request may have supplied.
// The detail map is copied only when a value is clipped.
func clipEvent(e store.AuditEvent) store.AuditEvent {
	e.Actor = Clip(e.Actor, MaxName)
	e.Target = Clip(e.Target, MaxName)
	e.IP = Clip(e.IP, MaxIP)
	e.UserAgent = Clip(e.UserAgent, MaxUserAgent)
	for _, v := range e.Detail {
		if c := Clip(v, MaxDetail); c != v {
			d := make(map[string]string, len(e.Detail))
			for k, v := range e.Detail {
				d[k] = Clip(v, MaxDetail)
			}
			e.Detail = d
			break
		}
	}
	return e
}
