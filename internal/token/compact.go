package token

// IsCompact reports whether raw is spelt as a JWS compact serialization
// (RFC 7515 section 7.1) in its one canonical form: three non-empty
// segments of unpadded base64url (RFC 4648 section 5) joined by two dots,
// each of a length base64 can have and without stray bits in its last
// character. go-jose skips whitespace inside a token and ignores stray
// bits, so without this check one signed token has countless spellings
// that all verify, each a new key for the caches of verified tokens and a
// new signature verification.
func IsCompact(raw string) bool {
	dots, seg := 0, 0
	for i := 0; i <= len(raw); i++ {
		if i == len(raw) || raw[i] == '.' {
			if !canonicalSegment(raw[i-seg : i]) {
				return false
			}
			if i < len(raw) {
				dots++
			}
			seg = 0
			continue
		}
		if base64URLValue(raw[i]) < 0 {
			return false
		}
		seg++
	}
	return dots == 2
}

// canonicalSegment reports whether s, of base64url characters, is
// non-empty unpadded base64url whose last character carries no bits
// beyond the data.
func canonicalSegment(s string) bool {
	switch len(s) % 4 {
	case 0:
		return len(s) > 0
	case 1:
		return false
	case 2: // one byte: the last character's low 4 bits are unused
		return base64URLValue(s[len(s)-1])&0x0f == 0
	default: // two bytes: the low 2 bits are unused
		return base64URLValue(s[len(s)-1])&0x03 == 0
	}
}

// base64URLValue is c's value in the base64url alphabet, or -1.
func base64URLValue(c byte) int {
	switch {
	case c >= 'A' && c <= 'Z':
		return int(c - 'A')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 26
	case c >= '0' && c <= '9':
		return int(c-'0') + 52
	case c == '-':
		return 62
	case c == '_':
		return 63
	}
	return -1
}
