package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/gatehouse/gatehouse/internal/signing"
)

// Verifier verifies an ID token's signature with the team's published keys
// (*signing.Manager is one); an error wrapping signing.ErrInvalid is a
// token that does not verify, any other a failure to read the keys.
type Verifier interface {
	VerifyIDToken(ctx context.Context, team, raw string) ([]byte, signing.Header, error)
}

// MaxHintLen bounds an id_token_hint: an ID token of Gatehouse's is well
// under 2 KiB.
const MaxHintLen = 8 << 10

// ErrBadHint is wrapped by every refusal of an id_token_hint.
var ErrBadHint = errors.New("invalid id_token_hint")

// Hint is an ID token that a client handed back (id_token_hint), checked:
// issued by this team, to the clients of Audience, about the user Subject.
type Hint struct {
	Subject  string
	Audience []string
}

// For reports whether the hint was issued to clientID.
func (h Hint) For(clientID string) bool { return slices.Contains(h.Audience, clientID) }

// CheckHint checks raw, an id_token_hint, at the team whose issuer URL is
// issuer: an ID token signed by one of the team's published keys, whose
// iss is issuer and which names a subject and an audience. It may have
// expired: a hint says who the client believes is signed in, it grants
// nothing (OpenID Connect Core 1.0 section 3.1.2.1). An error wrapping
// ErrBadHint is a hint that does not pass; any other is a failure to read
// the keys.
func CheckHint(ctx context.Context, v Verifier, team, issuer, raw string) (Hint, error) {
	if raw == "" || len(raw) > MaxHintLen {
		return Hint{}, fmt.Errorf("%w: empty or longer than %d bytes", ErrBadHint, MaxHintLen)
	}
	payload, _, err := v.VerifyIDToken(ctx, team, raw)
	switch {
	case errors.Is(err, signing.ErrInvalid):
		return Hint{}, fmt.Errorf("%w: %v", ErrBadHint, err)
	case err != nil:
		return Hint{}, fmt.Errorf("check id_token_hint: %w", err)
	}
	var c struct {
		Issuer   string          `json:"iss"`
		Subject  string          `json:"sub"`
		Audience json.RawMessage `json:"aud"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return Hint{}, fmt.Errorf("%w: claims: %v", ErrBadHint, err)
	}
	if c.Issuer != issuer {
		return Hint{}, fmt.Errorf("%w: issued by %q, not this team", ErrBadHint, c.Issuer)
	}
	var aud []string
	var one string
	if err := json.Unmarshal(c.Audience, &one); err == nil {
		aud = []string{one}
	} else if err := json.Unmarshal(c.Audience, &aud); err != nil {
		return Hint{}, fmt.Errorf("%w: aud is neither a string nor an array of strings", ErrBadHint)
	}
	if c.Subject == "" || len(aud) == 0 || slices.Contains(aud, "") {
		return Hint{}, fmt.Errorf("%w: no subject or no audience", ErrBadHint)
	}
	return Hint{Subject: c.Subject, Audience: aud}, nil
}
