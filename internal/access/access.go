// Package access enforces the access rule on every protected call: it
// authenticates the Authorization header (RFC 6750 bearer tokens, and the
// static keys' schemes), resolves the principal and its grants, applies
// authz.Decide, and answers denials exactly as RFC 6750 section 3 says.
package access

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/edge"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/statickey"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/token"
)

// Keys verifies token signatures with a team's keys.
type Keys interface {
	Verify(ctx context.Context, team, raw string) ([]byte, signing.Header, error)
}

// StaticKeys authenticates static keys (statickey.Service is one): user API
// keys sent as "Bearer <key>" (kind statickey.KindUser) and AppKeys sent as
// "AppKey <key>" (kind statickey.KindApp). It returns the notice of the
// team's sunset policy with every answer, refusals included; an error
// wrapping statickey.ErrInvalidKey is a refused key, whose statickey.Reason may
// be shown.
type StaticKeys interface {
	Authenticate(ctx context.Context, team store.Team, kind, key string, use statickey.Use) (authz.Subject, statickey.Notice, error)
}

// Denylist refuses revoked access tokens (denylist.List is one).
type Denylist interface {
	Refused(ctx context.Context, team string, c token.Claims) (bool, error)
}

// Checker resolves a principal and its grants (authz.Checker is one, from
// a cache).
type Checker interface {
	Resolve(ctx context.Context, team, kind, id string) (authz.Entry, error)
	ResolveName(ctx context.Context, team string, p authz.Principal) (authz.Entry, error)
}

// Auditor records the audit events that answers depend on
// (auditlog.Batcher is one): Add returns once the event is durable, or an
// error, and the request is then answered 503 instead.
type Auditor interface {
	Add(e store.AuditEvent) error
}

// Guard authenticates and authorizes requests.
type Guard struct {
	Keys       Keys
	Denylist   Denylist
	Checker    Checker
	StaticKeys StaticKeys // nil: static keys are refused
	Audit      Auditor
	Now        func() time.Time
	// Leeway is the clock skew tolerated on an access token's exp, nbf and
	// iat (--token-leeway; at most token.MaxLeeway). Introspection must
	// use the same (oauth.Endpoints.Leeway), so that a token the APIs
	// take is never called inactive.
	Leeway time.Duration
	// Verified remembers the tokens whose signature was checked; share
	// it with introspection (oauth.Endpoints.Verified). nil: the guard's
	// own.
	Verified *token.Verified

	ownVerified token.Verified
}

func (g *Guard) verified() *token.Verified {
	if g.Verified != nil {
		return g.Verified
	}
	return &g.ownVerified
}

func (g *Guard) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

// Fixed is the resource function of a route whose resource does not
// depend on the request.
func Fixed(resource string) func(*http.Request) string {
	return func(*http.Request) string { return resource }
}

type (
	subjectKey struct{}
	grantsKey  struct{}
)

// FromContext returns the authenticated subject of a request that passed
// the guard.
func FromContext(ctx context.Context) (authz.Subject, bool) {
	s, ok := ctx.Value(subjectKey{}).(authz.Subject)
	return s, ok
}

// GrantsFromContext returns what the principal of a request that passed
// the guard holds: what it may hand on in the changes it makes.
func GrantsFromContext(ctx context.Context) (authz.Grants, bool) {
	g, ok := ctx.Value(grantsKey{}).(authz.Grants)
	return g, ok
}

// Require serves next only to calls that pass the rule for scope, action
// and the resource that resource computes from the request.
func (g *Guard) Require(scope, action string, resource func(*http.Request) string, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sub, grants, ok := g.authorize(w, r, scope, action, resource(r))
		if !ok {
			return
		}
		ctx := context.WithValue(context.WithValue(r.Context(), subjectKey{}, sub), grantsKey{}, grants)
		next(w, r.WithContext(ctx))
	})
}

// Authorize authenticates r and applies the access rule for scope, action
// and resource. When the call is denied it has written the answer and
// returns false.
func (g *Guard) Authorize(w http.ResponseWriter, r *http.Request, scope, action, resource string) (authz.Subject, bool) {
	sub, _, ok := g.authorize(w, r, scope, action, resource)
	return sub, ok
}

