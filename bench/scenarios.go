package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime/multipart"
	"net/url"
)

// spec is a scenario ready to run.
type spec struct {
	addr    string // where the load goes
	pid     int    // the process under test, for its CPU time; 0: n/a
	sources func(worker, workers int) (source, error)
	// check validates the body of the first request's 2xx answer.
	check func(body []byte) error
	// preflight, if set, replaces the first request's check.
	preflight func(ctx context.Context) error
}

// spec builds scenario name against t, or says why it cannot run.
func (t *target) spec(ctx context.Context, name string) (spec, error) {
	c := t.creds
	gh := func(reqs ...[]byte) spec { return spec{addr: t.addr, pid: t.pid, sources: cycleSources(reqs...)} }
	get := func(path, auth string) []byte {
		return rawRequest("GET", t.host, path, []string{"Authorization: " + auth, "Accept: application/json"}, nil)
	}
	switch name {
	case scTokenCC:
		if c.basicID == "" {
			return spec{}, &unavailableError{"needs a client_secret_basic client (-client-id)"}
		}
		sp := gh(tokenRequest(t.host, c.basicID, c.basicSecret))
		sp.check = checkToken
		return sp, nil
	case scTokenCCMultipart:
		if c.postID == "" {
			return spec{}, &unavailableError{"needs a client_secret_post client (-post-client-id)"}
		}
		sp := gh(multipartTokenRequest(t.host, c.postID, c.postSecret))
		sp.check = checkToken
		return sp, nil
	case scIntrospect:
		if t.jwt == "" {
			return spec{}, errors.New(t.jwtErr)
		}
		body := []byte("token=" + url.QueryEscape(t.jwt))
		sp := gh(rawRequest("POST", t.host, "/oauth2/introspect", []string{"Authorization: " + basicAuth(c.basicID, c.basicSecret),
			"Content-Type: application/x-www-form-urlencoded", "Accept: application/json"}, body))
		sp.check = func(b []byte) error {
			var v struct {
				Active bool `json:"active"`
			}
			if json.Unmarshal(b, &v) != nil || !v.Active {
				return fmt.Errorf("introspection did not find the token active: %s", snippet(b))
			}
			return nil
		}
		return sp, nil
	case scAPIJWT:
		if t.jwt == "" {
			return spec{}, errors.New(t.jwtErr)
		}
		return gh(get(t.apiPath, "Bearer "+t.jwt)), nil
	case scAPIAppKey:
		if c.appKey == "" {
			return spec{}, &unavailableError{"needs an AppKey (-app-key)"}
		}
		return gh(get(t.apiPath, "AppKey "+c.appKey)), nil
	case scAPIUserKey:
		if c.userKey == "" {
			return spec{}, &unavailableError{"needs a user API key (-user-key)"}
		}
		return gh(get(t.apiPath, "Bearer "+c.userKey)), nil
	case scGatewayJWT, scGatewayAppKey:
		if c.gatewayPath == "" {
			return spec{}, &unavailableError{"needs a gateway route (-gateway-path and -upstream)"}
		}
		if name == scGatewayJWT {
			if t.jwt == "" {
				return spec{}, errors.New(t.jwtErr)
			}
			return gh(get(c.gatewayPath, "Bearer "+t.jwt)), nil
		}
		if c.appKey == "" {
			return spec{}, &unavailableError{"needs an AppKey (-app-key)"}
		}
		return gh(get(c.gatewayPath, "AppKey "+c.appKey)), nil
	case scProxyNoAuth:
		if t.proxy == nil {
			if t.proxyErr != "" {
				return spec{}, errors.New(t.proxyErr)
			}
			return spec{}, &unavailableError{"needs an upstream (-gateway-path and -upstream)"}
		}
		req := rawRequest("GET", t.host, c.gatewayPath, []string{"Accept: application/json"}, nil)
		return spec{addr: t.proxy.addr, pid: t.proxy.pid(), sources: cycleSources(req)}, nil
	case scUpstreamDirect:
		if t.upstreamAddr == "" {
			return spec{}, &unavailableError{"needs an upstream (-gateway-path and -upstream)"}
		}
		req := rawRequest("GET", t.host, c.gatewayPath, []string{"Accept: application/json"}, nil)
		return spec{addr: t.upstreamAddr, pid: t.upstreamPID, sources: cycleSources(req)}, nil
	case scRefresh:
		return t.refreshSpec(ctx)
	}
	return spec{}, fmt.Errorf("unknown scenario %q", name)
}

