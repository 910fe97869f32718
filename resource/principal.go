package resource

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// Principal is the caller behind a valid access token.
type Principal struct {
	// Subject is sub: the client_id for a client credentials token, the
	// user's ID for a token a user delegated (authorization code).
	Subject string
	// ClientID is client_id: the OAuth client the token was issued to.
	ClientID string
	// Scopes are the token's scopes: what APIs it may reach.
	Scopes []string
	// TokenID is jti.
	TokenID string
	// Expiry is exp.
	Expiry time.Time
	// Token is the raw access token, which [Validator.Check] sends to the
	// permission endpoint. Never log it: the Principal's LogValue leaves
	// it out.
	Token string

	hash [sha256.Size]byte // of Token, when set by Validate
}

// HasScope reports whether the token carries scope.
func (p *Principal) HasScope(scope string) bool {
	return slices.Contains(p.Scopes, scope)
}

// Require returns nil when the token carries every one of scopes, else an
// error wrapping [ErrInsufficientScope] that names the first one missing.
func (p *Principal) Require(scopes ...string) error {
	for _, s := range scopes {
		if !p.HasScope(s) {
			return fmt.Errorf("%w: the token lacks scope %s", ErrInsufficientScope, s)
		}
	}
	return nil
}

// IsClient reports whether the principal is the OAuth client itself (a
// client credentials token: sub is the client_id) rather than a user who
// delegated to it.
func (p *Principal) IsClient() bool {
	return p.Subject == p.ClientID
}

// LogValue logs the principal without its token.
func (p *Principal) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("sub", p.Subject),
		slog.String("client_id", p.ClientID),
		slog.Any("scopes", p.Scopes),
		slog.String("jti", p.TokenID),
	)
}

// tokenHash is the SHA-256 of the raw token, the key of the caches.
func (p *Principal) tokenHash() [sha256.Size]byte {
	if p.hash == ([sha256.Size]byte{}) {
		return sha256.Sum256([]byte(p.Token))
	}
	return p.hash
}

type principalKey struct{}

// NewContext returns a copy of ctx that carries p, as [Validator.Middleware]
// does for the handlers after it.
func NewContext(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal that [Validator.Middleware] put in ctx.
func FromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}
