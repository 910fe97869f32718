package oauth

import (
	"context"
	"errors"

	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/consent"
)

// refreshTokenGrant is RFC 6749 section 6, as the Celonis guide's renewal request
// sends it (client authentication, refresh_token, an optional scope): the
// refresh token is rotated on every use (RFC 9700 section 4.14.2), and the
// access token carries the requested scopes, which may only narrow what
// the user granted; a wider scope is invalid_scope.
type refreshTokenGrant struct{}

func (refreshTokenGrant) issue(ctx context.Context, e *Endpoints, req *tokenRequest) (*tokenResponse, *Error) {
	raw := req.params.get("refresh_token")
	if raw == "" {
		return nil, invalidRequest("refresh_token is missing")
	}
	team := req.info.Team.Name
	tok, allowed, err := e.Consents.CheckRefresh(ctx, team, req.client, raw)
	if err != nil {
		if errors.Is(err, consent.ErrReplay) {
			req.info.Log.Warn("refresh token replayed: its family is revoked", "client_id", req.client.ID, "user_id", tok.UserID)
			if err := e.Audit.Add(auditEvent(e, req, "refresh.replay", "user:"+tok.UserID,
				map[string]string{"client_id": tok.ClientID, "family": tok.FamilyID})); err != nil {
				return nil, auditFailed(req, err)
			}
		}
		return nil, grantError(ctx, req, err)
	}
	scopes, oerr := requestedScopes(req.params, allowed)
	if oerr != nil {
		oerr.Description = "the scope may only narrow what the user granted: " + oerr.Description
		return nil, oerr
	}
	if len(scopes) == 0 {
		return nil, invalidScope("none of the granted scopes is still allowed")
	}
	// Sign first, then spend: a failure to sign leaves the refresh token
	// usable; a failure to spend (a concurrent use) revokes the grant,
	// which cuts off the access token just signed too.
	resp, oerr := e.issueAccess(ctx, req, tok.UserID, scopes, client.GrantRefreshToken)
	if oerr != nil {
		return nil, oerr
	}
	// A refreshed ID token (OpenID Connect Core 1.0 section 12.2) keeps
	// the original sign-in's auth_time and has no nonce: the code's was
	// delivered once, with the code's ID token.
	if oerr := e.identify(ctx, req, resp, tok.UserID, "", tok.AuthTime); oerr != nil {
		return nil, oerr
	}
	next, err := e.Consents.Rotate(ctx, team, tok)
	if err != nil {
		if errors.Is(err, consent.ErrReplay) {
			if err := e.Audit.Add(auditEvent(e, req, "refresh.replay", "user:"+tok.UserID,
				map[string]string{"client_id": tok.ClientID, "family": tok.FamilyID})); err != nil {
				return nil, auditFailed(req, err)
			}
		}
		return nil, grantError(ctx, req, err)
	}
	resp.refreshToken = next.Reveal()
	return resp, nil
}