func (g *Guard) authorize(w http.ResponseWriter, r *http.Request, scope, action, resource string) (authz.Subject, authz.Grants, bool) {
	sub, grants, ok := g.authenticate(w, r)
	if !ok {
		return authz.Subject{}, authz.Grants{}, false
	}
	d := authz.Decide(sub, grants, scope, action, resource)
	if d.Allowed() {
		return sub, grants, true
	}
	g.deny(w, r, sub, d)
	return authz.Subject{}, authz.Grants{}, false
}

// Authenticate authenticates r, or writes a 401 and returns false.
func (g *Guard) Authenticate(w http.ResponseWriter, r *http.Request) (authz.Subject, authz.Grants, bool) {
	return g.authenticate(w, r)
}

// failure is a refused authentication.
type failure struct {
	status      int
	scheme      string // of the challenge
	code        string // RFC 6750 error code; "" when no credential was sent
	description string
}

func (g *Guard) authenticate(w http.ResponseWriter, r *http.Request) (authz.Subject, authz.Grants, bool) {
	info := edge.RequestInfo(r)
	sub, grants, f := g.credential(w, r, info)
	if f != nil {
		if f.status == http.StatusServiceUnavailable {
			edge.Unavailable(w, f.description)
		} else {
			challenge(w, info, f)
		}
		return authz.Subject{}, authz.Grants{}, false
	}
	info.Principal = sub.Principal.String()
	return sub, grants, true
}

func (g *Guard) credential(w http.ResponseWriter, r *http.Request, info *edge.Info) (authz.Subject, authz.Grants, *failure) {
	values := r.Header.Values("Authorization")
	if len(values) == 0 {
		return authz.Subject{}, authz.Grants{}, &failure{status: 401, scheme: "Bearer"}
	}
	if len(values) > 1 {
		return authz.Subject{}, authz.Grants{}, &failure{status: 400, scheme: "Bearer", code: "invalid_request", description: "more than one Authorization header"}
	}
	scheme, cred, _ := strings.Cut(strings.TrimSpace(values[0]), " ")
	cred = strings.TrimSpace(cred)
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		if cred == "" {
			return authz.Subject{}, authz.Grants{}, &failure{status: 400, scheme: "Bearer", code: "invalid_request", description: "the Bearer credential is empty"}
		}
		if looksLikeJWT(cred) {
			return g.accessToken(r.Context(), info, cred)
		}
		return g.staticKey(w, r, info, "Bearer", cred)
	case strings.EqualFold(scheme, "AppKey"):
		if cred == "" {
			return authz.Subject{}, authz.Grants{}, &failure{status: 400, scheme: "AppKey", code: "invalid_request", description: "the AppKey credential is empty"}
		}
		return g.staticKey(w, r, info, "AppKey", cred)
	}
	// An unknown scheme is no credential of ours.
	return authz.Subject{}, authz.Grants{}, &failure{status: 401, scheme: "Bearer"}
}

// looksLikeJWT tells a JWS compact serialization (three base64url parts,
// the first a JSON object) from a static key (standard base64, no dots),
// by form alone: the two are never both tried.
func looksLikeJWT(s string) bool {
	return strings.HasPrefix(s, "eyJ") && strings.Count(s, ".") == 2
}

