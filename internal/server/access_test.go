package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/poll"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// accessToken gets a client-credentials token for a new client of team
// with scopes, and returns it with the client.
func (e *oauthEnv) accessToken(t testing.TB, team string, scopes ...string) (string, store.Client) {
	t.Helper()
	c, sec := e.newClient(t, team, client.AuthSecretBasic, scopes...)
	status, _, body := e.post(t, team, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}},
		map[string]string{"Authorization": basic(c.ID, sec)})
	if status != 200 {
		t.Fatalf("token: %d %v", status, body)
	}
	return body["access_token"].(string), c
}

// call sends method path on team's host with the Authorization header
// values given, and returns status, WWW-Authenticate and JSON body.
func (e *oauthEnv) call(t testing.TB, team, method, path, body string, auth ...string) (int, string, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, servertest.URL(team, path), strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, a := range auth {
		req.Header.Add("Authorization", a)
	}
	resp, err := e.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(b, &m)
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate"), m
}

func (e *oauthEnv) grant(t testing.TB, team, principal, action, resource string) {
	t.Helper()
	e.h.Grant(t, team, principal, action, resource)
}

// Denials follow RFC 6750 section 3 exactly.
func TestAuthenticationChallenges(t *testing.T) {
	e := newOAuthEnv(t)
	tok, c := e.accessToken(t, "acme", "audit.log:read")
	e.grant(t, "acme", "client:"+c.ID, "check", "authz")
	betaTok, _ := e.accessToken(t, "beta", "audit.log:read")
	tampered := tok[:len(tok)-4] + "AAAA"
	body := `{"principal":"client:` + c.ID + `","scope":"","action":"check","resource":"authz"}`
	for _, tc := range []struct {
		name      string
		auth      []string
		status    int
		challenge string
		code      string
	}{
		{"no credential", nil, 401, `Bearer realm="acme.gatehouse.test"`, "unauthorized"},
		{"unknown scheme", []string{"Digest abc"}, 401, `Bearer realm="acme.gatehouse.test"`, "unauthorized"},
		{"empty bearer", []string{"Bearer "}, 400, `Bearer realm="acme.gatehouse.test", error="invalid_request"`, "invalid_request"},
		{"two headers", []string{"Bearer " + tok, "Bearer " + tok}, 400, `Bearer realm="acme.gatehouse.test", error="invalid_request"`, "invalid_request"},
		{"garbage JWT", []string{"Bearer eyJhbGciOiJFUzM4NCJ9.e30.AAAA"}, 401, `Bearer realm="acme.gatehouse.test", error="invalid_token"`, "invalid_token"},
		{"tampered signature", []string{"Bearer " + tampered}, 401, `Bearer realm="acme.gatehouse.test", error="invalid_token"`, "invalid_token"},
		{"token of another team", []string{"Bearer " + betaTok}, 401, `Bearer realm="acme.gatehouse.test", error="invalid_token"`, "invalid_token"},
		{"malformed static key", []string{"Bearer bm90LWEtand0Cg=="}, 401, `Bearer realm="acme.gatehouse.test", error="invalid_token"`, "invalid_token"},
		{"AppKey", []string{"AppKey bm90LWEtand0Cg=="}, 401, `AppKey realm="acme.gatehouse.test", error="invalid_token"`, "invalid_token"},
		{"valid", []string{"Bearer " + tok}, 200, "", ""},
		{"scheme is case-insensitive", []string{"bearer " + tok}, 200, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, challenge, m := e.call(t, "acme", "POST", "/api/authz/check", body, tc.auth...)
			if status != tc.status {
				t.Fatalf("status %d, want %d (%v)", status, tc.status, m)
			}
			if !strings.HasPrefix(challenge, tc.challenge) || (tc.challenge == "" && challenge != "") {
				t.Errorf("WWW-Authenticate %q, want prefix %q", challenge, tc.challenge)
			}
			if tc.code != "" && m["error"] != tc.code {
				t.Errorf("body %v, want error %q", m, tc.code)
			}
		})
	}
}

