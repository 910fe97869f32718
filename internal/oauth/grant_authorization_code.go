package oauth

import (
	"context"
	"errors"

	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/consent"
	"github.com/gatehouse/gatehouse/internal/edge"
)

// authorizationCodeGrant is RFC 6749 section 4.1.3: a client exchanges the
// code that the authorization endpoint gave it, with the PKCE verifier
// (RFC 7636 section 4.5), for an access token on the user's behalf (sub is
// the user's ID), a refresh token that starts a family and, when the
// scopes include openid, an ID token (OpenID Connect Core 1.0 section
// 3.1.3).
type authorizationCodeGrant struct{}

// precheck answers a request without a code before the client is
// authenticated: the Celonis guide's "authorization_code" curl sends
// response_type, redirect_uri and scope to the token endpoint, and no
// code; the flow starts elsewhere.
func (authorizationCodeGrant) precheck(p params, info *edge.Info) *Error {
	if p.get("code") != "" {
		return nil
	}
	return invalidRequest("code is missing: the authorization code flow starts at " + info.TeamURL +
		"/oauth2/authorize, where the user signs in and consents (response_type=code, client_id, redirect_uri, scope, " +
		"state, code_challenge with code_challenge_method=S256); exchange the code it returns here with code, " +
		"redirect_uri and code_verifier (RFC 6749 section 4.1, RFC 7636)")
}

func (authorizationCodeGrant) issue(ctx context.Context, e *Endpoints, req *tokenRequest) (*tokenResponse, *Error) {
	verifier := req.params.get("code_verifier")
	switch {
	case verifier == "":
		return nil, invalidRequest("code_verifier is missing: PKCE is required (RFC 7636)")
	case !consent.ValidVerifier(verifier):
		return nil, invalidRequest("code_verifier must be 43 to 128 characters of A-Z, a-z, 0-9, '-', '.', '_' and '~' (RFC 7636 section 4.1)")
	}
	team := req.info.Team.Name
	code, err := e.Consents.Redeem(ctx, team, req.client, req.params.get("code"), req.params.get("redirect_uri"), verifier)
	if err != nil {
		if errors.Is(err, consent.ErrReplay) {
			req.info.Log.Warn("authorization code replayed: its tokens are revoked", "client_id", req.client.ID, "user_id", code.UserID)
			if err := e.Audit.Add(auditEvent(e, req, "code.replay", "user:"+code.UserID,
				map[string]string{"client_id": code.ClientID, "family": consent.FamilyOf(code.Hash)})); err != nil {
				return nil, auditFailed(req, err)
			}
		}
		return nil, grantError(ctx, req, err)
	}
	resp, oerr := e.issueAccess(ctx, req, code.UserID, code.Scopes, client.GrantAuthorizationCode)
	if oerr != nil {
		return nil, oerr
	}
	// The code's nonce goes into this one ID token: the code is spent.
	if oerr := e.identify(ctx, req, resp, code.UserID, code.Nonce, code.AuthTime); oerr != nil {
		return nil, oerr
	}
	refresh, err := e.Consents.StartFamily(ctx, team, code)
	if err != nil {
		edge.LogFailure(ctx, req.info.Log, "start refresh token family", err)
		return nil, failure(err)
	}
	resp.refreshToken = refresh.Reveal()
	return resp, nil
}

// grantError maps a refusal of the consent service to invalid_grant, a
// database that cannot answer to temporarily_unavailable, and anything
// else to server_error.
func grantError(ctx context.Context, req *tokenRequest, err error) *Error {
	var ge *consent.GrantError
	if errors.As(err, &ge) {
		return invalidGrant(ge.Reason)
	}
	edge.LogFailure(ctx, req.info.Log, "grant", err)
	return failure(err)
}
