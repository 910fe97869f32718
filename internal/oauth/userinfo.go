package oauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/internal/edge"
	"github.com/gatehouse/gatehouse/internal/oidc"
	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/store"
)

// bearerError is a refusal of a protected resource request (RFC 6750
// section 3): its status, error code ("" when no token was sent) and
// description.
type bearerError struct {
	status      int
	code, desc  string
	scope       string // insufficient_scope: the scope needed
	unavailable error  // a failure to decide: 503
}

// ServeUserInfo is GET and POST /oauth2/userinfo (OpenID Connect Core 1.0
// section 5.3): the claims about the user of an access token that carries
// openid, by its scopes (sub; email and email_verified with email; name
// with profile). The token comes as "Authorization: Bearer" or, on a POST,
// as the access_token field of a form body (RFC 6750 sections 2.1 and
// 2.2), never both and never in the URL; it must be valid here and now
// (signature, issuer, audience, expiry with the leeway, denylist). Refusals
// are RFC 6750's: 401 with WWW-Authenticate for no token or a bad one, 403
// insufficient_scope without openid, 400 invalid_request for a malformed
// request.
func (e *Endpoints) ServeUserInfo(w http.ResponseWriter, r *http.Request) {
	info := edge.RequestInfo(r)
	claims, berr := e.userInfo(r, info)
	if berr != nil {
		if berr.unavailable != nil {
			edge.LogFailure(r.Context(), info.Log, "userinfo", berr.unavailable)
			edge.Unavailable(w, "the access token cannot be checked right now; try again")
			return
		}
		writeBearerError(w, info, berr)
		return
	}
	h := w.Header()
	noStore(h)
	h.Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	json.NewEncoder(w).Encode(claims)
}

func (e *Endpoints) userInfo(r *http.Request, info *edge.Info) (oidc.UserClaims, *bearerError) {
	raw, berr := bearerCredential(r)
	if berr != nil {
		return oidc.UserClaims{}, berr
	}
	ctx := r.Context()
	claims, active, err := e.inspect(ctx, info, raw)
	if err != nil {
		return oidc.UserClaims{}, &bearerError{unavailable: err}
	}
	if !active {
		return oidc.UserClaims{}, &bearerError{status: 401, code: "invalid_token", desc: "the access token is not valid here and now"}
	}
	info.Principal = "client:" + claims.ClientID
	if !oidc.Wants(claims.Scopes) {
		return oidc.UserClaims{}, &bearerError{status: 403, code: "insufficient_scope", desc: "the access token lacks scope openid", scope: scope.OpenID}
	}
	if claims.Subject == claims.ClientID {
		return oidc.UserClaims{}, &bearerError{status: 401, code: "invalid_token", desc: "the access token is a client's: it names no user"}
	}
	if e.Users == nil {
		return oidc.UserClaims{}, &bearerError{unavailable: errors.New("userinfo: no user store")}
	}
	u, err := e.Users.User(ctx, info.Team.Name, claims.Subject)
	switch {
	case errors.Is(err, store.ErrNotFound) || err == nil && u.Disabled:
		return oidc.UserClaims{}, &bearerError{status: 401, code: "invalid_token", desc: "the access token's user no longer exists or is disabled"}
	case err != nil:
		return oidc.UserClaims{}, &bearerError{unavailable: err}
	}
	info.Principal = "user:" + u.Email
	return oidc.ClaimsOf(u, claims.Scopes), nil
}

// bearerCredential reads the access token of a protected resource request
// from its one Authorization header or, on a POST with a form body, its
// one access_token field (RFC 6750 sections 2.1 and 2.2). A token in the
// query string is not read (RFC 9700 section 2.6).
func bearerCredential(r *http.Request) (string, *bearerError) {
	malformed := func(desc string) (string, *bearerError) {
		return "", &bearerError{status: 400, code: "invalid_request", desc: desc}
	}
	var fromHeader string
	switch values := r.Header.Values("Authorization"); len(values) {
	case 0:
	case 1:
		scheme, cred, _ := strings.Cut(strings.TrimSpace(values[0]), " ")
		if !strings.EqualFold(scheme, "Bearer") {
			return "", &bearerError{status: 401} // no credential of ours
		}
		if fromHeader = strings.TrimSpace(cred); fromHeader == "" {
			return malformed("the Bearer credential is empty")
		}
	default:
		return malformed("more than one Authorization header")
	}
	var fromBody string
	if r.Method == http.MethodPost && r.ContentLength != 0 {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err == nil && mt == "application/x-www-form-urlencoded" {
			if err := r.ParseForm(); err != nil {
				return malformed("the form body could not be read")
			}
			switch v := r.PostForm["access_token"]; {
			case len(v) > 1:
				return malformed("access_token is repeated")
			case len(v) == 1 && v[0] == "":
				return malformed("access_token is empty")
			case len(v) == 1:
				fromBody = v[0]
			}
		}
	}
	switch {
	case fromHeader != "" && fromBody != "":
		return malformed("the access token is sent in more than one way")
	case fromHeader != "":
		return fromHeader, nil
	case fromBody != "":
		return fromBody, nil
	}
	return "", &bearerError{status: 401}
}

// writeBearerError writes an RFC 6750 section 3 refusal: the
// WWW-Authenticate challenge and a JSON body.
func writeBearerError(w http.ResponseWriter, info *edge.Info, b *bearerError) {
	challenge := fmt.Sprintf(`Bearer realm="%s"`, info.TeamHost)
	if b.code != "" {
		challenge += fmt.Sprintf(`, error="%s", error_description="%s"`, b.code, b.desc)
	}
	if b.scope != "" {
		challenge += fmt.Sprintf(`, scope="%s"`, b.scope)
	}
	h := w.Header()
	h.Set("WWW-Authenticate", challenge)
	noStore(h)
	code, desc := b.code, b.desc
	if code == "" {
		code, desc = "unauthorized", "this endpoint requires an access token with scope openid, as Authorization: Bearer or the access_token field of a form body"
	}
	edge.Error(w, b.status, code, desc)
}
