package oauth

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
)

// Bounds of a multipart request: its fields are a handful of short
// strings, and files are refused.
const (
	maxMultipartMemory = 64 << 10 // the fields' values, together
	maxMultipartParts  = 64
)

// params are the body parameters of a POST to an OAuth endpoint. The query
// string is never read: credentials in a URL are ignored (RFC 6750
// section 2.3 is not supported, as the Celonis guide says; RFC 9700 section 2.6).
type params map[string][]string

func (p params) get(k string) string {
	if v := p[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// parseBody reads an application/x-www-form-urlencoded or
// multipart/form-data body (the Celonis guide's curl sends multipart). A parameter
// sent twice is invalid (RFC 6749 section 3.2).
func parseBody(r *http.Request) (params, *Error) {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil {
		return nil, invalidRequest("the body must be application/x-www-form-urlencoded or multipart/form-data")
	}
	var p params
	switch mt {
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return nil, bodyError(err)
		}
		p = params(r.PostForm)
	case "multipart/form-data":
		mr, err := r.MultipartReader()
		if err != nil {
			return nil, invalidRequest("the multipart body could not be parsed")
		}
		var oerr *Error
		if p, oerr = readMultipart(mr); oerr != nil {
			return nil, oerr
		}
	default:
		return nil, invalidRequest("the body must be application/x-www-form-urlencoded or multipart/form-data, not " + mt)
	}
	for k, v := range p {
		if len(v) > 1 {
			return nil, invalidRequest("parameter " + k + " is repeated")
		}
	}
	return p, nil
}

// readMultipart reads the fields of a multipart/form-data body, part by
// part, into memory. Unlike http.Request.ParseMultipartForm, which writes
// a large file part to a temporary file before anyone looks at it, it
// refuses a file part on its headers, before reading a byte of it, and
// answers with the connection closed, the rest of the body unread.
func readMultipart(mr *multipart.Reader) (params, *Error) {
	p := params{}
	budget := int64(maxMultipartMemory)
	for n := 0; ; n++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return p, nil
		}
		if err != nil {
			return nil, bodyError(err)
		}
		if n == maxMultipartParts {
			return nil, &Error{Code: "invalid_request", Description: fmt.Sprintf("the body has more than %d parts", maxMultipartParts),
				Status: http.StatusBadRequest, close: true}
		}
		if part.FileName() != "" {
			return nil, &Error{Code: "invalid_request", Description: "file parts are not accepted",
				Status: http.StatusBadRequest, close: true}
		}
		name := part.FormName()
		if name == "" {
			continue // not a field: skipped, as ParseMultipartForm does
		}
		v, err := io.ReadAll(io.LimitReader(part, budget+1))
		if err != nil {
			return nil, bodyError(err)
		}
		if budget -= int64(len(v)); budget < 0 {
			return nil, &Error{Code: "invalid_request", Description: "the form's fields are too large",
				Status: http.StatusRequestEntityTooLarge, close: true}
		}
		p[name] = append(p[name], string(v))
	}
}

func bodyError(err error) *Error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &Error{Code: "invalid_request", Description: "the body is too large", Status: http.StatusRequestEntityTooLarge}
	}
	return invalidRequest("the body could not be parsed")
}

// credentials are what a client presented to authenticate.
type credentials struct {
	id, secret string
	basic      bool // via the Authorization header
	method     string
}

// clientCredentials extracts the client's credentials: HTTP Basic with
// id and secret form-urlencoded (RFC 6749 section 2.3.1), or client_id and
// client_secret in the body. A request that holds more than one
// credential is invalid_request (section 2.3: one method per request;
// section 5.2: "includes multiple credentials"), whatever they are: two
// Authorization headers (which a proxy in front might read the other way
// round from us), or one and a client_secret in the body.
func clientCredentials(r *http.Request, p params) (credentials, *Error) {
	values := r.Header.Values("Authorization")
	if len(values) > 1 {
		return credentials{}, invalidRequest("more than one Authorization header; send one credential")
	}
	var auth string
	if len(values) == 1 {
		auth = values[0]
	}
	_, bodySecret := p["client_secret"]
	if auth != "" {
		if bodySecret {
			return credentials{}, invalidRequest("the client authenticated in both the header and the body; use one method")
		}
		scheme, value, _ := strings.Cut(auth, " ")
		if !strings.EqualFold(scheme, "Basic") {
			return credentials{}, invalidClient("client authentication must use the Basic scheme", true)
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(value))
		if err != nil {
			return credentials{}, invalidClient("malformed Basic credentials", true)
		}
		id, secret, ok := strings.Cut(string(raw), ":")
		if !ok {
			return credentials{}, invalidClient("malformed Basic credentials", true)
		}
		if id, err = url.QueryUnescape(id); err != nil {
			return credentials{}, invalidClient("malformed Basic credentials", true)
		}
		if secret, err = url.QueryUnescape(secret); err != nil {
			return credentials{}, invalidClient("malformed Basic credentials", true)
		}
		if bodyID := p.get("client_id"); bodyID != "" && bodyID != id {
			return credentials{}, invalidRequest("client_id in the body differs from the authenticated client")
		}
		return credentials{id: id, secret: secret, basic: true, method: "client_secret_basic"}, nil
	}
	id := p.get("client_id")
	if id == "" {
		return credentials{}, invalidClient("client authentication is required", false)
	}
	if !bodySecret {
		return credentials{}, invalidClient("client authentication is required: client_secret is missing", false)
	}
	return credentials{id: id, secret: p.get("client_secret"), method: "client_secret_post"}, nil
}
