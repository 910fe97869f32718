package access

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/edge"
)

// CheckAction and CheckResource are the permission a caller of the check
// endpoint needs: team admins hold it; grant it to a resource server's
// client with `permission grant --action check --resource authz`.
const (
	CheckAction   = "check"
	CheckResource = "authz"
)

// checkRequest asks for the decision on one call, naming the caller either
// by its access token, or by principal and the scopes its credential
// carries (omitted: permissions only).
type checkRequest struct {
	Token     string    `json:"token"`
	Principal string    `json:"principal"`
	Scopes    *[]string `json:"scopes"`
	Scope     string    `json:"scope"`
	Action    string    `json:"action"`
	Resource  string    `json:"resource"`
}

type checkResponse struct {
	Allowed   bool   `json:"allowed"`
	Reason    string `json:"reason"`
	Principal string `json:"principal,omitempty"`
	Scope     string `json:"scope"`
	Action    string `json:"action"`
	Resource  string `json:"resource"`
}

// ServeCheck is POST /api/authz/check: the access rule's decision, for
// resource servers that hold no data of ours. Reasons: "" (allowed),
// "insufficient_scope", "missing_permission", "invalid_token" (the token
// or principal is not valid in this team).
func (g *Guard) ServeCheck(w http.ResponseWriter, r *http.Request) {
	if _, ok := g.Authorize(w, r, "", CheckAction, CheckResource); !ok {
		return
	}
	info := edge.RequestInfo(r)
	var req checkRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		edge.Error(w, http.StatusBadRequest, "invalid_request", "the body must be a JSON object with token or principal, scope, action and resource")
		return
	}
	if (req.Token == "") == (req.Principal == "") {
		edge.Error(w, http.StatusBadRequest, "invalid_request", "give exactly one of token and principal")
		return
	}
	if err := authz.ValidateAction(req.Action); err != nil {
		edge.Error(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	if err := authz.ValidateResource(req.Resource); err != nil {
		edge.Error(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	out := checkResponse{Scope: req.Scope, Action: req.Action, Resource: req.Resource}

	var (
		sub    authz.Subject
		grants authz.Grants
	)
	if req.Token != "" {
		if !looksLikeJWT(req.Token) {
			out.Reason = "invalid_token"
			edge.JSON(w, http.StatusOK, out)
			return
		}
		s, gr, f := g.accessToken(r.Context(), info, req.Token)
		if f != nil {
			if f.status == http.StatusServiceUnavailable {
				edge.Unavailable(w, f.description)
				return
			}
			out.Reason = "invalid_token"
			edge.JSON(w, http.StatusOK, out)
			return
		}
		sub, grants = s, gr
	} else {
		p, err := authz.ParsePrincipal(req.Principal)
		if err != nil || p.Kind == authz.Group {
			edge.Error(w, http.StatusBadRequest, "invalid_request", "principal must be user:<email>, app:<name> or client:<client_id>")
			return
		}
		e, err := g.Checker.ResolveName(r.Context(), info.Team.Name, p)
		if errors.Is(err, authz.ErrUnknownPrincipal) {
			out.Reason = "invalid_token"
			edge.JSON(w, http.StatusOK, out)
			return
		} else if err != nil {
			edge.LogFailure(r.Context(), info.Log, "authz check", err)
			edge.Unavailable(w, "credentials cannot be checked right now; try again")
			return
		}
		sub = authz.Subject{Team: info.Team.Name, Principal: e.Principal, UserID: e.UserID, AllScopes: req.Scopes == nil}
		if req.Scopes != nil {
			sub.Scopes = *req.Scopes
		}
		grants = e.Grants
	}
	out.Principal = sub.Principal.String()
	switch authz.Decide(sub, grants, req.Scope, req.Action, req.Resource).Outcome {
	case authz.Allow:
		out.Allowed = true
	case authz.DenyScope:
		out.Reason = "insufficient_scope"
	case authz.DenyPermission:
		out.Reason = "missing_permission"
	}
	edge.JSON(w, http.StatusOK, out)
}