func (g *Guard) staticKey(w http.ResponseWriter, r *http.Request, info *edge.Info, scheme, key string) (authz.Subject, authz.Grants, *failure) {
	if g.StaticKeys == nil {
		return authz.Subject{}, authz.Grants{}, &failure{status: 401, scheme: scheme, code: "invalid_token", description: "static keys are not accepted"}
	}
	kind := statickey.KindUser
	if scheme == "AppKey" {
		kind = statickey.KindApp
	}
	// The key's last use keeps the address and the user agent: bounded.
	use := statickey.Use{At: g.now(), IP: kernel.Clip(edge.ClientIP(r), kernel.MaxIP), UserAgent: kernel.Clip(r.UserAgent(), kernel.MaxUserAgent)}
	sub, notice, err := g.StaticKeys.Authenticate(r.Context(), info.Team, kind, key, use)
	// The notice goes on every answer to a static key: 200, 401, 403, 503.
	writeNotice(w.Header(), notice)
	if err != nil {
		if errors.Is(err, statickey.ErrInvalidKey) {
			return authz.Subject{}, authz.Grants{}, &failure{status: 401, scheme: scheme, code: "invalid_token", description: statickey.Reason(err)}
		}
		edge.LogFailure(r.Context(), info.Log, "authenticate static key", err)
		return authz.Subject{}, authz.Grants{}, &failure{status: 503, description: "credentials cannot be checked right now; try again"}
	}
	e, err := g.Checker.Resolve(r.Context(), info.Team.Name, sub.Principal.Kind, principalID(sub))
	if err != nil {
		return authz.Subject{}, authz.Grants{}, g.resolveFailure(r.Context(), info, scheme, err)
	}
	sub.Principal, sub.UserID = e.Principal, e.UserID
	return sub, e.Grants, nil
}

// writeNotice writes a static key sunset notice as the headers of RFC 9745
// (Deprecation: @<unix seconds>), RFC 8594 (Sunset: <IMF-fixdate>) and
// RFC 8288 (Link: <URL>; rel="deprecation").
func writeNotice(h http.Header, n statickey.Notice) {
	if !n.Active() {
		return
	}
	h.Set("Deprecation", "@"+strconv.FormatInt(n.DeprecatedSince.Unix(), 10))
	if n.SunsetAt != nil {
		h.Set("Sunset", n.SunsetAt.UTC().Format(http.TimeFormat))
	}
	if n.Link != "" {
		h.Set("Link", "<"+n.Link+`>; rel="deprecation"`)
	}
}

// principalID is how the checker finds a subject's principal.
func principalID(s authz.Subject) string {
	if s.Principal.Kind == authz.User {
		return s.UserID
	}
	return s.Principal.Name
}

func (g *Guard) resolveFailure(ctx context.Context, info *edge.Info, scheme string, err error) *failure {
	if errors.Is(err, authz.ErrUnknownPrincipal) {
		return &failure{status: 401, scheme: scheme, code: "invalid_token", description: authz.ErrUnknownPrincipal.Error()}
	}
	edge.LogFailure(ctx, info.Log, "resolve principal", err)
	return &failure{status: 503, description: "credentials cannot be checked right now; try again"}
}

// accessToken authenticates a JWT access token of the request's team: its
// signature (skipped when this node verified the same token for the same
// team before and it has not expired), its claims, the denylist and its
// principal.
func (g *Guard) accessToken(ctx context.Context, info *edge.Info, raw string) (authz.Subject, authz.Grants, *failure) {
	team := info.Team.Name
	want := token.Expectation{Issuer: info.TeamURL, Audience: info.TeamHost, Leeway: g.Leeway}
	claims, err := g.verified().Check(team, raw, g.now(), want, func() ([]byte, error) {
		payload, _, err := g.Keys.Verify(ctx, team, raw)
		return payload, err
	})
	switch {
	case errors.Is(err, signing.ErrInvalid):
		return authz.Subject{}, authz.Grants{}, &failure{status: 401, scheme: "Bearer", code: "invalid_token", description: "the access token is not valid"}
	case errors.Is(err, token.ErrInvalid):
		return authz.Subject{}, authz.Grants{}, &failure{status: 401, scheme: "Bearer", code: "invalid_token", description: tokenProblem(err)}
	case err != nil:
		edge.LogFailure(ctx, info.Log, "verify access token", err)
		return authz.Subject{}, authz.Grants{}, &failure{status: 503, description: "credentials cannot be checked right now; try again"}
	}
	// The jti denylist, and for a user-delegated token its grant's cut-off.
	revoked, err := g.Denylist.Refused(ctx, team, claims)
	if err != nil {
		edge.LogFailure(ctx, info.Log, "read denylist", err)
		return authz.Subject{}, authz.Grants{}, &failure{status: 503, description: "credentials cannot be checked right now; try again"}
	}
	if revoked {
		return authz.Subject{}, authz.Grants{}, &failure{status: 401, scheme: "Bearer", code: "invalid_token", description: "the access token was revoked"}
	}
	sub := authz.Subject{Team: team, ClientID: claims.ClientID, Scopes: claims.Scopes, Credential: "access_token", TokenID: claims.JTI}
	kind, id := authz.Client, claims.ClientID
	if claims.Subject != claims.ClientID {
		// A user-delegated token: the principal is the user, limited to
		// the consented scopes the token carries.
		kind, id = authz.User, claims.Subject
	}
	e, err := g.Checker.Resolve(ctx, team, kind, id)
	if err != nil {
		return authz.Subject{}, authz.Grants{}, g.resolveFailure(ctx, info, "Bearer", err)
	}
	sub.Principal, sub.UserID = e.Principal, e.UserID
	return sub, e.Grants, nil
}

