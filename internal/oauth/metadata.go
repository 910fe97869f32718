package oauth

import (
	"net/http"
	"slices"

	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/edge"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/store"
)

// metadata is RFC 8414 section 2's authorization server metadata.
type metadata struct {
	Issuer                     string   `json:"issuer"`
	AuthorizationEndpoint      string   `json:"authorization_endpoint,omitempty"`
	TokenEndpoint              string   `json:"token_endpoint"`
	JWKSURI                    string   `json:"jwks_uri"`
	IntrospectionEndpoint      string   `json:"introspection_endpoint"`
	RevocationEndpoint         string   `json:"revocation_endpoint"`
	ScopesSupported            []string `json:"scopes_supported"`
	ResponseTypesSupported     []string `json:"response_types_supported"`
	GrantTypesSupported        []string `json:"grant_types_supported"`
	TokenAuthMethods           []string `json:"token_endpoint_auth_methods_supported"`
	IntrospectionAuthMethods   []string `json:"introspection_endpoint_auth_methods_supported"`
	RevocationAuthMethods      []string `json:"revocation_endpoint_auth_methods_supported"`
	CodeChallengeMethods       []string `json:"code_challenge_methods_supported"`
	AuthorizationResponseIssID bool     `json:"authorization_response_iss_parameter_supported"`
}

var authMethods = []string{client.AuthSecretBasic, client.AuthSecretPost}

// ServeMetadata is GET /.well-known/oauth-authorization-server (RFC 8414
// section 3), also at /.well-known/openid-configuration.
func (e *Endpoints) ServeMetadata(w http.ResponseWriter, r *http.Request) {
	info := edge.RequestInfo(r)
	u := info.TeamURL
	grants := e.GrantTypes()
	slices.Sort(grants)
	responseTypes, authorizeURL := []string{}, ""
	if slices.Contains(grants, client.GrantAuthorizationCode) {
		responseTypes, authorizeURL = []string{"code"}, u+"/oauth2/authorize"
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	edge.JSON(w, http.StatusOK, metadata{
		Issuer:                     u,
		AuthorizationEndpoint:      authorizeURL,
		TokenEndpoint:              u + "/oauth2/token",
		JWKSURI:                    u + "/oauth2/jwks",
		IntrospectionEndpoint:      u + "/oauth2/introspect",
		RevocationEndpoint:         u + "/oauth2/revoke",
		ScopesSupported:            e.ScopeNames,
		ResponseTypesSupported:     responseTypes,
		GrantTypesSupported:        grants,
		TokenAuthMethods:           authMethods,
		IntrospectionAuthMethods:   authMethods,
		RevocationAuthMethods:      authMethods,
		CodeChallengeMethods:       []string{"S256"},
		AuthorizationResponseIssID: slices.Contains(grants, client.GrantAuthorizationCode),
	})
}

// ServeJWKS is GET /oauth2/jwks and /.well-known/jwks.json: the team's
// published public keys. New keys are published long before they sign (an
// hour by default), so a cache of five minutes never misses a key.
func (e *Endpoints) ServeJWKS(w http.ResponseWriter, r *http.Request) {
	info := edge.RequestInfo(r)
	b, err := e.Keys.JWKS(r.Context(), info.Team.Name)
	if err != nil {
		edge.LogFailure(r.Context(), info.Log, "jwks", err)
		edge.Unavailable(w, "the keys could not be read; try again shortly")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/jwk-set+json")
	h.Set("Cache-Control", "public, max-age=300")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

func auditEvent(e *Endpoints, req *tokenRequest, action, target string, detail map[string]string) store.AuditEvent {
	return kernel.Event(req.actor(), e.now().UTC(), req.info.Team.Name, action, target, detail)
}
