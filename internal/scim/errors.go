package scim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gatehouse/gatehouse/internal/edge"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/store"
)

// The scimType values of RFC 7644 section 3.12 that Gatehouse answers.
const (
	typeInvalidFilter = "invalidFilter"
	typeTooMany       = "tooMany"
	typeUniqueness    = "uniqueness"
	typeMutability    = "mutability"
	typeInvalidSyntax = "invalidSyntax"
	typeInvalidPath   = "invalidPath"
	typeNoTarget      = "noTarget"
	typeInvalidValue  = "invalidValue"
	typeInvalidVers   = "invalidVers"
)

// Error is an RFC 7644 section 3.12 error: the body of every answer that
// is not a success, status as a string as the RFC has it.
type Error struct {
	Schemas  []string `json:"schemas"`
	Status   string   `json:"status"`
	ScimType string   `json:"scimType,omitempty"`
	Detail   string   `json:"detail,omitempty"`
}

// problem is an error the protocol answers: its status, scimType and
// detail.
type problem struct {
	status   int
	scimType string
	detail   string
}

func (p *problem) Error() string { return p.detail }

// bad returns a 400 problem of scimType.
func bad(scimType, format string, args ...any) error {
	return &problem{status: http.StatusBadRequest, scimType: scimType, detail: fmt.Sprintf(format, args...)}
}

// writeError writes an RFC 7644 error.
func writeError(w http.ResponseWriter, status int, scimType, detail string) {
	h := w.Header()
	h.Set("Content-Type", MediaType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Del("Content-Length")
	h.Del("ETag")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(Error{Schemas: []string{ErrorSchema}, Status: strconv.Itoa(status), ScimType: scimType, Detail: detail}) // a failed write: the client is gone
}

// fail answers err, an error of decoding or of a service, choosing the
// status and scimType by its kind.
func fail(w http.ResponseWriter, r *http.Request, err error) {
	info := edge.RequestInfo(r)
	var p *problem
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &p):
		writeError(w, p.status, p.scimType, p.detail)
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, "", fmt.Sprintf("the body is over %d bytes", tooBig.Limit))
	case errors.Is(err, store.ErrTooBroad):
		writeError(w, http.StatusBadRequest, typeInvalidFilter, fmt.Sprintf(
			"the filter would examine more than %d records: add a condition on userName, externalId, id, displayName (eq or sw) or meta.lastModified", store.MaxExamined))
	case errors.Is(err, kernel.ErrInvalid):
		detail := err.Error()
		if fes := kernel.FieldErrors(err); len(fes) > 0 {
			detail = ""
			for i, fe := range fes {
				if i > 0 {
					detail += "; "
				}
				detail += trimInvalid(fe.Error())
			}
		}
		writeError(w, http.StatusBadRequest, typeInvalidValue, trimInvalid(detail))
	case errors.Is(err, kernel.ErrForbidden):
		writeError(w, http.StatusForbidden, "", err.Error())
	case errors.Is(err, kernel.ErrStale):
		writeError(w, http.StatusPreconditionFailed, "", "the resource changed since the version in If-Match: read it again and repeat the change")
	case errors.Is(err, store.ErrAlreadyExists):
		writeError(w, http.StatusConflict, typeUniqueness, err.Error())
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "", "no such resource: "+r.URL.Path)
	case errors.Is(err, store.ErrInvalid):
		writeError(w, http.StatusBadRequest, typeInvalidValue, err.Error())
	case errors.Is(err, store.ErrUnavailable):
		edge.LogFailure(r.Context(), info.Log, "scim", err, "route", r.Pattern)
		w.Header().Set("Retry-After", strconv.Itoa(edge.RetryAfterSeconds))
		writeError(w, http.StatusServiceUnavailable, "", "the database cannot answer right now; try again shortly")
	default:
		edge.LogFailure(r.Context(), info.Log, "scim", err, "route", r.Pattern)
		writeError(w, http.StatusInternalServerError, "", "internal error; request "+info.RequestID)
	}
}

// trimInvalid drops the "invalid " that kernel.ErrInvalid puts first.
func trimInvalid(s string) string {
	const prefix = "invalid "
	if len(s) > len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):]
	}
	return s
}
