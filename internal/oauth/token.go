package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/edge"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/oidc"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/token"
)

// Clients authenticates clients and reads them, from a cache.
type Clients interface {
	Authenticate(ctx context.Context, team, clientID, secret string) (store.Client, error)
}

// Keys are the teams' signing keys.
type Keys interface {
	JWKS(ctx context.Context, team string) ([]byte, error)
	Verify(ctx context.Context, team, raw string) ([]byte, signing.Header, error)
}

// Tokens issues access tokens.
type Tokens interface {
	Issue(ctx context.Context, req token.Request) (token.Token, error)
}

// Denylist refuses revoked access tokens (denylist.List is one).
type Denylist interface {
	Refused(ctx context.Context, team string, c token.Claims) (bool, error)
	Revoke(ctx context.Context, team, jti string, expiresAt time.Time) error
}

// Consents redeems authorization codes and keeps refresh-token families
// (consent.Service is one).
type Consents interface {
	Redeem(ctx context.Context, team string, c store.Client, code, redirectURI, verifier string) (store.AuthCode, error)
	StartFamily(ctx context.Context, team string, ac store.AuthCode) (secret.Secret, error)
	CheckRefresh(ctx context.Context, team string, c store.Client, raw string) (store.RefreshToken, []string, error)
	Rotate(ctx context.Context, team string, tok store.RefreshToken) (secret.Secret, error)
	RevokeRefresh(ctx context.Context, team, clientID, raw string) (tok store.RefreshToken, found bool, err error)
}

// IDTokens makes OpenID Connect ID tokens (oidc.Issuer is one).
type IDTokens interface {
	Issue(ctx context.Context, req oidc.Request) (string, error)
}

// Users reads the users whose claims ID tokens and the userinfo endpoint
// carry (the store is one).
type Users interface {
	User(ctx context.Context, team, id string) (store.User, error)
}

// Auditor records the audit events that answers depend on
// (auditlog.Batcher is one): Add returns once the event is durable, or an
// error, and the request is then answered 503 instead.
type Auditor interface {
	Add(e store.AuditEvent) error
}

// Refusals counts the attempts that the limits refused, audited together
// (ratelimit.Refusals is one).
type Refusals interface {
	Add(r ratelimit.Refusal)
}

// Endpoints serves a team's OAuth endpoints.
type Endpoints struct {
	Clients  Clients
	Tokens   Tokens
	Keys     Keys
	Denylist Denylist
	// ScopeNames lists the scope catalog, for the metadata.
	ScopeNames []string
	// Failed client authentications are limited per client and per IP
	// (the client's address: edge.ClientIP), on this node and for every
	// node; the attempts they refuse are counted by Refusals, not audited
	// one by one.
	ClientLimit, IPLimit *ratelimit.Budget
	Refusals             Refusals
	Audit                Auditor
	Now                  func() time.Time
	// AccessTokenTTL and SigningAlg are the server's defaults; a team's
	// settings and a client's lifetime override them.
	AccessTokenTTL time.Duration
	SigningAlg     string
	// Leeway is the clock skew tolerated on an access token's exp, nbf
	// and iat by introspection and revocation: the access guard's
	// (access.Guard.Leeway), so that a token is active exactly while the
	// APIs take it.
	Leeway time.Duration
	// Consents redeems authorization codes and rotates refresh tokens; nil
	// leaves the authorization_code and refresh_token grants out.
	Consents Consents
	// IDTokens and Users add OpenID Connect to the authorization_code and
	// refresh_token grants (an ID token when the scopes include openid)
	// and serve the userinfo endpoint; nil leaves OpenID Connect out.
	IDTokens IDTokens
	Users    Users
	// Verified remembers the tokens whose signature was checked, for
	// introspection and revocation; share the access guard's
	// (access.Guard.Verified) so that a token verified by either is not
	// verified again. nil: the endpoints' own.
	Verified *token.Verified

	ownVerified token.Verified

	grantsOnce sync.Once
	grants     map[string]grant // built once, then only read
}

