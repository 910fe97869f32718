// Package oidc is the OpenID Connect part of the authorization server
// (OpenID Connect Core 1.0 and RP-Initiated Logout 1.0) that is not HTTP:
// it makes ID tokens with the claims a request's scopes release, computes
// their at_hash, states the user's claims for the userinfo endpoint, and
// checks an ID token that a client hands back as id_token_hint.
//
// ID tokens are signed by the signing package with the team's key of the
// client's id_token_signed_response_alg (RS256 unless the client registered
// ES256, ES384 or EdDSA) and carry typ JWT, so that no access-token check
// takes one.
//
// The package is domain logic: the signer, the verifier and the clock are
// injected, and it knows nothing of HTTP or SQL.
package oidc

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/store"
)

// ClaimsSupported are the claims Gatehouse's ID tokens and userinfo
// answers may carry, for the discovery document.
var ClaimsSupported = []string{"sub", "iss", "aud", "azp", "exp", "iat", "auth_time", "nonce", "at_hash",
	"email", "email_verified", "name"}

// Wants reports whether scopes ask for OpenID Connect (the openid scope):
// only then is an ID token issued or the userinfo endpoint answered.
func Wants(scopes []string) bool { return slices.Contains(scopes, scope.OpenID) }

// UserClaims are the claims about a user that a set of scopes releases
// (OpenID Connect Core 1.0 section 5.4): sub always, email and
// email_verified with scope email, name with scope profile.
type UserClaims struct {
	Subject string `json:"sub"`
	Email   string `json:"email,omitempty"`
	// EmailVerified is false: Gatehouse does not prove that a user
	// controls the mailbox of the email an administrator or a
	// provisioning client set. It is present whenever email is.
	EmailVerified *bool  `json:"email_verified,omitempty"`
	Name          string `json:"name,omitempty"`
}

// ClaimsOf returns the claims about u that scopes release.
func ClaimsOf(u store.User, scopes []string) UserClaims {
	c := UserClaims{Subject: u.ID}
	if slices.Contains(scopes, scope.Email) {
		verified := false
		c.Email, c.EmailVerified = u.Email, &verified
	}
	if slices.Contains(scopes, scope.Profile) {
		c.Name = u.Name
	}
	return c
}

// Signer signs an ID token's claims with the team's active key of alg
// ("": RS256) as a JWS compact serialization of typ JWT;
// *signing.Manager is one.
type Signer interface {
	SignIDToken(ctx context.Context, team, alg string, payload []byte) (string, error)
}

// Issuer makes ID tokens.
type Issuer struct {
	Signer Signer
	Now    func() time.Time // nil: time.Now
}

// Request is what an ID token is issued for.
type Request struct {
	Team      string
	IssuerURL string // iss: the team URL
	ClientID  string // aud and azp
	User      store.User
	Scopes    []string // the access token's: they release the user's claims
	// Nonce is the authorization request's nonce, echoed; "" leaves the
	// claim out (a refreshed ID token has none).
	Nonce string
	// AuthTime is when the user signed in; zero leaves auth_time out.
	AuthTime time.Time
	// AccessToken is the access token issued with the ID token, whose
	// at_hash the ID token carries.
	AccessToken string
	Alg         string        // the client's ID token algorithm ("": RS256)
	TTL         time.Duration // the ID token's lifetime
}

// idClaims are an ID token's claims (OpenID Connect Core 1.0 section 2),
// in the order they are written.
type idClaims struct {
	Issuer          string `json:"iss"`
	Subject         string `json:"sub"`
	Audience        string `json:"aud"`
	AuthorizedParty string `json:"azp"`
	Expiry          int64  `json:"exp"`
	IssuedAt        int64  `json:"iat"`
	AuthTime        int64  `json:"auth_time,omitempty"`
	Nonce           string `json:"nonce,omitempty"`
	AtHash          string `json:"at_hash,omitempty"`
	Email           string `json:"email,omitempty"`
	EmailVerified   *bool  `json:"email_verified,omitempty"`
	Name            string `json:"name,omitempty"`
}

// ErrRequest reports a request Issue cannot make an ID token for.
var ErrRequest = errors.New("bad ID token request")

// Issue makes and signs the ID token of req: iss, sub (the user's ID, as
// the access token's), aud (the client_id), azp, exp, iat, auth_time,
// nonce when sent, at_hash of the access token, and the claims the scopes
// release.
func (is *Issuer) Issue(ctx context.Context, req Request) (string, error) {
	if req.Team == "" || req.IssuerURL == "" || req.ClientID == "" || req.User.ID == "" || req.TTL <= 0 {
		return "", fmt.Errorf("%w: team, issuer URL, client ID, user and lifetime are required", ErrRequest)
	}
	now := time.Now
	if is.Now != nil {
		now = is.Now
	}
	iat := now().Truncate(time.Second)
	user := ClaimsOf(req.User, req.Scopes)
	c := idClaims{
		Issuer: req.IssuerURL, Subject: user.Subject, Audience: req.ClientID, AuthorizedParty: req.ClientID,
		IssuedAt: iat.Unix(), Expiry: iat.Add(req.TTL).Unix(), Nonce: req.Nonce,
		Email: user.Email, EmailVerified: user.EmailVerified, Name: user.Name,
	}
	if !req.AuthTime.IsZero() {
		c.AuthTime = req.AuthTime.Unix()
	}
	if req.AccessToken != "" {
		h, err := AtHash(req.Alg, req.AccessToken)
		if err != nil {
			return "", fmt.Errorf("issue ID token: %w", err)
		}
		c.AtHash = h
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("issue ID token: %w", err)
	}
	raw, err := is.Signer.SignIDToken(ctx, req.Team, req.Alg, payload)
	if err != nil {
		return "", fmt.Errorf("issue ID token: %w", err)
	}
	return raw, nil
}

// AtHash is the at_hash of accessToken in an ID token signed with alg ("":
// RS256): the base64url of the left half of the hash of its ASCII octets,
// the hash being the one of alg's JWS signature (OpenID Connect Core 1.0
// section 3.1.3.6): SHA-256 for RS256 and ES256, SHA-384 for ES384, and
// SHA-512 for EdDSA with Ed25519, as relying-party libraries compute it.
func AtHash(alg, accessToken string) (string, error) {
	var h hash.Hash
	switch alg {
	case "", signing.RS256, signing.ES256:
		h = sha256.New()
	case signing.ES384:
		h = sha512.New384()
	case signing.EdDSA:
		h = sha512.New()
	default:
		return "", fmt.Errorf("at_hash: %w %q", signing.ErrUnsupportedAlg, alg)
	}
	h.Write([]byte(accessToken))
	sum := h.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2]), nil
}
