package oauth

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/internal/edge"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Error is an OAuth 2.0 error response (RFC 6749 section 5.2).
type Error struct {
	Code        string
	Description string
	Status      int
	// challenge is the WWW-Authenticate value sent with a 401.
	challenge string
	// retryAfter is sent as Retry-After with a 429.
	retryAfter time.Duration
	// close: the request's body is left unread, so the connection is
	// closed after the answer (which then goes out at once, not after
	// net/http has tried to read the rest).
	close bool
}

func (e *Error) Error() string { return e.Code + ": " + e.Description }

func invalidRequest(desc string) *Error {
	return &Error{Code: "invalid_request", Description: desc, Status: http.StatusBadRequest}
}

// invalidClient is a failed client authentication: 401, with a Basic
// challenge when the client used the Authorization header (section 5.2).
func invalidClient(desc string, usedBasic bool) *Error {
	e := &Error{Code: "invalid_client", Description: desc, Status: http.StatusUnauthorized}
	if usedBasic {
		e.challenge = `Basic realm="oauth2", charset="UTF-8"`
	}
	return e
}

func invalidGrant(desc string) *Error {
	return &Error{Code: "invalid_grant", Description: desc, Status: http.StatusBadRequest}
}

func unauthorizedClient(desc string) *Error {
	return &Error{Code: "unauthorized_client", Description: desc, Status: http.StatusBadRequest}
}

func unsupportedGrantType(desc string) *Error {
	return &Error{Code: "unsupported_grant_type", Description: desc, Status: http.StatusBadRequest}
}

func invalidScope(desc string) *Error {
	return &Error{Code: "invalid_scope", Description: desc, Status: http.StatusBadRequest}
}

func serverError() *Error {
	return &Error{Code: "server_error", Description: "the server could not complete the request; try again", Status: http.StatusInternalServerError}
}

// unavailable is the answer while the database cannot answer: RFC 6749's
// temporarily_unavailable, with status 503 and Retry-After, as every other
// route gives (edge.Unavailable).
func unavailable() *Error {
	return &Error{Code: "temporarily_unavailable", Status: http.StatusServiceUnavailable,
		retryAfter:  edge.RetryAfterSeconds * time.Second,
		Description: "the service cannot complete the request right now; try again shortly"}
}

// failure is the answer to err, an error that is not the client's: 503
// temporarily_unavailable when the database cannot answer
// (store.ErrUnavailable), else 500 server_error.
func failure(err error) *Error {
	if errors.Is(err, store.ErrUnavailable) {
		return unavailable()
	}
	return serverError()
}

func tooManyFailures(retry time.Duration) *Error {
	return &Error{Code: "temporarily_unavailable", Status: http.StatusTooManyRequests, retryAfter: retry,
		Description: "too many failed client authentications; retry later"}
}

// noStore marks a response as holding credentials (RFC 6749 section 5.1).
func noStore(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
}

// writeError writes e as RFC 6749 section 5.2 JSON.
func writeError(w http.ResponseWriter, e *Error) {
	h := w.Header()
	noStore(h)
	if e.challenge != "" {
		h.Set("WWW-Authenticate", e.challenge)
	}
	if e.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((e.retryAfter+time.Second-1)/time.Second)))
	}
	if e.close {
		h.Set("Connection", "close")
	}
	// encoding/json writes valid JSON for any description, UTF-8 kept
	// as it is (a scope such as "café" comes back as sent).
	b, err := json.Marshal(errorBody{Error: e.Code, Description: e.Description})
	if err != nil {
		b = []byte(`{"error":"server_error"}`)
	}
	h.Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(e.Status)
	w.Write(b)
}

// errorBody is the JSON of an error response (RFC 6749 section 5.2).
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}