// grant is one grant type of the token endpoint. The steps every grant
// shares (parse the body, authenticate the client, check the client may use
// the grant, write the answer) are done once, in ServeToken.
type grant interface {
	issue(ctx context.Context, e *Endpoints, req *tokenRequest) (*tokenResponse, *Error)
}

// prechecker is a grant that can refuse a request before its client is
// authenticated.
type prechecker interface {
	precheck(p params, info *edge.Info) *Error
}

// tokenRequest is a parsed, client-authenticated token request.
type tokenRequest struct {
	info   *edge.Info
	params params
	client store.Client
	ip     string
	ua     string
}

// actor is the request's authenticated client, for the audit log.
func (req *tokenRequest) actor() kernel.Actor {
	return kernel.Actor{ID: "client:" + req.client.ID, IP: req.ip, UserAgent: req.ua}
}

// tokenResponse is a successful answer (RFC 6749 section 5.1).
type tokenResponse struct {
	accessToken  string
	scopes       []string
	expiresIn    time.Duration
	refreshToken string
	idToken      string
}

// grants lists the grant types this server supports, by name.
func (e *Endpoints) grantTypes() map[string]grant {
	e.grantsOnce.Do(func() {
		e.grants = map[string]grant{
			client.GrantClientCredentials: clientCredentialsGrant{},
		}
		if e.Consents != nil {
			e.grants[client.GrantAuthorizationCode] = authorizationCodeGrant{}
			e.grants[client.GrantRefreshToken] = refreshTokenGrant{}
		}
	})
	return e.grants
}

// GrantTypes names the supported grant types, for the metadata.
func (e *Endpoints) GrantTypes() []string {
	var names []string
	for n := range e.grantTypes() {
		names = append(names, n)
	}
	return names
}

func (e *Endpoints) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// ServeToken is POST /oauth2/token.
func (e *Endpoints) ServeToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, &Error{Code: "invalid_request", Description: "the token endpoint takes POST", Status: http.StatusMethodNotAllowed})
		return
	}
	resp, oerr := e.token(r)
	if oerr != nil {
		writeError(w, oerr)
		return
	}
	writeToken(w, resp)
}

func (e *Endpoints) token(r *http.Request) (*tokenResponse, *Error) {
	ctx := r.Context()
	p, oerr := parseBody(r)
	if oerr != nil {
		return nil, oerr
	}
	gt := p.get("grant_type")
	if gt == "" {
		return nil, invalidRequest("grant_type is missing")
	}
	g, ok := e.grantTypes()[gt]
	if !ok {
		return nil, unsupportedGrantType("grant_type " + strconv.Quote(gt) + " is not supported")
	}
	req := &tokenRequest{info: edge.RequestInfo(r), params: p, ip: edge.ClientIP(r), ua: r.UserAgent()}
	if pc, ok := g.(prechecker); ok {
		if oerr := pc.precheck(p, req.info); oerr != nil {
			return nil, oerr
		}
	}
	c, oerr := e.authenticate(ctx, r, req)
	if oerr != nil {
		return nil, oerr
	}
	req.client = c
	req.info.Principal = "client:" + c.ID
	if !allowsGrant(c, gt) {
		return nil, unauthorizedClient("the client is not registered for grant_type " + gt)
	}
	return g.issue(ctx, e, req)
}

// allowsGrant tells whether c may use grant type gt: refresh_token comes
// with authorization_code.
func allowsGrant(c store.Client, gt string) bool {
	if gt == client.GrantRefreshToken {
		gt = client.GrantAuthorizationCode
	}
	for _, g := range c.GrantTypes {
		if g == gt {
			return true
		}
	}
	return false
}

