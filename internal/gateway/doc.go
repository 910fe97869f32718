// Package gateway puts upstream APIs behind Gatehouse's access rule
// (README "The gateway"): `gatehouse serve --routes FILE` reads a
// YAML route file such as
//
//	routes:
//	  - match: "POST /integration/api/pools/{pool}/push"  # method and path pattern
//	    scope: integration.data-pools:data_push
//	    permission: "push data-pools/{pool}"              # action, then resource
//	    upstream: http://127.0.0.1:9001
//	    timeout: 30s                                      # optional, the default
//
// and serves each route on every team host. A request that matches a route
// is authorized by an Authorizer with the route's scope, action and
// resource, the resource taking the request's path values; if it passes,
// it is proxied to the upstream.
//
// # Matching
//
// A match is an upper-case HTTP method and a net/http path pattern: literal
// segments, {name} segments and a final {name...} or {$}. Routes are
// matched by a net/http.ServeMux, so precedence is net/http's (the most
// specific pattern wins) and a GET route also answers HEAD. Gatehouse's own
// paths (/oauth2/, /.well-known/, /api/, /scim/, the web UI, the health
// checks) cannot be routed: the server's routes come first.
//
// Every path value must be a single segment ({name...}: segments) that is
// not "." or ".."; a value used in the resource must be a valid resource
// segment (letters, digits and .-_:@). Anything else, such as %2F in a
// segment, is answered 400 without reaching the authorizer or the
// upstream.
//
// # What the upstream receives
//
// The request goes to the upstream's scheme and host, its path being the
// upstream's path prefix joined with the request's path; the query, the
// method and the body (streamed, never buffered) are kept, and the Host
// header is the upstream's. The gateway removes the caller's credentials
// (Authorization and Cookie), any header named X-Gatehouse-* (or
// X_Gatehouse_*, which CGI-style servers read alike), Forwarded and the
// caller's X-Forwarded-*, then sets:
//
//	X-Gatehouse-Team       the team's name
//	X-Gatehouse-Principal  user:<email>, app:<name> or client:<client_id>
//	X-Gatehouse-Scopes     the credential's scopes, space-separated; * for a static key
//	X-Forwarded-For, -Host, -Proto
//	X-Request-Id           the request ID that Gatehouse logs
//
// Responses stream back as they come: a chunked response or an event
// stream is flushed on every write, any other within 10 ms. An upstream
// that cannot be reached is answered 502 {"error":"bad_gateway"}; one that
// sends no response headers within the route's timeout, 504
// {"error":"gateway_timeout"}.
//
// # Limits
//
// Gateway requests are exempt from the server's body limit (the server asks
// Matches) and, once authorized, from its read and write timeouts, so that
// large uploads and long streams pass; the upstream's own limits apply.
//
// # Reload
//
// A Gateway holds its current Table behind an atomic pointer. Reload reads
// the file again and swaps the table only if the whole file is valid;
// requests in flight finish on the table they started with. WatchSIGHUP
// reloads on SIGHUP.
package gateway
