// Package gateway puts upstream APIs behind Gatehouse's access rule
// (README "The gateway"): `gatehouse serve --routes FILE` reads a
// YAML route file such as
//
//	routes:
//	  - match: "POST /integration/api/pools/{pool}/push"  # method and path pattern
//	    scope: integration.data-pools:data_push
//	    permission: "push data-pools/{pool}"              # action, then resource
//	    upstream: http://127.0.0.1:9001
//	    timeout: 30s                                      # optional, the defaults:
//	    body_timeout: 1m
//	    max_duration: 5m
//	    pass_headers: []                                  # optional: headers otherwise stripped
//
// and serves each route on every team host, or, with --gateway-domain, on
// the gateway hosts <team>.<gateway-domain> only. A request that matches a
// route is authorized by an Authorizer with the route's scope, action and
// resource, the resource taking the request's path values; if it passes,
// it is proxied to the upstream.
//
// A route without an upstream is decision-only: the gateway does not
// serve it, and forward authentication decides it (below). It follows the
// same rules when the file is loaded, and may set none of the keys about
// the call (timeout, body_timeout, max_duration, pass_headers).
//
// # Forward authentication
//
// For the proxies platforms already run, Gateway.ServeForward (NGINX
// auth_request, Caddy forward_auth, Traefik ForwardAuth, at
// /api/authz/forward) and Gateway.ServeEnvoy (Envoy's ext_authz HTTP
// service, at /api/authz/envoy/...) decide the request a proxy holds
// with every route of the file, decision-only or not, and the same
// decision as the gateway's (route.decide: the path checks, the resource,
// the Authorizer, which is the access guard with its verified-token cache,
// its static keys and their sunset headers and its audit of denials).
// Allowed: 200, no body, X-Gatehouse-Team, X-Gatehouse-Principal and
// X-Gatehouse-Scopes for the proxy to pass upstream (and the sunset
// headers, for it to pass to the client). Refused: the Authorizer's 401 or
// 403, or 403 for a request no route takes or a path the gateway would
// refuse; never a redirect. The original method and URI come from headers
// (X-Forwarded-Method and -Uri, or X-Original-Method and -URI) that only a
// trusted proxy (Options.TrustedPeer) may send: anyone else is refused 403
// before anything is read, so that no client chooses the route it is
// judged by.
//
// # Matching
//
// A match is an upper-case HTTP method and a net/http path pattern: literal
// segments, {name} segments and a final {name...} or {$}. Routes are
// matched by a net/http.ServeMux, so precedence is net/http's (the most
// specific pattern wins) and a GET route also answers HEAD.
//
// No route may match a path of Gatehouse's own: a match that starts with
// one of the reserved first segments (Options.Reserved: the server passes
// the first segments of the routes it mounts, /oauth2, /.well-known, /api,
// /login, /logout, /profile, /healthz, /readyz, and a few kept for pages
// to come), with a wildcard, or that is "/" (every path) is refused when
// the file is loaded, at start as on reload. The root alone, {$}, may be
// routed.
//
// Before anything acts on a request that matched, every segment of its
// path, literal or wildcard, used by the permission or not, is unescaped
// once and must be plain: not "." or "..", nor only dots and spaces, nor
// ".." before a ';'; no '/', '\', '%' (an escape sent escaped again, such
// as %252e), control characters, invalid UTF-8 or Unicode look-alikes of
// dots and slashes (see checkPath). So however an upstream unescapes and
// resolves the path, it stays under the upstream's prefix followed by the
// match's literal prefix; FuzzGatewayPath holds the gateway to that. A
// value used in the resource must also be a valid resource segment
// (letters, digits and .-_:@). Anything else is answered 400
// {"error":"invalid_request"} without reaching the authorizer or the
// upstream.
//
// # What the upstream receives
//
// The request goes to the upstream's scheme and host, its path being the
// upstream's path prefix joined with the request's path; the query, the
// method and the body (streamed, never buffered) are kept, and the Host
// header is the upstream's. The gateway removes the caller's credentials
// (Authorization and Cookie), any header named X-Gatehouse-*, Forwarded,
// every X-Forwarded-*, and the headers that make an upstream act on
// another method, path or client address than the ones the gateway
// checked (X-HTTP-Method-Override, X-HTTP-Method, X-Method-Override,
// X-Original-URL, X-Rewrite-URL, X-Real-IP, True-Client-IP, X-Client-IP
// and their kin: see overrides), each in any case and with '_' for '-',
// which CGI-style servers read alike. A route that needs one of the
// override headers lists it in pass_headers; it is then passed as spelled
// there. The gateway then sets:
//
//	X-Gatehouse-Team       the team's name
//	X-Gatehouse-Principal  user:<email>, app:<name> or client:<client_id>
//	X-Gatehouse-Scopes     the credential's scopes, space-separated; * for a static key
//	X-Forwarded-For, -Host, -Proto
//	X-Request-Id           the request ID that Gatehouse logs
//
// Responses stream back as they come: a chunked response or an event
// stream is flushed on every write, any other within 10 ms. An upstream
// that cannot be reached is answered 502 {"error":"bad_gateway"}.
//
// An upstream may not set, replace or delete Gatehouse's own cookies
// (gatehouse_*, also behind __Host- or __Secure-): those Set-Cookie lines
// are dropped. Unless the gateway has hosts of its own (Options.OwnOrigin),
// its answers share the origin of the sign-in, consent and profile pages,
// so every proxied answer also gets Content-Security-Policy: sandbox (an
// HTML page renders in an opaque origin, with no script) and
// X-Content-Type-Options: nosniff, and loses Clear-Site-Data.
//
// # Limits and deadlines
//
// The server caps every request body (edge.LimitBody); a route lifts the
// cap only once its call is authorized, so that large uploads stream
// through, and the upstream's own limits apply. A call that matched no
// route, or was denied, keeps the cap.
//
// An authorized call gets the route's deadlines instead of the server's
// read and write timeouts: the caller has body_timeout to send its whole
// body (else 408 {"error":"request_timeout"}); the upstream has timeout to
// send its response headers once the request is sent; and the whole call,
// streaming included, ends within max_duration (504
// {"error":"gateway_timeout"} if no answer had begun, else the answer is
// cut). A stream that must last longer sets a longer max_duration.
//
// # Reload
//
// A Gateway holds its current Table behind an atomic pointer, with the
// handler of its routes and their decider for forward authentication.
// Reload reads the file again and swaps the table only if the whole file
// is valid; requests in flight finish on the table they started with.
// WatchSIGHUP reloads on SIGHUP.
package gateway