// authenticate authenticates the client of a request to a token,
// introspection or revocation endpoint, under the brute-force limits: the
// attempt takes a unit of the client's allowance and of its address's
// before the secret is checked (ratelimit.Take), so that attempts made at
// once cannot all be checked; a success gives both back, a failure spends
// them and is counted for every node.
func (e *Endpoints) authenticate(ctx context.Context, r *http.Request, req *tokenRequest) (store.Client, *Error) {
	creds, oerr := clientCredentials(r, req.params)
	if oerr != nil {
		return store.Client{}, oerr
	}
	// A client_id that this server cannot have made is refused before the
	// limits count it and before anything is audited or logged: what an
	// attacker sends (up to the body limit) is never kept.
	if !client.ValidID(creds.id) {
		return store.Client{}, invalidClient("client authentication failed: client_id is not one this server issues", creds.basic)
	}
	team := req.info.Team.Name
	att, refused := ratelimit.Take(ctx,
		ratelimit.Ask{Budget: e.ClientLimit, Key: ratelimit.Key{Team: team, Name: creds.id}},
		ratelimit.Ask{Budget: e.IPLimit, Key: ratelimit.Key{Name: req.ip}})
	if refused == nil {
		var err error
		if refused, err = att.Confirm(ctx); err != nil {
			req.info.Log.Error("client authentication limits", "err", err)
			return store.Client{}, failure(err)
		}
	}
	if refused != nil {
		if refused.Ask.Budget == e.IPLimit {
			e.refused(req, "ip", "ip:"+req.ip)
		} else {
			e.refused(req, "client", "client:"+creds.id)
		}
		return store.Client{}, tooManyFailures(refused.RetryAfter)
	}
	c, err := e.Clients.Authenticate(ctx, team, creds.id, creds.secret)
	if err != nil {
		if !errors.Is(err, client.ErrInvalidClient) {
			att.Refund(ctx) // nothing was checked
			edge.LogFailure(ctx, req.info.Log, "authenticate client", err)
			return store.Client{}, failure(err)
		}
		if oerr := e.failed(ctx, req, att, creds.id, "unknown client or wrong secret"); oerr != nil {
			return store.Client{}, oerr
		}
		return store.Client{}, invalidClient("client authentication failed", creds.basic)
	}
	if c.AuthMethod != creds.method {
		if oerr := e.failed(ctx, req, att, creds.id, "wrong authentication method"); oerr != nil {
			return store.Client{}, oerr
		}
		return store.Client{}, invalidClient("the client must authenticate with "+c.AuthMethod, creds.basic)
	}
	if err := att.Refund(ctx); err != nil {
		req.info.Log.Warn("client authentication limits: give back", "err", err)
	}
	return c, nil
}

// refused counts an attempt that a limit refused: one audit event per key
// and window stands for all of them.
func (e *Endpoints) refused(req *tokenRequest, limit, target string) {
	if e.Refusals == nil {
		return
	}
	e.Refusals.Add(ratelimit.Refusal{Team: req.info.Team.Name, Action: "client.auth.throttled", Limit: limit, Target: target,
		IP: req.ip, UserAgent: req.ua})
}

// failed audits a failed client authentication and spends the attempt's
// units. Once a limit runs out, one "blocked" event stands for the
// attempts refused after it. An event the audit trail cannot take makes
// the answer 503.
func (e *Endpoints) failed(ctx context.Context, req *tokenRequest, att *ratelimit.Attempt, clientID, reason string) *Error {
	team := req.info.Team.Name
	ev := kernel.Event(kernel.Actor{ID: "client:" + clientID, IP: req.ip, UserAgent: req.ua}, e.now().UTC(), team,
		"client.auth.failure", "client:"+clientID, map[string]string{"reason": reason})
	var oerr *Error
	if err := e.Audit.Add(ev); err != nil {
		oerr = auditFailed(req, err)
	}
	for _, q := range att.Fail(ctx) {
		by := "client"
		if q.Budget == e.IPLimit {
			by = "ip"
		}
		b := ev
		b.Action = "client.auth.blocked"
		b.Detail = map[string]string{"by": by, "window": q.Budget.Window().String()}
		if err := e.Audit.Add(b); err != nil && oerr == nil {
			oerr = auditFailed(req, err)
		}
		req.info.Log.Warn("client authentication blocked after repeated failures", "by", by, "client_id", clientID, "ip", req.ip)
	}
	return oerr
}

