package main

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestReference checks that the reference server does the work it
// stands for: it refuses a wrong secret, and its tokens are ES384 JWTs
// that verify with its key, for both body forms.
func TestReference(t *testing.T) {
	ref, err := newReference("c1", "s3cret", "bench.test")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ref)
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	for _, req := range [][]byte{tokenRequest("acme.bench.test", "c1", "s3cret"), multipartTokenRequest("acme.bench.test", "c1", "s3cret")} {
		status, body, err := do(t.Context(), addr, req)
		if err != nil || status != http.StatusOK {
			t.Fatalf("%d %s %v", status, body, err)
		}
		if err := checkToken(body); err != nil {
			t.Fatal(err)
		}
		var resp refResponse
		json.Unmarshal(body, &resp)
		parts := strings.Split(resp.AccessToken, ".")
		sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
		if len(parts) != 3 || !verifyES384(&ref.priv.PublicKey, []byte(parts[0]+"."+parts[1]), sig) {
			t.Fatalf("the token does not verify: %s", resp.AccessToken)
		}
		claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
		var c refClaims
		if json.Unmarshal(claims, &c) != nil || c.ClientID != "c1" || c.Issuer != "http://acme.bench.test" || len(c.Scope) != 2 {
			t.Errorf("claims: %s", claims)
		}
	}
	for _, req := range [][]byte{tokenRequest("acme.bench.test", "c1", "wrong"), tokenRequest("acme.bench.test", "c2", "s3cret")} {
		if status, _, _ := do(t.Context(), addr, req); status != http.StatusUnauthorized {
			t.Errorf("a wrong client: %d", status)
		}
	}
}
