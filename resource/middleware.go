package resource

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Middleware authenticates every request by the bearer token of its
// Authorization header (RFC 6750 section 2.1; a token in the query string
// or the body is ignored, RFC 9700 section 2.6) and serves it with next,
// the [Principal] in its context ([FromContext]). A request without a
// valid token gets 401 with a WWW-Authenticate challenge (RFC 6750
// section 3): a bare `Bearer realm="<audience>"` when it carries no bearer
// token, with error="invalid_token" and an error_description when the
// token is bad; the JSON body is {"error", "error_description"}. When the
// issuer's keys cannot be fetched, the answer is 503.
func (v *Validator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := bearerToken(r)
		if err != nil {
			v.unauthorized(w, err)
			return
		}
		p, err := v.Validate(r.Context(), raw)
		if err != nil {
			if errors.Is(err, ErrKeysUnavailable) {
				v.log.Warn("gatehouse token not checked", "err", err)
				writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "temporarily_unavailable",
					Description: "the access token could not be checked; try again"})
				return
			}
			v.unauthorized(w, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), p)))
	})
}

// errMultipleCredentials: more than one Authorization header.
var errMultipleCredentials = errors.New("more than one Authorization header")

// bearerToken returns the token of the request's Authorization header:
// "Bearer", in any case, then the token (RFC 6750 section 2.1). A request
// without a Bearer credential gives ErrNoToken.
func bearerToken(r *http.Request) (string, error) {
	values := r.Header.Values("Authorization")
	switch len(values) {
	case 0:
		return "", ErrNoToken
	case 1:
	default:
		return "", errMultipleCredentials
	}
	scheme, tok, _ := strings.Cut(strings.TrimSpace(values[0]), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", ErrNoToken // another scheme is no bearer token
	}
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return "", fmt.Errorf("%w: empty bearer token", ErrMalformed)
	}
	return tok, nil
}

// unauthorized answers a request without a valid token (RFC 6750
// section 3.1).
func (v *Validator) unauthorized(w http.ResponseWriter, err error) {
	challenge := `Bearer realm="` + v.realm + `"`
	switch {
	case errors.Is(err, errMultipleCredentials):
		const desc = "send one Authorization header"
		w.Header().Set("WWW-Authenticate", challenge+`, error="invalid_request", error_description="`+desc+`"`)
		writeJSON(w, http.StatusBadRequest, errorBody{Error: "invalid_request", Description: desc})
	case errors.Is(err, ErrNoToken):
		w.Header().Set("WWW-Authenticate", challenge)
		writeJSON(w, http.StatusUnauthorized, errorBody{Error: "unauthorized",
			Description: "this endpoint requires a bearer token in the Authorization header"})
	default:
		desc := description(err)
		w.Header().Set("WWW-Authenticate", challenge+`, error="invalid_token", error_description="`+desc+`"`)
		writeJSON(w, http.StatusUnauthorized, errorBody{Error: "invalid_token", Description: desc})
	}
}

// RequireScope returns a middleware that serves only requests whose
// principal (put in the context by [Validator.Middleware], which must come
// first) carries scope, and answers the others with 403 and
// `WWW-Authenticate: Bearer error="insufficient_scope", scope="<scope>"`
// (RFC 6750 section 3.1).
func (v *Validator) RequireScope(scope string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := FromContext(r.Context())
			if !ok {
				v.unauthorized(w, ErrNoToken)
				return
			}
			if !p.HasScope(scope) {
				insufficientScope(w, scope)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// insufficientScope answers a request whose token lacks scope.
func insufficientScope(w http.ResponseWriter, scope string) {
	w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="`+quotable(scope)+`"`)
	writeJSON(w, http.StatusForbidden, errorBody{Error: "insufficient_scope",
		Description: "this request requires scope " + scope, Scope: scope})
}

// errorBody is the JSON body of every answer the middleware gives itself,
// shaped like Gatehouse's own errors.
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
	Scope       string `json:"scope,omitempty"`
	Action      string `json:"action,omitempty"`
	Resource    string `json:"resource,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v) // a failed write means the client is gone
}

// quotable keeps of s what may stand in a quoted-string of a challenge
// (RFC 6750 section 3: %x20-21 / %x23-5B / %x5D-7E).
func quotable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return -1
		}
		return r
	}, s)
}