func tokenProblem(err error) string {
	switch {
	case errors.Is(err, token.ErrExpired):
		return "the access token expired"
	case errors.Is(err, token.ErrNotYetValid):
		return "the access token is not valid yet"
	case errors.Is(err, token.ErrWrongIssuer), errors.Is(err, token.ErrWrongAudience):
		return "the access token is not for this team"
	}
	return "the access token is not valid"
}

// challenge writes a 400/401 with its WWW-Authenticate challenge (RFC 6750
// section 3) and a JSON body.
func challenge(w http.ResponseWriter, info *edge.Info, f *failure) {
	var b strings.Builder
	b.WriteString(f.scheme)
	b.WriteString(` realm="`)
	b.WriteString(info.TeamHost)
	b.WriteByte('"')
	if f.code != "" {
		fmt.Fprintf(&b, `, error="%s", error_description="%s"`, f.code, f.description)
	}
	w.Header().Set("WWW-Authenticate", b.String())
	code, desc := f.code, f.description
	if code == "" {
		code, desc = "unauthorized", "this endpoint requires a credential in the Authorization header"
	}
	edge.Error(w, f.status, code, desc)
}

// denial is the JSON body of a 403.
type denial struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	Scope       string `json:"scope,omitempty"`
	Action      string `json:"action,omitempty"`
	Resource    string `json:"resource,omitempty"`
}

// deny writes a 403 for a decision (RFC 6750 section 3.1 for a missing
// scope) and audits it.
func (g *Guard) deny(w http.ResponseWriter, r *http.Request, sub authz.Subject, d authz.Decision) {
	info := edge.RequestInfo(r)
	var body denial
	reason := "missing_permission"
	if d.Outcome == authz.DenyScope {
		reason = "insufficient_scope"
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="%s", error="insufficient_scope", error_description="the access token lacks scope %s", scope="%s"`,
			info.TeamHost, d.Scope, d.Scope))
		body = denial{Error: "insufficient_scope", Description: "this call requires scope " + d.Scope, Scope: d.Scope}
	} else {
		body = denial{Error: "forbidden", Description: fmt.Sprintf("%s may not %s %s", sub.Principal, d.Action, d.Resource),
			Action: d.Action, Resource: d.Resource}
	}
	if g.Audit != nil {
		a := kernel.Actor{ID: sub.Principal.String(), IP: edge.ClientIP(r), UserAgent: r.UserAgent()}
		if err := g.Audit.Add(kernel.Event(a, g.now().UTC(), sub.Team, "access.deny", d.Resource,
			map[string]string{"reason": reason, "scope": d.Scope, "action": d.Action, "method": r.Method, "path": r.URL.Path})); err != nil {
			// A denial is answered only once it is recorded.
			info.Log.Error("audit event not recorded: request refused", "err", err)
			w.Header().Del("WWW-Authenticate")
			edge.Unavailable(w, "the request cannot be recorded right now; try again")
			return
		}
	}
	edge.JSON(w, http.StatusForbidden, body)
}
