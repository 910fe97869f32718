package oauth

import (
	"net/http"
	"slices"

	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/edge"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/oidc"
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

	// OpenID Connect Discovery 1.0 section 3 and RP-Initiated Logout
	// 1.0 section 3.1, when OpenID Connect is served.
	UserInfoEndpoint    string   `json:"userinfo_endpoint,omitempty"`
	EndSessionEndpoint  string   `json:"end_session_endpoint,omitempty"`
	IDTokenSigningAlgs  []string `json:"id_token_signing_alg_values_supported,omitempty"`
	SubjectTypes        []string `json:"subject_types_supported,omitempty"`
	ClaimsSupported     []string `json:"claims_supported,omitempty"`
	ResponseModes       []string `json:"response_modes_supported,omitempty"`
	PromptValues        []string `json:"prompt_values_supported,omitempty"`
	RequestParameter    *bool    `json:"request_parameter_supported,omitempty"`
	RequestURIParameter *bool    `json:"request_uri_parameter_supported,omitempty"`
	ClaimsParameter     *bool    `json:"claims_parameter_supported,omitempty"`
	FrontchannelLogout  *bool    `json:"frontchannel_logout_supported,omitempty"`
	BackchannelLogout   *bool    `json:"backchannel_logout_supported,omitempty"`
}

var authMethods = []string{client.AuthSecretBasic, client.AuthSecretPost}

// ServeMetadata is GET /.well-known/oauth-authorization-server (RFC 8414
// section 3), also at /.well-known/openid-configuration (OpenID Connect
// Discovery 1.0 section 4), with OpenID Connect's fields when it is
// served.
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
	md := metadata{
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
	}
	if e.IDTokens != nil && slices.Contains(grants, client.GrantAuthorizationCode) {
		no := false
		md.UserInfoEndpoint = u + "/oauth2/userinfo"
		md.EndSessionEndpoint = u + "/oauth2/logout"
		md.IDTokenSigningAlgs = client.IDTokenAlgs
		md.SubjectTypes = []string{"public"}
		md.ClaimsSupported = oidc.ClaimsSupported
		md.ResponseModes = []string{"query"}
		md.PromptValues = []string{"none", "login", "consent", "select_account"}
		md.RequestParameter, md.RequestURIParameter, md.ClaimsParameter = &no, &no, &no
	}
	edge.JSON(w, http.StatusOK, md)
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
