package consent

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

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

	// OpenID Connect's parameters (Core 1.0 section 3.1.2.1).

	// Nonce is echoed in the ID token of the code ("": none sent).
	Nonce string
	// Prompt says whether the user may be shown a page, and which.
	Prompt Prompt
	// MaxAge, when HasMaxAge, is the longest time since the user signed
	// in that the request accepts; an older sign-in must be repeated.
	MaxAge    time.Duration
	HasMaxAge bool
	// LoginHint pre-fills the sign-in form's email ("" when none was
	// sent, or one that could not be shown).
	LoginHint string
	// IDTokenHint is an ID token the client got before, naming the user
	// it expects to be signed in; the caller checks it (oidc.CheckHint).
	IDTokenHint string
}

// Prompt is OpenID Connect's prompt parameter: None asks that no page be
// shown (the request fails instead), Login that the user sign in again,
// Consent that the consent page be shown even for a remembered consent.
// select_account is taken as login: signing in again is how a user picks
// another account here.
type Prompt struct{ None, Login, Consent bool }

// String is the prompt as the parameter spells it ("" for none sent).
func (p Prompt) String() string {
	var out []string
	if p.None {
		out = append(out, "none")
	}
	if p.Login {
		out = append(out, "login")
	}
	if p.Consent {
		out = append(out, "consent")
	}
	return strings.Join(out, " ")
}

// Bounds of OpenID Connect's parameters.
const (
	maxNonceLen     = 512
	maxLoginHintLen = 320 // the longest email address
	maxMaxAge       = 1<<31 - 1
	maxIDTokenHint  = 8 << 10
)

// Params returns the request as authorization request parameters, with
// the redirect URI and the scopes made explicit: what the consent form
// sends back, and what ParseRequest reads as the same request.
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
	if r.Nonce != "" {
		v.Set("nonce", r.Nonce)
	}
	if p := r.Prompt.String(); p != "" {
		v.Set("prompt", p)
	}
	if r.HasMaxAge {
		v.Set("max_age", strconv.FormatInt(int64(r.MaxAge/time.Second), 10))
	}
	if r.LoginHint != "" {
		v.Set("login_hint", r.LoginHint)
	}
	if r.IDTokenHint != "" {
		v.Set("id_token_hint", r.IDTokenHint)
	}
	return v
}

// AfterSignIn is the request to come back to once the user has signed in
// for it: a fresh sign-in is what prompt=login, max_age and the hints ask
// for, so they are dropped (keeping them would ask again, for ever).
// prompt=consent stays.
func (r Request) AfterSignIn() Request {
	r.Prompt.Login = false
	r.HasMaxAge, r.MaxAge = false, 0
	r.LoginHint, r.IDTokenHint = "", ""
	return r
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
	case slices.Contains(strings.Fields(p.Get("scope")), scope.OpenID):
		// OpenID Connect Core 1.0 section 3.1.2.1: REQUIRED.
		return Request{}, &PageError{"an OpenID Connect request (scope openid) must name its redirect URI (redirect_uri is missing)"}
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
	if rerr := openIDParams(p, &req); rerr != nil {
		return req, rerr
	}
	return req, nil
}

// openIDParams reads OpenID Connect's parameters of the request (Core 1.0
// section 3.1.2.1) into req. Parameters it does not know (display,
// ui_locales, claims, acr_values, ...) are ignored, as section 3.1.2.1
// asks of an unknown parameter.
func openIDParams(p url.Values, req *Request) *RedirectError {
	if p.Has("registration") {
		return &RedirectError{"registration_not_supported", "the registration parameter is not supported"}
	}
	switch p.Get("response_mode") {
	case "", "query":
	default:
		return &RedirectError{"invalid_request", "response_mode must be query"}
	}
	if n := p.Get("nonce"); n != "" {
		if len(n) > maxNonceLen || !printable(n) {
			return &RedirectError{"invalid_request", fmt.Sprintf("nonce must be at most %d bytes of printable text", maxNonceLen)}
		}
		req.Nonce = n
	}
	for _, v := range strings.Fields(p.Get("prompt")) {
		switch v {
		case "none":
			req.Prompt.None = true
		case "login", "select_account":
			req.Prompt.Login = true
		case "consent":
			req.Prompt.Consent = true
		default:
			return &RedirectError{"invalid_request", "prompt " + strconv.Quote(v) + " is not one of none, login, consent and select_account"}
		}
	}
	if req.Prompt.None && (req.Prompt.Login || req.Prompt.Consent) {
		return &RedirectError{"invalid_request", "prompt none may not be combined with another value"}
	}
	if raw, sent := p["max_age"]; sent {
		n, err := strconv.ParseUint(raw[0], 10, 32)
		if err != nil || n > maxMaxAge {
			return &RedirectError{"invalid_request", "max_age must be a whole number of seconds"}
		}
		req.MaxAge, req.HasMaxAge = time.Duration(n)*time.Second, true
	}
	// A hint is only a hint: one that cannot be shown is dropped.
	if h := p.Get("login_hint"); len(h) <= maxLoginHintLen && printable(h) {
		req.LoginHint = h
	}
	if h := p.Get("id_token_hint"); h != "" {
		if len(h) > maxIDTokenHint {
			return &RedirectError{"invalid_request", "id_token_hint is too long"}
		}
		req.IDTokenHint = h
	}
	return nil
}

// printable reports whether s is valid UTF-8 without control characters:
// what may be stored, shown on a page and sent back.
func printable(s string) bool {
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
