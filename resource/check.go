package resource

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// Reasons of a [Decision] that denies, as the permission endpoint names them.
const (
	ReasonInsufficientScope = "insufficient_scope" // the token lacks the scope
	ReasonMissingPermission = "missing_permission" // the principal lacks the permission
	ReasonInvalidToken      = "invalid_token"      // the token is not (or no longer) valid
)

// maxCheckResponse bounds the permission endpoint's answer.
const maxCheckResponse = 64 << 10

// Decision is the permission endpoint's answer.
type Decision struct {
	Allowed bool
	// Reason is "" when allowed, else one of the Reason constants (or a
	// reason a later Gatehouse adds).
	Reason string
	// Principal is who the token speaks for, as Gatehouse names
	// principals: "client:<client_id>", "user:<email>" or "app:<name>".
	Principal string
}

type checkKey struct {
	token                   [sha256.Size]byte
	scope, action, resource string
}

// checkRequest is the body of POST /api/authz/check.
type checkRequest struct {
	Token    string `json:"token"`
	Scope    string `json:"scope,omitempty"`
	Action   string `json:"action"`
	Resource string `json:"resource"`
}

// checkResponse is its answer.
type checkResponse struct {
	Allowed   *bool  `json:"allowed"`
	Reason    string `json:"reason"`
	Principal string `json:"principal"`
}

// Check asks Gatehouse whether p's token may do action on resource under
// scope (the access rule: the token carries scope, and its principal holds
// the permission action on resource). See [Validator.Decide].
func (v *Validator) Check(ctx context.Context, p *Principal, scope, action, resource string) (bool, error) {
	d, err := v.Decide(ctx, p, scope, action, resource)
	return d.Allowed, err
}

// Decide is [Validator.Check] with the whole answer. It POSTs
// {"token", "scope", "action", "resource"} to the permission endpoint
// (Config.CheckURL) with Config.CheckCredential's token as bearer, and
// expects 200 and {"allowed": bool, "reason", "principal"}. Answers are
// reused for Config.CheckCacheTTL (never beyond the token's expiry) for
// the same token, scope, action and resource.
//
// Any failure (no credential, network, a status other than 200, a body
// without "allowed") is an error wrapping [ErrCheckFailed] with a Decision
// that denies: never treat an error as permission.
func (v *Validator) Decide(ctx context.Context, p *Principal, scope, action, resource string) (Decision, error) {
	if p == nil || p.Token == "" {
		return Decision{}, fmt.Errorf("%w: no token to check", ErrCheckFailed)
	}
	key := checkKey{p.tokenHash(), scope, action, resource}
	now := v.now()
	if v.checks != nil {
		if d, ok := v.checks.get(key, now); ok {
			return d, nil
		}
	}
	d, err := v.ask(ctx, checkRequest{Token: p.Token, Scope: scope, Action: action, Resource: resource})
	if err != nil {
		return Decision{}, err
	}
	if v.checks != nil {
		until := now.Add(v.checkTTL)
		if !p.Expiry.IsZero() && p.Expiry.Before(until) {
			until = p.Expiry
		}
		v.checks.put(key, d, until, now)
	}
	return d, nil
}

// ask calls the permission endpoint.
func (v *Validator) ask(ctx context.Context, cr checkRequest) (Decision, error) {
	if v.credential == nil {
		return Decision{}, fmt.Errorf("%w: Config.CheckCredential is not set", ErrCheckFailed)
	}
	cred, err := v.credential.Token()
	if err != nil {
		return Decision{}, fmt.Errorf("%w: get the check credential: %w", ErrCheckFailed, err)
	}
	body, err := json.Marshal(cr)
	if err != nil {
		return Decision{}, fmt.Errorf("%w: %w", ErrCheckFailed, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.checkURL, bytes.NewReader(body))
	if err != nil {
		return Decision{}, fmt.Errorf("%w: %w", ErrCheckFailed, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	cred.SetAuthHeader(req)
	resp, err := v.client.Do(req)
	if err != nil {
		return Decision{}, fmt.Errorf("%w: %w", ErrCheckFailed, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxCheckResponse))
	if err != nil {
		return Decision{}, fmt.Errorf("%w: read answer of %s: %w", ErrCheckFailed, v.checkURL, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e errorBody
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return Decision{}, fmt.Errorf("%w: %s answered %d %s: %s", ErrCheckFailed, v.checkURL, resp.StatusCode, e.Error, e.Description)
		}
		return Decision{}, fmt.Errorf("%w: %s answered %d", ErrCheckFailed, v.checkURL, resp.StatusCode)
	}
	var cresp checkResponse
	if err := json.Unmarshal(b, &cresp); err != nil {
		return Decision{}, fmt.Errorf("%w: answer of %s: %w", ErrCheckFailed, v.checkURL, err)
	}
	if cresp.Allowed == nil {
		return Decision{}, fmt.Errorf("%w: answer of %s has no \"allowed\"", ErrCheckFailed, v.checkURL)
	}
	return Decision{Allowed: *cresp.Allowed, Reason: cresp.Reason, Principal: cresp.Principal}, nil
}

// RequirePermission returns a middleware that serves only requests whose
// principal (put in the context by [Validator.Middleware], which must come
// first) carries scope and holds the permission action on the resource
// that resource names for the request (nil: ""). It checks the scope
// locally, then asks Gatehouse ([Validator.Decide]). A denial is 403 with
// a JSON body: {"error": "forbidden", "error_description", "action",
// "resource"} for a missing permission, or the answer of
// [Validator.RequireScope] for a missing scope; a token Gatehouse no longer
// holds valid gets 401; a failed check gets 503.
func (v *Validator) RequirePermission(scope, action string, resource func(*http.Request) string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := FromContext(r.Context())
			if !ok {
				v.unauthorized(w, ErrNoToken)
				return
			}
			if scope != "" && !p.HasScope(scope) {
				insufficientScope(w, scope)
				return
			}
			var res string
			if resource != nil {
				res = resource(r)
			}
			d, err := v.Decide(r.Context(), p, scope, action, res)
			switch {
			case err != nil:
				v.log.Error("gatehouse permission check failed", "action", action, "resource", res, "err", err)
				writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "temporarily_unavailable",
					Description: "the permission could not be checked; try again"})
			case d.Allowed:
				next.ServeHTTP(w, r)
			case d.Reason == ReasonInsufficientScope:
				insufficientScope(w, scope)
			case d.Reason == ReasonInvalidToken:
				v.unauthorized(w, ErrInvalidToken)
			default:
				who := d.Principal
				if who == "" {
					who = "the caller"
				}
				writeJSON(w, http.StatusForbidden, errorBody{Error: "forbidden",
					Description: fmt.Sprintf("%s may not %s %s", who, action, res), Action: action, Resource: res})
			}
		})
	}
}
