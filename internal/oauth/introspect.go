package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/internal/consent"
	"github.com/gatehouse/gatehouse/internal/edge"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/token"
)

// clientRequest parses and client-authenticates a POST to the
// introspection or revocation endpoint.
func (e *Endpoints) clientRequest(w http.ResponseWriter, r *http.Request) (*tokenRequest, bool) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, &Error{Code: "invalid_request", Description: "this endpoint takes POST", Status: http.StatusMethodNotAllowed})
		return nil, false
	}
	p, oerr := parseBody(r)
	if oerr != nil {
		writeError(w, oerr)
		return nil, false
	}
	req := &tokenRequest{info: edge.RequestInfo(r), params: p, ip: edge.ClientIP(r), ua: r.UserAgent()}
	c, oerr := e.authenticate(r.Context(), r, req)
	if oerr != nil {
		writeError(w, oerr)
		return nil, false
	}
	req.client = c
	req.info.Principal = "client:" + c.ID
	if p.get("token") == "" {
		writeError(w, invalidRequest("token is missing"))
		return nil, false
	}
	return req, true
}

// inspect returns the claims of an access token that is valid right now
// at this team: signed by one of its keys (checked once per token, through
// the verified-token cache), of its issuer and audience, unexpired and not
// revoked (by jti or by its grant's cut-off; checked on every call). ok is
// false for anything else, including a token of another team; err reports
// only a failure to decide.
func (e *Endpoints) inspect(ctx context.Context, info *edge.Info, raw string) (token.Claims, bool, error) {
	team := info.Team.Name
	claims, err := e.verified().Check(team, raw, e.now(), token.Expectation{Issuer: info.TeamURL, Audience: info.TeamHost, Leeway: e.Leeway},
		func() ([]byte, error) {
			payload, _, err := e.Keys.Verify(ctx, team, raw)
			return payload, err
		})
	switch {
	case errors.Is(err, signing.ErrInvalid), errors.Is(err, token.ErrInvalid):
		return token.Claims{}, false, nil
	case err != nil:
		return token.Claims{}, false, err
	}
	revoked, err := e.Denylist.Refused(ctx, info.Team.Name, claims)
	if err != nil {
		return token.Claims{}, false, err
	}
	return claims, !revoked, nil
}

func (e *Endpoints) verified() *token.Verified {
	if e.Verified != nil {
		return e.Verified
	}
	return &e.ownVerified
}

// introspection is an RFC 7662 section 2.2 response.
type introspection struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	Subject   string   `json:"sub,omitempty"`
	TokenType string   `json:"token_type,omitempty"`
	Expiry    int64    `json:"exp,omitempty"`
	IssuedAt  int64    `json:"iat,omitempty"`
	NotBefore int64    `json:"nbf,omitempty"`
	Issuer    string   `json:"iss,omitempty"`
	Audience  []string `json:"aud,omitempty"`
	JTI       string   `json:"jti,omitempty"`
}

// ServeIntrospect is POST /oauth2/introspect (RFC 7662): any client of the
// team may ask about a token; anything not valid here and now is
// {"active": false}.
func (e *Endpoints) ServeIntrospect(w http.ResponseWriter, r *http.Request) {
	req, ok := e.clientRequest(w, r)
	if !ok {
		return
	}
	claims, active, err := e.inspect(r.Context(), req.info, req.params.get("token"))
	if err != nil {
		edge.LogFailure(r.Context(), req.info.Log, "introspect", err)
		writeError(w, failure(err))
		return
	}
	out := introspection{Active: active}
	if active {
		out = introspection{Active: true, Scope: strings.Join(claims.Scopes, " "), ClientID: claims.ClientID,
			Subject: claims.Subject, TokenType: "Bearer", Expiry: claims.Expiry.Unix(), IssuedAt: claims.IssuedAt.Unix(),
			NotBefore: claims.NotBefore.Unix(), Issuer: claims.Issuer, Audience: claims.Audience, JTI: claims.JTI}
	}
	noStore(w.Header())
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	json.NewEncoder(w).Encode(out)
}

// ServeRevoke is POST /oauth2/revoke (RFC 7009). An access token issued to
// the calling client goes on the denylist until it expires; a refresh
// token takes its family and the access tokens of its grant with it; every
// node refuses them within a second. An unknown, invalid or expired token is
// answered 200 like a revoked one (section 2.2).
func (e *Endpoints) ServeRevoke(w http.ResponseWriter, r *http.Request) {
	req, ok := e.clientRequest(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	claims, active, err := e.inspect(ctx, req.info, req.params.get("token"))
	if err != nil {
		edge.LogFailure(ctx, req.info.Log, "revoke", err)
		writeError(w, failure(err))
		return
	}
	if active {
		if claims.ClientID != req.client.ID {
			writeError(w, unauthorizedClient("the token was not issued to this client"))
			return
		}
		// Audited first: a retry after a failed revocation finds the token
		// active and revokes it; one after a revocation that went
		// unaudited would find nothing to audit.
		if err := e.Audit.Add(auditEvent(e, req, "token.revoke", "token:"+claims.JTI, map[string]string{"sub": claims.Subject})); err != nil {
			writeError(w, auditFailed(req, err))
			return
		}
		// Listed while any leeway could still take it.
		if err := e.Denylist.Revoke(ctx, req.info.Team.Name, claims.JTI, claims.Expiry.Add(token.MaxLeeway)); err != nil {
			edge.LogFailure(ctx, req.info.Log, "revoke", err)
			writeError(w, failure(err))
			return
		}
	} else if e.Consents != nil {
		// A refresh token: its family goes, and the access tokens of its
		// grant with it (section 2.1).
		tok, found, err := e.Consents.RevokeRefresh(ctx, req.info.Team.Name, req.client.ID, req.params.get("token"))
		switch {
		case errors.Is(err, consent.ErrOtherClient):
			writeError(w, unauthorizedClient("the token was not issued to this client"))
			return
		case err != nil:
			edge.LogFailure(ctx, req.info.Log, "revoke refresh token", err)
			writeError(w, failure(err))
			return
		case found:
			// The family is revoked already; an event the audit trail cannot
			// take is logged whole, and the client told to try again.
			ev := auditEvent(e, req, "refresh.revoke", "user:"+tok.UserID, map[string]string{"family": tok.FamilyID})
			if err := e.Audit.Add(ev); err != nil {
				req.info.Log.Error("unrecorded audit event", "action", ev.Action, "target", ev.Target, "actor", ev.Actor,
					"family", tok.FamilyID, "at", ev.At)
				writeError(w, auditFailed(req, err))
				return
			}
		}
	}
	noStore(w.Header())
	w.WriteHeader(http.StatusOK)
}
