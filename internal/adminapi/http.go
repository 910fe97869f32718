package adminapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/edge"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/statickey"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Problem is an RFC 9457 problem details object, the body of every error
// of the admin and profile APIs (application/problem+json). Errors lists
// each invalid field of a 422 (and each bad query parameter of a 400).
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail,omitempty"`
	Errors []FieldIssue `json:"errors,omitempty"`
}

// FieldIssue names a field of the request and what is wrong with it.
type FieldIssue struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// ProblemType is the media type of Problem.
const ProblemType = "application/problem+json"

// writeProblem writes p.
func writeProblem(w http.ResponseWriter, p Problem) {
	if p.Type == "" {
		p.Type = "about:blank"
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	w.Header().Set("Content-Type", ProblemType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(p) // a failed write means the client is gone
}

func problem(w http.ResponseWriter, status int, format string, args ...any) {
	writeProblem(w, Problem{Status: status, Detail: fmt.Sprintf(format, args...)})
}

// requestError is a request the caller got wrong, found before any
// service was called: its status and what to say.
type requestError struct{ p Problem }

func (e *requestError) Error() string { return e.p.Detail }

func badField(status int, field, format string, args ...any) error {
	d := fmt.Sprintf(format, args...)
	return &requestError{Problem{Status: status, Detail: field + ": " + d, Errors: []FieldIssue{{Field: field, Detail: d}}}}
}

// fail answers the error of a service (or of decoding), choosing the
// status: the services' sentinels say which.
func fail(w http.ResponseWriter, r *http.Request, err error) {
	info := edge.RequestInfo(r)
	var re *requestError
	switch {
	case errors.As(err, &re):
		writeProblem(w, re.p)
	case errors.Is(err, kernel.ErrInvalid):
		p := Problem{Status: http.StatusUnprocessableEntity, Detail: strings.TrimPrefix(err.Error(), "invalid ")}
		for _, fe := range kernel.FieldErrors(err) {
			p.Errors = append(p.Errors, FieldIssue{Field: fe.Field, Detail: strings.TrimPrefix(fe.Error(), "invalid ")})
		}
		if len(p.Errors) == 0 {
			p.Errors = []FieldIssue{{Field: "", Detail: p.Detail}}
		}
		p.Detail = strings.ReplaceAll(p.Detail, "\ninvalid ", "; ")
		writeProblem(w, p)
	case errors.Is(err, kernel.ErrForbidden), errors.Is(err, statickey.ErrRefusedNew):
		problem(w, http.StatusForbidden, "%s", err)
	case errors.Is(err, kernel.ErrStale):
		problem(w, http.StatusPreconditionFailed, "%s: read it again (its ETag) and repeat the change against that", err)
	case errors.Is(err, store.ErrAlreadyExists), errors.Is(err, statickey.ErrCannotMigrate):
		problem(w, http.StatusConflict, "%s", err)
	case errors.Is(err, store.ErrNotFound):
		problem(w, http.StatusNotFound, "%s", err)
	case errors.Is(err, store.ErrInvalid):
		writeProblem(w, Problem{Status: http.StatusBadRequest, Detail: "cursor: not a next_cursor of this listing",
			Errors: []FieldIssue{{Field: "cursor", Detail: "not a next_cursor of this listing"}}})
	case errors.Is(err, store.ErrUnavailable):
		info.Log.Error("admin api", "route", r.Pattern, "err", err)
		edge.Unavailable(w, "the database cannot answer right now; try again shortly")
	default:
		info.Log.Error("admin api", "route", r.Pattern, "err", err)
		problem(w, http.StatusInternalServerError, "internal error; request %s", info.RequestID)
	}
}

// reply writes v as JSON with status.
func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Cache-Control", "no-store")
	edge.JSON(w, status, v)
}

// maxBody bounds a request body of the admin API, within the server's own
// limit.
const maxBody = 64 << 10

// decode reads a JSON object body into the fields of into (JSON name to
// a pointer), strictly: a field not in into, or of the wrong type, is a
// 422 naming it (every such field at once); a body that is not a JSON
// object is a 400. It returns the names present. An empty body is an
// empty object.
func decode(r *http.Request, into map[string]any) (map[string]bool, error) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, &requestError{Problem{Status: http.StatusBadRequest, Detail: "the body could not be read"}}
	}
	if len(raw) > maxBody {
		return nil, &requestError{Problem{Status: http.StatusRequestEntityTooLarge, Detail: fmt.Sprintf("the body is over %d bytes", maxBody)}}
	}
	present := map[string]bool{}
	if len(bytes.TrimSpace(raw)) == 0 {
		return present, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return nil, &requestError{Problem{Status: http.StatusBadRequest, Detail: "the body must be a JSON object"}}
	}
	var issues []FieldIssue
	names := make([]string, 0, len(obj))
	for name := range obj {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		dst, ok := into[name]
		if !ok {
			issues = append(issues, FieldIssue{Field: name, Detail: "unknown field"})
			continue
		}
		if err := json.Unmarshal(obj[name], dst); err != nil {
			issues = append(issues, FieldIssue{Field: name, Detail: typeProblem(err)})
			continue
		}
		present[name] = true
	}
	if len(issues) > 0 {
		return nil, &requestError{Problem{Status: http.StatusUnprocessableEntity, Detail: "the body has invalid fields", Errors: issues}}
	}
	return present, nil
}

func typeProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "want " + jsonKind(te.Type.String()) + ", got " + te.Value
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func jsonKind(goType string) string {
	switch {
	case goType == "string" || strings.HasSuffix(goType, "Duration") || strings.HasSuffix(goType, "Time"):
		return "a string"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "[]"):
		return "an array of strings"
	case strings.HasPrefix(goType, "int"):
		return "an integer"
	}
	return goType
}

// duration is a duration in JSON: a Go duration string such as "15m" or
// "24h".
type duration time.Duration

func (d *duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`want a duration such as "15m" or "24h"`)
	}
	if s == "" {
		*d = 0 // the default: the team's or the server's
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want a duration such as \"15m\" or \"24h\", got %q", s)
	}
	*d = duration(v)
	return nil
}

// query parses r's query string, refusing parameters not in known and any
// given twice, with 400 naming them.
func query(r *http.Request, known ...string) (url.Values, error) {
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, &requestError{Problem{Status: http.StatusBadRequest, Detail: "the query string is not valid URL encoding"}}
	}
	names := make([]string, 0, len(v))
	for name := range v {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !slices.Contains(known, name) {
			return nil, badField(http.StatusBadRequest, name, "unknown parameter; this route takes %s", strings.Join(known, ", "))
		}
		if len(v[name]) > 1 {
			return nil, badField(http.StatusBadRequest, name, "given more than once")
		}
		if !plainText(v[name][0]) {
			return nil, badField(http.StatusBadRequest, name, "not UTF-8 text: no record holds control characters or invalid bytes")
		}
	}
	return v, nil
}

// plainText reports whether s is valid UTF-8 without control characters:
// what every name, email, principal and filter is. A database may refuse
// anything else outright (PostgreSQL, invalid UTF-8 or a NUL in a text
// parameter), so it is refused before it gets there.
func plainText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// Page sizes of ?limit=.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

// listQuery parses the query of a listing: limit, cursor and the route's
// filters.
func listQuery(r *http.Request, filters ...string) (url.Values, store.Page, error) {
	v, err := query(r, append([]string{"limit", "cursor"}, filters...)...)
	if err != nil {
		return nil, store.Page{}, err
	}
	p := store.Page{Limit: DefaultLimit, Cursor: v.Get("cursor")}
	if s, ok := v["limit"]; ok {
		n, err := strconv.Atoi(s[0])
		if err != nil || n < 1 || n > MaxLimit {
			return nil, store.Page{}, badField(http.StatusBadRequest, "limit", "want an integer from 1 to %d, got %q", MaxLimit, s[0])
		}
		p.Limit = n
	}
	if _, ok := v["cursor"]; ok && p.Cursor == "" {
		return nil, store.Page{}, badField(http.StatusBadRequest, "cursor", "empty; omit it for the first page")
	}
	return v, p, nil
}

// timeParam reads an RFC 3339 time parameter; absent is nil.
func timeParam(v url.Values, name string) (*time.Time, error) {
	s, ok := v[name]
	if !ok {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, s[0])
	if err != nil {
		return nil, badField(http.StatusBadRequest, name, "want an RFC 3339 time such as 2026-01-02T15:04:05Z, got %q", s[0])
	}
	return &t, nil
}

// Listing is the answer of every list route.
type Listing[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

func listing[T any](items []T, next string) Listing[T] {
	if items == nil {
		items = []T{}
	}
	return Listing[T]{Items: items, NextCursor: next}
}

// setETag writes the ETag of a record's version (a strong entity tag).
func setETag(w http.ResponseWriter, version string) {
	w.Header().Set("ETag", `"`+version+`"`)
}

// ifMatch returns the version that If-Match names ("" when absent or
// "*"); a list of several tags is refused.
func ifMatch(r *http.Request) (string, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" || h == "*" {
		return "", nil
	}
	h = strings.TrimPrefix(h, "W/")
	if len(h) < 2 || h[0] != '"' || h[len(h)-1] != '"' || strings.Contains(h[1:len(h)-1], `"`) {
		return "", badField(http.StatusBadRequest, "If-Match", `want one entity tag as the ETag header gave it, such as "3f2a..."`)
	}
	return h[1 : len(h)-1], nil
}

// sourceAddr is the address a request came from, for the audit log: the
// client's as the server resolved it (edge.ClientIP, behind
// --trusted-proxies the address they forwarded for).
func sourceAddr(r *http.Request) string { return edge.ClientIP(r) }
