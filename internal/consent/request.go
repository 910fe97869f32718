package consent

import (
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Request is an authorization request (RFC 6749 section 4.1.1) checked
// against its client's registration.
type Request struct {
	Client      store.Client
	RedirectURI string // registered, exactly as sent, or the only one registered
	State       string // echoed to the client as it came
	Scopes      []string
	// CodeChallenge is the PKCE S256 challenge (RFC 7636 section 4.2):
	// BASE64URL(SHA256(code_verifier)).
	CodeChallenge string
}

// Params returns the request as authorization request parameters, with
// the redirect URI and the scopes made explicit: what the consent form
// sends back.
func (r Request) Params() url.Values {
	v := url.Values{
		"response_type":         {"code"},
		"client_id":             {r.Client.ID},
		"redirect_uri":          {r.RedirectURI},
		"scope":                 {strings.Join(r.Scopes, " ")},
		"code_challenge":        {r.CodeChallenge},
		"code_challenge_method": {"S256"},
	}
	if r.State != "" {
		v.Set("state", r.State)
	}
	return v
}

// PageError is a request that cannot be answered at a redirect URI,
// because the client or the redirect URI is not known good (RFC 6749
// section 4.1.2.1, RFC 9700 section 2.1): the user is told, and the user
// agent is never sent anywhere.
type PageError struct{ Description string }

func (e *PageError) Error() string { return e.Description }

// RedirectError is an error response sent to the client at its redirect
// URI (RFC 6749 section 4.1.2.1).
type RedirectError struct {
	Code        string // invalid_request, unsupported_response_type, invalid_scope, ...
	Description string
}

func (e *RedirectError) Error() string { return e.Code + ": " + e.Description }

// ParseRequest checks an authorization request's parameters p against its
// client c, which the caller looked up by p's client_id (nil when the team
// has no such client). Client, redirect URI and repeated parameters are
// checked first; until they pass the error is a *PageError. From then on
// req.RedirectURI and req.State are set, and an error is a *RedirectError
// for the client.
func ParseRequest(c *store.Client, p url.Values) (Request, error) {
	for _, k := range []string{"client_id", "redirect_uri"} {
		if len(p[k]) > 1 {
			return Request{}, &PageError{k + " is repeated"}
		}
	}
	if p.Get("client_id") == "" {
		return Request{}, &PageError{"the request names no client (client_id is missing)"}
	}
	if c == nil {
		return Request{}, &PageError{"no such client is registered in this team"}
	}
	if !slices.Contains(c.GrantTypes, client.GrantAuthorizationCode) {
		return Request{}, &PageError{"the client " + c.Name + " is not registered for the authorization code flow"}
	}
	req := Request{Client: *c}
	switch raw, sent := p["redirect_uri"]; {
	case sent && slices.Contains(c.RedirectURIs, raw[0]):
		req.RedirectURI = raw[0]
	case sent:
		return Request{}, &PageError{"the redirect URI is not one that the client " + c.Name + " registered"}
	case len(c.RedirectURIs) == 1:
		req.RedirectURI = c.RedirectURIs[0]
	default:
		return Request{}, &PageError{"the request names no redirect URI (redirect_uri is missing) and the client registered several"}
	}
	// The answer can go to the client from here on.
	req.State = p.Get("state")
	for k, v := range p {
		if len(v) > 1 {
			return req, &RedirectError{"invalid_request", "parameter " + k + " is repeated"}
		}
	}
	if p.Has("request") {
		return req, &RedirectError{"request_not_supported", "request objects are not supported"}
	}
	if p.Has("request_uri") {
		return req, &RedirectError{"request_uri_not_supported", "request_uri is not supported"}
	}
	switch rt := p.Get("response_type"); rt {
	case "code":
	case "":
		return req, &RedirectError{"invalid_request", "response_type is missing; it must be code"}
	default:
		return req, &RedirectError{"unsupported_response_type", "response_type must be code"}
	}
	// PKCE is required, with S256 only (RFC 9700 section 2.1.1): plain
	// would let whoever sees the request redeem the code.
	challenge, method := p.Get("code_challenge"), p.Get("code_challenge_method")
	switch {
	case challenge == "":
		return req, &RedirectError{"invalid_request", "PKCE is required: send code_challenge with code_challenge_method S256 (RFC 7636)"}
	case method == "plain":
		return req, &RedirectError{"invalid_request", "code_challenge_method plain is not accepted; use S256"}
	case method == "":
		return req, &RedirectError{"invalid_request", "code_challenge_method is missing; it must be S256"}
	case method != "S256":
		return req, &RedirectError{"invalid_request", "code_challenge_method must be S256"}
	case !validChallenge(challenge):
		return req, &RedirectError{"invalid_request", "code_challenge must be the 43-character base64url SHA-256 of the code verifier"}
	}
	req.CodeChallenge = challenge
	scopes, rerr := requestedScopes(p, c.Scopes)
	if rerr != nil {
		return req, rerr
	}
	req.Scopes = scopes
	return req, nil
}

// requestedScopes parses the scope parameter (RFC 6749 section 3.3): each
// scope must be one the client may ask for; none requested means all of
// them. Runs of spaces are tolerated, as at the token endpoint.
func requestedScopes(p url.Values, allowed []string) ([]string, *RedirectError) {
	raw, sent := p["scope"]
	if !sent {
		if len(allowed) == 0 {
			return nil, &RedirectError{"invalid_scope", "the client has no scopes to ask for"}
		}
		return slices.Clone(allowed), nil
	}
	fields := strings.Fields(raw[0])
	if len(fields) == 0 {
		return nil, &RedirectError{"invalid_scope", "scope is empty"}
	}
	var out []string
	for _, f := range fields {
		if !scope.IsToken(f) {
			return nil, &RedirectError{"invalid_scope", "scope " + f + " is not a valid scope token"}
		}
		if !slices.Contains(allowed, f) {
			return nil, &RedirectError{"invalid_scope", "the client is not allowed scope " + f}
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out, nil
}

// validChallenge checks an S256 code_challenge: 32 bytes in unpadded
// base64url are 43 characters of its alphabet.
func validChallenge(s string) bool {
	if len(s) != 43 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isBase64URL(s[i]) {
			return false
		}
	}
	return true
}

func isBase64URL(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}
