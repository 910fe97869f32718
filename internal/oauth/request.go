package oauth

import (
	"encoding/base64"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// maxMultipartMemory bounds a multipart token request: its fields are a
// handful of short strings, and files are refused.
const maxMultipartMemory = 64 << 10

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
		if err := r.ParseMultipartForm(maxMultipartMemory); err != nil {
			return nil, bodyError(err)
		}
		if r.MultipartForm != nil {
			defer r.MultipartForm.RemoveAll()
			if len(r.MultipartForm.File) > 0 {
				return nil, invalidRequest("file parts are not accepted")
			}
			p = params(r.MultipartForm.Value)
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
