package token

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/secret"
)

// DefaultTTL is an access token's lifetime when neither the client nor the
// team sets one.
const DefaultTTL = 900 * time.Second

// Signer signs a token's claims with the team's active key of alg ("": the
// default) and returns the JWS compact serialization with typ at+jwt.
// *signing.Manager is one.
type Signer interface {
	Sign(ctx context.Context, team, alg string, payload []byte) (string, error)
}

// Issuer makes access tokens.
type Issuer struct {
	Signer Signer
	Gen    secret.Generator // jti
	Now    func() time.Time // nil: time.Now
	// MaxTTL caps every token's lifetime (0: no cap). Set it to the
	// signing keys' retention, signing.Manager.MaxTokenTTL, so that no
	// token outlives the publication of its key.
	MaxTTL time.Duration
}

// Request is what an access token is issued for.
type Request struct {
	Team      string
	IssuerURL string // iss: the team URL, <scheme>://<team>.<domain>
	TeamHost  string // the second audience: <team>.<domain>
	ClientID  string
	Subject   string   // the client_id (client credentials) or the user's ID
	Scopes    []string // granted scope names
	TTL       time.Duration
	// ScopeAsString writes scope as one space-separated string (the team's
	// scope format "string") instead of a JSON array.
	ScopeAsString bool
	Alg           string // "": the signer's default
}

// Token is an issued access token.
type Token struct {
	Raw       secret.Secret // the JWT; Reveal it only into the token response
	JTI       string
	ExpiresAt time.Time
	Claims    Claims
}

// ErrRequest reports a request Issue cannot make a token for.
var ErrRequest = errors.New("bad token request")

// Issue makes and signs an access token for req (RFC 9068 section 2): iss
// the team URL, aud [client_id, team host], azp and client_id the client,
// sub req.Subject, scope the scopes, iat = nbf = now, exp = now + TTL
// (DefaultTTL when 0, capped to MaxTTL), jti a random UUID.
func (is *Issuer) Issue(ctx context.Context, req Request) (Token, error) {
	if req.Team == "" || req.IssuerURL == "" || req.TeamHost == "" || req.ClientID == "" || req.Subject == "" {
		return Token{}, fmt.Errorf("%w: team, issuer URL, team host, client ID and subject are required", ErrRequest)
	}
	for _, s := range req.Scopes {
		if s == "" || strings.ContainsAny(s, " \"\\") {
			return Token{}, fmt.Errorf("%w: scope %q is not a scope token (RFC 6749 section 3.3)", ErrRequest, s)
		}
	}
	ttl := req.TTL
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	if is.MaxTTL > 0 && ttl > is.MaxTTL {
		ttl = is.MaxTTL
	}
	jti, err := is.Gen.UUID()
	if err != nil {
		return Token{}, fmt.Errorf("issue token: %w", err)
	}
	now := time.Now
	if is.Now != nil {
		now = is.Now
	}
	iat := now().Truncate(time.Second)
	c := Claims{
		Issuer:          req.IssuerURL,
		Subject:         req.Subject,
		Audience:        []string{req.ClientID, req.TeamHost},
		ClientID:        req.ClientID,
		AuthorizedParty: req.ClientID,
		Scopes:          req.Scopes,
		IssuedAt:        iat,
		NotBefore:       iat,
		Expiry:          iat.Add(ttl).Truncate(time.Second),
		JTI:             jti,
	}
	payload := c.AppendJSON(make([]byte, 0, 512), req.ScopeAsString)
	raw, err := is.Signer.Sign(ctx, req.Team, req.Alg, payload)
	if err != nil {
		return Token{}, fmt.Errorf("issue token: %w", err)
	}
	return Token{Raw: secret.Secret(raw), JTI: jti, ExpiresAt: c.Expiry, Claims: c}, nil
}
