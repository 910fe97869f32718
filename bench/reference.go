package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// reference is the ceiling of token issuance: an HTTP server that does
// only the unavoidable work of a client-credentials token request, for one
// client whose secret it holds as an HMAC-SHA-256, as Gatehouse stores
// it: parse the form (urlencoded with HTTP Basic, or multipart with the
// secret in the body), one HMAC check, one ES384 signature over an RFC
// 9068 access token of the same claims as Gatehouse's, and the JSON
// answer. No logging, metrics, audit, rate limits, caches or teams.
type reference struct {
	clientID string
	hmacKey  []byte
	hash     []byte // HMAC-SHA-256 of the secret
	priv     *ecdsa.PrivateKey
	header   string // base64url of the JOSE header
	domain   string
}

func newReference(clientID, secret, domain string) (*reference, error) {
	if clientID == "" || secret == "" {
		return nil, errors.New("reference: no client")
	}
	if domain == "" {
		domain = "bench.test"
	}
	key := make([]byte, 32)
	rand.Read(key)
	priv, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, err
	}
	kid := make([]byte, 16)
	rand.Read(kid)
	hdr := `{"alg":"ES384","kid":"` + base64.RawURLEncoding.EncodeToString(kid) + `","typ":"at+jwt"}`
	return &reference{clientID: clientID, hmacKey: key, hash: hmacOf(key, secret), priv: priv,
		header: base64.RawURLEncoding.EncodeToString([]byte(hdr)), domain: domain}, nil
}

func hmacOf(key []byte, s string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return m.Sum(nil)
}

// refClaims are the claims of Gatehouse's access tokens (internal/token).
type refClaims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  []string `json:"aud"`
	AZP       string   `json:"azp"`
	ClientID  string   `json:"client_id"`
	Scope     []string `json:"scope"`
	IssuedAt  int64    `json:"iat"`
	NotBefore int64    `json:"nbf"`
	Expiry    int64    `json:"exp"`
	JTI       string   `json:"jti"`
}

type refResponse struct {
	AccessToken string `json:"access_token"`
	Scope       string `json:"scope"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
}

func (ref *reference) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/oauth2/token" {
		refError(w, http.StatusNotFound, "not_found")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	var id, secret string
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "multipart/form-data":
		if err := r.ParseMultipartForm(64 << 10); err != nil {
			refError(w, http.StatusBadRequest, "invalid_request")
			return
		}
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			refError(w, http.StatusBadRequest, "invalid_request")
			return
		}
		u, p, ok := r.BasicAuth()
		if !ok {
			refError(w, http.StatusUnauthorized, "invalid_client")
			return
		}
		var err1, err2 error
		id, err1 = url.QueryUnescape(u) // RFC 6749 section 2.3.1
		secret, err2 = url.QueryUnescape(p)
		if err1 != nil || err2 != nil {
			refError(w, http.StatusUnauthorized, "invalid_client")
			return
		}
	default:
		refError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	if r.PostForm.Get("grant_type") != "client_credentials" {
		refError(w, http.StatusBadRequest, "unsupported_grant_type")
		return
	}
	if id != ref.clientID || !hmac.Equal(hmacOf(ref.hmacKey, secret), ref.hash) {
		refError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	scopes := strings.Fields(r.PostForm.Get("scope"))
	tok, err := ref.sign(r.Host, scopes)
	if err != nil {
		refError(w, http.StatusInternalServerError, "server_error")
		return
	}
	body, _ := json.Marshal(refResponse{AccessToken: tok, Scope: strings.Join(scopes, " "), TokenType: "Bearer", ExpiresIn: 900})
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Cache-Control"] = []string{"no-store"}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.Write(body)
}

// sign makes an access token: one ES384 signature.
func (ref *reference) sign(host string, scopes []string) (string, error) {
	now := time.Now().Unix()
	jti := make([]byte, 16)
	rand.Read(jti)
	jti[6] = jti[6]&0x0f | 0x40
	jti[8] = jti[8]&0x3f | 0x80
	claims, err := json.Marshal(refClaims{
		Issuer: "http://" + host, Subject: ref.clientID, Audience: []string{ref.clientID, host},
		AZP: ref.clientID, ClientID: ref.clientID, Scope: scopes,
		IssuedAt: now, NotBefore: now, Expiry: now + 900,
		JTI: fmt.Sprintf("%x-%x-%x-%x-%x", jti[0:4], jti[4:6], jti[6:8], jti[8:10], jti[10:]),
	})
	if err != nil {
		return "", err
	}
	in := make([]byte, 0, 1024)
	in = append(in, ref.header...)
	in = append(in, '.')
	in = base64.RawURLEncoding.AppendEncode(in, claims)
	sig, err := signES384(ref.priv, in)
	if err != nil {
		return "", err
	}
	in = append(in, '.')
	in = base64.RawURLEncoding.AppendEncode(in, sig)
	return string(in), nil
}

// signES384 is a JWS ES384 signature (RFC 7518 section 3.4): r and s,
// 48 bytes each, over the SHA-384 of the signing input.
func signES384(priv *ecdsa.PrivateKey, in []byte) ([]byte, error) {
	h := sha512.Sum384(in)
	r, s, err := ecdsa.Sign(rand.Reader, priv, h[:])
	if err != nil {
		return nil, err
	}
	sig := make([]byte, 96)
	r.FillBytes(sig[:48])
	s.FillBytes(sig[48:])
	return sig, nil
}

// verifyES384 checks a signature that signES384 made.
func verifyES384(pub *ecdsa.PublicKey, in, sig []byte) bool {
	if len(sig) != 96 {
		return false
	}
	h := sha512.Sum384(in)
	return ecdsa.Verify(pub, h[:], new(big.Int).SetBytes(sig[:48]), new(big.Int).SetBytes(sig[48:]))
}

func refError(w http.ResponseWriter, status int, code string) {
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Cache-Control"] = []string{"no-store"}
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":%q}`, code)
}
