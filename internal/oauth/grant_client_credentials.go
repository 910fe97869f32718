package oauth

import (
	"context"
	"slices"
	"strings"
)

// clientCredentialsGrant is RFC 6749 section 4.4: a client acting on its
// own behalf. No refresh token is issued (section 4.4.3).
type clientCredentialsGrant struct{}

func (clientCredentialsGrant) issue(ctx context.Context, e *Endpoints, req *tokenRequest) (*tokenResponse, *Error) {
	scopes, oerr := requestedScopes(req.params, req.client.Scopes)
	if oerr != nil {
		return nil, oerr
	}
	return e.issueAccess(ctx, req, req.client.ID, scopes, "client_credentials")
}

// requestedScopes parses the scope parameter (RFC 6749 section 3.3) and
// checks every scope is allowed; none requested means all allowed.
func requestedScopes(p params, allowed []string) ([]string, *Error) {
	raw, present := p["scope"]
	if !present {
		return allowed, nil
	}
	s := raw[0]
	if s == "" {
		return nil, invalidScope("scope is empty")
	}
	// The Celonis guide's curl writes "scope1 scope2": RFC 6749's one space. Be
	// lenient with runs of spaces, strict with everything else.
	fields := strings.Fields(s)
	out := make([]string, 0, len(fields))
	for _, f := range fields {
		if !validScopeToken(f) {
			return nil, invalidScope("scope " + f + " is not a valid scope token")
		}
		if !slices.Contains(allowed, f) {
			return nil, invalidScope("the client is not allowed scope " + f)
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out, nil
}

// validScopeToken checks RFC 6749 section 3.3's scope-token syntax.
func validScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c == 0x22 || c == 0x5c || c > 0x7e {
			return false
		}
	}
	return true
}
