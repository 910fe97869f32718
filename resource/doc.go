// Package resource is for resource servers: the APIs that accept Gatehouse
// access tokens. It validates a team's tokens offline, as RFC 9068
// section 4 asks of a resource server, and asks the team for permissions.
//
// # Validating tokens
//
// A [Validator] is built for one team from its URL, the issuer:
//
//	v, err := resource.New(resource.Config{Issuer: "https://acme.gatehouse.example"})
//
// [Validator.Validate] checks a token without calling Gatehouse: the
// signature against the team's JWKS (fetched from Issuer + "/oauth2/jwks"
// on first use, refetched in the background at its first use after five
// minutes and, at most once per ten seconds, when a token names a key the
// cached set lacks, which is how a rotated-in key is picked up), the
// header typ
// at+jwt, and the claims iss, aud (the team host), exp, nbf and iat with
// 30 s of leeway. Only ES384, ES256 and EdDSA signatures are accepted,
// never "none" or an HMAC. A token that passed is remembered by its
// SHA-256 until it expires, so that its next presentations cost no
// signature verification.
//
// # Middleware
//
// [Validator.Middleware] authenticates every request by the bearer token
// of its Authorization header (never the query string or the body),
// answers failures as RFC 6750 section 3 says (401 with
// WWW-Authenticate: Bearer), and passes the [Principal] to the next
// handler in the request's context ([FromContext]). [Validator.RequireScope]
// then requires a scope (403 with error="insufficient_scope"), and
// [Validator.RequirePermission] a permission:
//
//	mux.Handle("GET /pools/{pool}", v.Middleware(
//		v.RequirePermission("integration.data-pools:read", "read", func(r *http.Request) string {
//			return "data-pools/" + r.PathValue("pool")
//		})(pools)))
//
// # Permissions
//
// A scope says which APIs a token may reach; a permission says what its
// principal may do there. Permissions live in Gatehouse, so
// [Validator.Check] asks the team's POST /api/authz/check, with the
// resource server's own credential (Config.CheckCredential, typically a
// client credentials token source), and reuses each answer for five
// seconds. A failed check is an error, never a permission.
//
// # Errors
//
// Validate's errors wrap [ErrNoToken], [ErrInvalidToken] (with a reason
// such as [ErrExpired] or [ErrWrongAudience]) or [ErrKeysUnavailable];
// test them with errors.Is.
package resource
