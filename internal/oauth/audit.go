package oauth

import (
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/internal/edge"
)

// auditFailed is the answer to a request whose audit event the audit
// trail could not take (its spool is full or its disk fails): 503
// temporarily_unavailable with Retry-After (RFC 6749 section 5.2), never
// the answer the event would have recorded.
func auditFailed(req *tokenRequest, err error) *Error {
	req.info.Log.Error("audit event not recorded: request refused", "err", err)
	return &Error{Code: "temporarily_unavailable", Status: http.StatusServiceUnavailable,
		retryAfter:  edge.RetryAfterSeconds * time.Second,
		Description: "the request cannot be recorded right now; try again"}
}