func TestAuthzCheck(t *testing.T) {
	e := newOAuthEnv(t)
	caller, callerClient := e.accessToken(t, "acme", "audit.log:read")
	subject, subjectClient := e.accessToken(t, "acme", "integration.data-pools:data_push")
	e.grant(t, "acme", "client:"+subjectClient.ID, "push", "data-pools/*")

	// The caller needs permission check on authz. (This server does not
	// Run, so its caches see only grants made before their first use.)
	e.grant(t, "acme", "client:"+callerClient.ID, "check", "authz")
	unprivileged, _ := e.accessToken(t, "acme", "audit.log:read")
	status, _, m := e.call(t, "acme", "POST", "/api/authz/check", `{"token":"`+subject+`","scope":"","action":"push","resource":"data-pools/1"}`, "Bearer "+unprivileged)
	if status != 403 || m["error"] != "forbidden" || m["action"] != "check" || m["resource"] != "authz" {
		t.Fatalf("caller without permission: %d %v", status, m)
	}

	for _, tc := range []struct {
		name   string
		body   string
		status int
		want   map[string]any
	}{
		{"token allowed", `{"token":"` + subject + `","scope":"integration.data-pools:data_push","action":"push","resource":"data-pools/1"}`, 200,
			map[string]any{"allowed": true, "reason": "", "principal": "client:" + subjectClient.ID}},
		{"token lacks scope", `{"token":"` + subject + `","scope":"audit.log:read","action":"push","resource":"data-pools/1"}`, 200,
			map[string]any{"allowed": false, "reason": "insufficient_scope"}},
		{"token lacks permission", `{"token":"` + subject + `","scope":"integration.data-pools:data_push","action":"delete","resource":"data-pools/1"}`, 200,
			map[string]any{"allowed": false, "reason": "missing_permission"}},
		{"invalid token", `{"token":"eyJ.x.y","scope":"","action":"push","resource":"data-pools/1"}`, 200,
			map[string]any{"allowed": false, "reason": "invalid_token"}},
		{"principal, permissions only", `{"principal":"client:` + subjectClient.ID + `","action":"push","resource":"data-pools/9","scope":"integration.data-pools:data_push"}`, 200,
			map[string]any{"allowed": true}},
		{"principal with scopes", `{"principal":"client:` + subjectClient.ID + `","scopes":["audit.log:read"],"scope":"integration.data-pools:data_push","action":"push","resource":"data-pools/9"}`, 200,
			map[string]any{"allowed": false, "reason": "insufficient_scope"}},
		{"unknown principal", `{"principal":"app:nope","action":"push","resource":"data-pools/9","scope":""}`, 200,
			map[string]any{"allowed": false, "reason": "invalid_token"}},
		{"both token and principal", `{"token":"x","principal":"app:x","action":"push","resource":"r","scope":""}`, 400, map[string]any{"error": "invalid_request"}},
		{"bad action", `{"principal":"app:x","action":"Push!","resource":"r","scope":""}`, 400, map[string]any{"error": "invalid_request"}},
		{"not JSON", `push please`, 400, map[string]any{"error": "invalid_request"}},
		{"unknown field", `{"principal":"app:x","action":"push","resource":"r","scope":"","admin":true}`, 400, map[string]any{"error": "invalid_request"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, m := e.call(t, "acme", "POST", "/api/authz/check", tc.body, "Bearer "+caller)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %v", status, tc.status, m)
			}
			for k, v := range tc.want {
				if m[k] != v {
					t.Errorf("%s = %v, want %v (%v)", k, m[k], v, m)
				}
			}
		})
	}
}

// A grant, and a revoke, reach tokens already issued within 1 s, even when
// made by another process on the same database.
func TestGrantAndRevokeReachIssuedTokensWithin1s(t *testing.T) {
	ctx := context.Background()
	h := servertest.Start(t, servertest.WithTeams("acme"), servertest.WithWallClock())
	e := envOf(h)
	tok, c := e.accessToken(t, "acme", "audit.log:read")
	body := `{"principal":"client:` + c.ID + `","scope":"","action":"check","resource":"authz"}`
	allowed := func() bool {
		status, _, _ := e.call(t, "acme", "POST", "/api/authz/check", body, "Bearer "+tok)
		return status == 200
	}
	if allowed() {
		t.Fatal("allowed before the grant")
	}

	// Another process: its own store handle on the same file.
	other := servertest.Open(t, "", h.DBPath)
	otherAdmin := &admin.Service{Store: other}
	p := store.Permission{Team: "acme", Principal: "client:" + c.ID, Action: "check", Resource: "authz"}
	if _, err := otherAdmin.Grant(ctx, kernel.CLI, p); err != nil {
		t.Fatal(err)
	}
	if took, ok := poll.Until(time.Second, allowed); !ok {
		t.Fatal("the grant did not reach the issued token within 1 s")
	} else {
		t.Logf("grant took effect after %v", took)
	}
	if err := otherAdmin.Revoke(ctx, kernel.CLI, p); err != nil {
		t.Fatal(err)
	}
	if took, ok := poll.Until(time.Second, func() bool { return !allowed() }); !ok {
		t.Fatal("the revoke did not reach the issued token within 1 s")
	} else {
		t.Logf("revoke took effect after %v", took)
	}
}