// tokenBody is a token response's JSON (RFC 6749 section 5.1).
type tokenBody struct {
	AccessToken  string `json:"access_token"`
	Scope        string `json:"scope"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
}

// writeToken writes a token response (RFC 6749 section 5.1).
func writeToken(w http.ResponseWriter, t *tokenResponse) {
	b, err := json.Marshal(tokenBody{AccessToken: t.accessToken, Scope: strings.Join(t.scopes, " "), TokenType: "Bearer",
		ExpiresIn: int64(t.expiresIn / time.Second), RefreshToken: t.refreshToken, IDToken: t.idToken})
	if err != nil {
		writeError(w, serverError())
		return
	}
	h := w.Header()
	noStore(h)
	h.Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// accessTokenTTL is the lifetime of a token for client c in team t.
func (e *Endpoints) accessTokenTTL(t store.Team, c store.Client) time.Duration {
	switch {
	case c.AccessTokenTTL > 0:
		return c.AccessTokenTTL
	case t.Settings.AccessTokenTTL > 0:
		return t.Settings.AccessTokenTTL
	}
	return e.AccessTokenTTL
}

// issueAccess issues an access token and audits it.
func (e *Endpoints) issueAccess(ctx context.Context, req *tokenRequest, subject string, scopes []string, grantType string) (*tokenResponse, *Error) {
	t := req.info.Team
	alg := t.Settings.SigningAlg
	if alg == "" {
		alg = e.SigningAlg
	}
	ttl := e.accessTokenTTL(t, req.client)
	tok, err := e.Tokens.Issue(ctx, token.Request{
		Team: t.Name, IssuerURL: req.info.TeamURL, TeamHost: req.info.TeamHost,
		ClientID: req.client.ID, Subject: subject, Scopes: scopes, TTL: ttl,
		ScopeAsString: t.Settings.ScopeFormat == "string", Alg: alg,
	})
	if err != nil {
		edge.LogFailure(ctx, req.info.Log, "issue access token", err)
		return nil, failure(err)
	}
	// The token leaves only once its issuance is durable in the audit
	// trail; else it is dropped unseen.
	if err := e.Audit.Add(kernel.Event(req.actor(), e.now().UTC(), t.Name, "token.issue", "client:"+req.client.ID,
		map[string]string{"grant_type": grantType, "jti": tok.JTI, "sub": subject, "scope": strings.Join(scopes, " ")})); err != nil {
		return nil, auditFailed(req, err)
	}
	return &tokenResponse{accessToken: tok.Raw.Reveal(), scopes: scopes, expiresIn: ttl}, nil
}

// identify adds an OpenID Connect ID token to resp when scopes include
// openid (OpenID Connect Core 1.0 sections 3.1.3.3 and 12.2): about the
// user, for the request's client, signed with the client's algorithm,
// with the at_hash of resp's access token, the nonce (the code's; none on
// a refresh) and the time the user signed in.
func (e *Endpoints) identify(ctx context.Context, req *tokenRequest, resp *tokenResponse, userID, nonce string, authTime time.Time) *Error {
	if e.IDTokens == nil || e.Users == nil || !oidc.Wants(resp.scopes) {
		return nil
	}
	t := req.info.Team
	u, err := e.Users.User(ctx, t.Name, userID)
	switch {
	case errors.Is(err, store.ErrNotFound) || err == nil && u.Disabled:
		return invalidGrant("the user no longer exists or is disabled")
	case err != nil:
		edge.LogFailure(ctx, req.info.Log, "read user for the ID token", err)
		return failure(err)
	}
	raw, err := e.IDTokens.Issue(ctx, oidc.Request{
		Team: t.Name, IssuerURL: req.info.TeamURL, ClientID: req.client.ID, User: u, Scopes: resp.scopes,
		Nonce: nonce, AuthTime: authTime, AccessToken: resp.accessToken, Alg: client.IDTokenAlg(req.client),
		TTL: e.accessTokenTTL(t, req.client),
	})
	if err != nil {
		edge.LogFailure(ctx, req.info.Log, "issue ID token", err)
		return failure(err)
	}
	resp.idToken = raw
	return nil
}