// refreshSpec is the refresh scenario: each worker gets its own token
// family through the authorization code flow before the load starts.
func (t *target) refreshSpec(ctx context.Context) (spec, error) {
	if t.creds.codeErr != "" {
		return spec{}, &unavailableError{"no authorization code client: " + t.creds.codeErr}
	}
	flow, err := newAuthFlow(t.addr, t.host, t.creds.code)
	if err != nil {
		return spec{}, err
	}
	sp := spec{addr: t.addr, pid: t.pid}
	sp.sources = func(int, int) (source, error) { return newRefreshSource(ctx, flow, t.host) }
	sp.preflight = func(ctx context.Context) error {
		s, err := newRefreshSource(ctx, flow, t.host)
		if err != nil {
			return err
		}
		req, err := s.next()
		if err != nil {
			return err
		}
		status, body, err := do(ctx, t.addr, req)
		if err != nil {
			return fmt.Errorf("the first refresh: %w", err)
		}
		if s.observe(status, body); s.broken != "" {
			return fmt.Errorf("the first refresh: %s", s.broken)
		}
		return nil
	}
	return sp, nil
}

// tokenRequest is token-cc's request: client credentials, HTTP Basic,
// urlencoded.
func tokenRequest(host, id, secret string) []byte {
	return rawRequest("POST", host, "/oauth2/token", []string{"Authorization: " + basicAuth(id, secret),
		"Content-Type: application/x-www-form-urlencoded", "Accept: application/json"},
		[]byte("grant_type=client_credentials&scope="+url.QueryEscape(tokenScopes)))
}

// multipartTokenRequest is token-cc-multipart's request: the Celonis guide's
// curl -F form, with the client's id and secret in the body
// (client_secret_post).
func multipartTokenRequest(host, id, secret string) []byte {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.SetBoundary("------------------------bench5c1f0e7a9d3b")
	for _, kv := range [][2]string{{"client_id", id}, {"client_secret", secret}, {"grant_type", "client_credentials"}, {"scope", tokenScopes}} {
		mw.WriteField(kv[0], kv[1])
	}
	mw.Close()
	return rawRequest("POST", host, "/oauth2/token", []string{"Content-Type: " + mw.FormDataContentType(), "Accept: application/json"},
		body.Bytes())
}

// checkToken checks a token response.
func checkToken(b []byte) error {
	var v struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	if json.Unmarshal(b, &v) != nil || v.AccessToken == "" || v.TokenType != "Bearer" {
		return fmt.Errorf("not a token response: %s", snippet(b))
	}
	return nil
}

// fetchToken gets an access token with all of a client's scopes.
func fetchToken(ctx context.Context, addr, host, id, secret string) (string, error) {
	req := rawRequest("POST", host, "/oauth2/token", []string{"Authorization: " + basicAuth(id, secret),
		"Content-Type: application/x-www-form-urlencoded", "Accept: application/json"}, []byte("grant_type=client_credentials"))
	status, body, err := do(ctx, addr, req)
	if err != nil {
		return "", err
	}
	var v struct {
		AccessToken string `json:"access_token"`
	}
	if status != 200 || json.Unmarshal(body, &v) != nil || v.AccessToken == "" {
		return "", fmt.Errorf("POST /oauth2/token answered %d: %s", status, snippet(body))
	}
	return v.AccessToken, nil
}
