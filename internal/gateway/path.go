package gateway

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// checkPath checks the path of a request that matched a route, as sent
// (escaped), before anything acts on it: every segment, once unescaped,
// must be one the upstream cannot read as a step out of the route's
// prefix, however it decodes and normalizes paths. Refused, in any
// segment, literal or wildcard, used by the permission or not:
//
//   - ".", "..", or a segment of only dots and spaces ("...", ". .",
//     which Windows servers trim to ".." or less), also before a ';'
//     (Tomcat reads "..;x" as "..");
//   - '/' or '\' (sent as %2F or %5C, or a backslash as is), which
//     servers split on;
//   - '%' (sent as %25): a second escape, such as %252e%252e, that an
//     upstream which unescapes again turns into "..";
//   - control characters, invalid UTF-8 (overlong forms such as %C0%AE
//     are dots to some decoders), and the full-width and other look-alike
//     dots and slashes that Unicode normalization turns into ASCII ones;
//   - an empty segment ("//"), except the last (a trailing slash).
//
// With every segment plain, the upstream's path is its prefix followed by
// the request's path, with nothing in it that resolves outside.
func checkPath(escaped string) error {
	if !strings.HasPrefix(escaped, "/") {
		return fmt.Errorf("%w: the path must start with '/'", errPathValue)
	}
	segs := strings.Split(escaped[1:], "/")
	for i, raw := range segs {
		seg, err := url.PathUnescape(raw)
		if err != nil {
			return fmt.Errorf("%w: segment %q is not validly escaped", errPathValue, raw)
		}
		if seg == "" {
			if i == len(segs)-1 {
				continue
			}
			return fmt.Errorf("%w: empty segment", errPathValue)
		}
		if err := checkSegment(seg); err != nil {
			return fmt.Errorf("%w: segment %q: %w", errPathValue, raw, err)
		}
	}
	return nil
}

// checkSegment checks one unescaped path segment (see checkPath).
func checkSegment(seg string) error {
	if !utf8.ValidString(seg) {
		return errors.New("not valid UTF-8")
	}
	if strings.Trim(seg, ". ") == "" {
		return errors.New(`"." and ".." are not segments`)
	}
	if before, _, ok := strings.Cut(seg, ";"); ok && before != "" && strings.Trim(before, ". ") == "" {
		return errors.New(`"." and ".." are not segments, also before ';'`)
	}
	for _, r := range seg {
		switch {
		case r == '/' || r == '\\':
			return errors.New("a path segment may not hold '/' or '\\'")
		case r == '%':
			return errors.New("a path segment may not hold '%' (an escape sent escaped again)")
		case r < ' ' || r == 0x7f || !unicode.IsPrint(r) && r > 0x7f:
			return errors.New("a path segment may not hold control or invisible characters")
		case lookalike(r):
			return fmt.Errorf("a path segment may not hold %U, which normalizes to '.', '/' or '\\'", r)
		}
	}
	return nil
}

// lookalike reports whether r is a dot, slash or backslash of another
// script or width, which NFKC normalization (or a lax decoder) maps to the
// ASCII one.
func lookalike(r rune) bool {
	switch r {
	case '\uFF0E', // FULLWIDTH FULL STOP
		'\uFF0F', // FULLWIDTH SOLIDUS
		'\uFF3C', // FULLWIDTH REVERSE SOLIDUS
		'\uFE52', // SMALL FULL STOP
		'\uFE68', // SMALL REVERSE SOLIDUS
		'\u2024', // ONE DOT LEADER
		'\u2025', // TWO DOT LEADER
		'\u2026', // HORIZONTAL ELLIPSIS
		'\u2215', // DIVISION SLASH
		'\u2216', // SET MINUS
		'\u2044', // FRACTION SLASH
		'\u29F5', // REVERSE SOLIDUS OPERATOR
		'\u29F8', // BIG SOLIDUS
		'\u29F9': // BIG REVERSE SOLIDUS
		return true
	}
	return false
}
