// Package token makes and checks Gatehouse's access tokens: JWTs shaped by
// RFC 9068 ("JWT Profile for OAuth 2.0 Access Tokens"), as the README's
// "Access tokens" describes them. [Issuer] builds the claims and has them signed; [Validate]
// checks the claims of a token whose signature was already verified, as a
// resource server must (RFC 9068 section 4).
//
// The package is pure: signing is behind the [Signer] interface, the clock
// and the random source are injected.
package token

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Claims are an access token's claims (RFC 9068 section 2.2, RFC 7519
// section 4.1). Times are whole seconds, as NumericDate carries them.
type Claims struct {
	Issuer          string   // iss: the team URL
	Subject         string   // sub: the client_id, or the user's ID
	Audience        []string // aud: [client_id, team host]
	ClientID        string   // client_id
	AuthorizedParty string   // azp: the client_id
	Scopes          []string // scope: a JSON array, or a space-separated string
	IssuedAt        time.Time
	NotBefore       time.Time
	Expiry          time.Time
	JTI             string // jti: a UUID
}

// AppendJSON appends the claims as a JSON object to dst. The scope claim is
// a JSON array of scope names (the Celonis guide's form, the default) or, with
// scopeAsString, one space-separated string (RFC 9068 section 2.2.3,
// RFC 8693 section 4.2).
func (c *Claims) AppendJSON(dst []byte, scopeAsString bool) []byte {
	dst = append(dst, `{"iss":`...)
	dst = appendString(dst, c.Issuer)
	dst = append(dst, `,"sub":`...)
	dst = appendString(dst, c.Subject)
	dst = append(dst, `,"aud":`...)
	dst = appendStrings(dst, c.Audience)
	dst = append(dst, `,"client_id":`...)
	dst = appendString(dst, c.ClientID)
	dst = append(dst, `,"azp":`...)
	dst = appendString(dst, c.AuthorizedParty)
	dst = append(dst, `,"scope":`...)
	if scopeAsString {
		dst = appendString(dst, strings.Join(c.Scopes, " "))
	} else {
		dst = appendStrings(dst, c.Scopes)
	}
	dst = append(dst, `,"iat":`...)
	dst = strconv.AppendInt(dst, c.IssuedAt.Unix(), 10)
	dst = append(dst, `,"nbf":`...)
	dst = strconv.AppendInt(dst, c.NotBefore.Unix(), 10)
	dst = append(dst, `,"exp":`...)
	dst = strconv.AppendInt(dst, c.Expiry.Unix(), 10)
	dst = append(dst, `,"jti":`...)
	dst = appendString(dst, c.JTI)
	return append(dst, '}')
}

func appendStrings(dst []byte, ss []string) []byte {
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, s)
	}
	return append(dst, ']')
}

// appendString appends s as a JSON string. Printable ASCII other than the
// quote and the backslash goes as is, which covers URLs, UUIDs and scope
// names; anything else takes encoding/json's escaping.
func appendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < 0x20 || b > 0x7e || b == '"' || b == '\\' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(dst, q...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}
