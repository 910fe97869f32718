// Package edge is the HTTP edge shared by every handler: the per-request
// record (request ID, team, route) that the middleware fills and logs,
// JSON answers, and JSON errors.
package edge

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Info is what the middleware knows of a request. Handlers fill Route and
// Principal as they learn them, so that the request log carries them.
type Info struct {
	RequestID string
	// ClientIP is the client's address, resolved once by the middleware
	// (internal/clientaddr: the peer's, or behind a trusted proxy the one
	// it forwarded for): what limits, logs, the audit trail and the login
	// history name. Read it with ClientIP.
	ClientIP  string
	Team      store.Team // zero on host-independent routes
	TeamURL   string     // the issuer, <scheme>://<team>.<domain>
	TeamHost  string     // <team>.<domain>, the tokens' audience
	Principal string
	Log       *slog.Logger
}

type infoKey struct{}

// WithInfo attaches i to ctx.
func WithInfo(ctx context.Context, i *Info) context.Context {
	return context.WithValue(ctx, infoKey{}, i)
}

// RequestInfo returns the request's Info; never nil.
func RequestInfo(r *http.Request) *Info {
	if i, ok := r.Context().Value(infoKey{}).(*Info); ok {
		return i
	}
	return &Info{Log: slog.New(slog.DiscardHandler)}
}

// ClientIP is the address of r's client: the one the middleware resolved,
// or, for a request that did not pass it (a handler's own test), the
// peer's.
func ClientIP(r *http.Request) string {
	if i, ok := r.Context().Value(infoKey{}).(*Info); ok && i.ClientIP != "" {
		return i.ClientIP
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// JSON writes v as the JSON body of a response with status code.
func JSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v) // a failed write means the client is gone: nothing to do
}

// ErrorBody is the JSON error of every non-OAuth endpoint, shaped like
// RFC 6749's so that clients parse one format.
type ErrorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// Error writes a JSON error.
func Error(w http.ResponseWriter, code int, errCode, description string) {
	JSON(w, code, ErrorBody{Error: errCode, Description: description})
}

// NotFound is the answer for an unknown path.
func NotFound(w http.ResponseWriter, r *http.Request) {
	Error(w, http.StatusNotFound, "not_found", "no such endpoint: "+r.Method+" "+r.URL.Path)
}

// RetryAfterSeconds is the Retry-After of every 503 answered because a
// dependency (the database, the audit spool) cannot take the request now.
const RetryAfterSeconds = 2

// Unavailable is the one answer of every route when a dependency fails:
// 503 with Retry-After and an RFC 6749-shaped temporarily_unavailable
// body, so that OAuth clients and API callers parse it alike.
func Unavailable(w http.ResponseWriter, description string) {
	w.Header().Set("Retry-After", strconv.Itoa(RetryAfterSeconds))
	w.Header().Set("Cache-Control", "no-store")
	Error(w, http.StatusServiceUnavailable, "temporarily_unavailable", description)
}

// StatusClientClosedRequest is the status of a request whose client went
// away before it was answered (nginx's 499): what the request log and the
// metrics record for it instead of the 5xx that the failure it caused
// would have been, since the server did nothing wrong.
const StatusClientClosedRequest = 499

// ClientGone reports whether the client of the request whose context is
// ctx went away: net/http cancels a request's context when its connection
// closes, or is half-closed (the end of the stream reads as the client's
// departure). A failure then is the cancellation's doing, whatever error
// it shows. A context the server cancelled itself (a cause other than
// context.Canceled, as when shutdown cuts the requests still running) is
// not the client's departure.
func ClientGone(ctx context.Context) bool {
	return errors.Is(ctx.Err(), context.Canceled) && context.Cause(ctx) == context.Canceled
}

// LogFailure logs err, a failure of what that the request cannot recover
// from, at error level; but at debug level, as the client's departure,
// when the client went away (ClientGone): then the failure is no fault of
// the server's and must not raise alerts.
func LogFailure(ctx context.Context, log *slog.Logger, what string, err error, args ...any) {
	if ClientGone(ctx) {
		log.Debug(what+": the client went away", append(args, "err", err)...)
		return
	}
	log.Error(what, append(args, "err", err)...)
}
