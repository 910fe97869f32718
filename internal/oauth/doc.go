// Package oauth implements the authorization server's HTTP endpoints on a
// team's host: the token endpoint (RFC 6749 section 3.2, with one file per
// grant), token introspection (RFC 7662), token revocation (RFC 7009),
// server metadata (RFC 8414) and the JWKS (RFC 7517).
//
// Handlers are thin: they decode the protocol, call the domain packages
// (client, token, signing, denylist) and encode the answer. Protocol errors
// are values (Error) written once, at the edge, in RFC 6749 section 5.2's
// format.
package oauth
