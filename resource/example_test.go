package resource_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse/gatehouse/resource"
)

// A resource server that serves GET /reports to tokens with scope
// reports:read. A stand-in for the Gatehouse team publishes its key and
// signs a token as Gatehouse would.
func Example() {
	// The team: a P-384 key, published in the JWKS at /oauth2/jwks.
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: key.Public(), KeyID: "key-1", Algorithm: "ES384", Use: "sig"},
	}})
	team := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Write(jwks)
	}))
	defer team.Close()
	teamURL, _ := url.Parse(team.URL)

	// The resource server: in production, Issuer is the team URL, such as
	// https://acme.gatehouse.example, and nothing else needs setting.
	v, err := resource.New(resource.Config{Issuer: team.URL})
	if err != nil {
		log.Fatal(err)
	}
	reports := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := resource.FromContext(r.Context())
		fmt.Fprintf(w, "reports for %s (client credentials: %v)", p.Subject, p.IsClient())
	})
	mux := http.NewServeMux()
	mux.Handle("GET /reports", v.Middleware(v.RequireScope("reports:read")(reports)))

	// A token as the team's token endpoint issues it (RFC 9068).
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES384, Key: jose.JSONWebKey{Key: key, KeyID: "key-1"}},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		log.Fatal(err)
	}
	now := time.Now()
	claims, _ := json.Marshal(map[string]any{
		"iss": team.URL, "aud": []string{"reporting-client", teamURL.Host},
		"sub": "reporting-client", "client_id": "reporting-client", "azp": "reporting-client",
		"scope": []string{"reports:read"}, "jti": "0b9d1e6e-6f5a-4a57-8d7e-4a8f4f0f2c11",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(15 * time.Minute).Unix(),
	})
	jws, err := signer.Sign(claims)
	if err != nil {
		log.Fatal(err)
	}
	token, _ := jws.CompactSerialize()

	for _, authorization := range []string{"Bearer " + token, "", "Bearer not-a-token"} {
		req := httptest.NewRequest("GET", "/reports", nil)
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	// Output:
	// 200 reports for reporting-client (client credentials: true)
	// 401 {"error":"unauthorized","error_description":"this endpoint requires a bearer token in the Authorization header"}
	// 401 {"error":"invalid_token","error_description":"the access token is malformed"}
}
