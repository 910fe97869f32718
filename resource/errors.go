package resource

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/internal/token"
)

// ErrNoToken reports a request without a bearer token in its Authorization
// header. The middleware answers it with a bare challenge (RFC 6750
// section 3.1: no error code when the request carries no credential).
var ErrNoToken = errors.New("no bearer token")

// ErrInvalidToken is wrapped by every error [Validator.Validate] returns
// for a token that is not a valid access token of the issuer; its reasons
// ([ErrMalformed], [ErrExpired], ...) each wrap it. The middleware answers it with 401 and
// error="invalid_token".
var ErrInvalidToken = errors.New("invalid token")

// Reasons a token is invalid; each wraps [ErrInvalidToken].
var (
	// ErrMalformed: not a JWS compact serialization with one signature by
	// an allowed algorithm (ES384, ES256, EdDSA), or claims that are not
	// a JSON object with the required claims (RFC 9068 section 2.2).
	ErrMalformed = fmt.Errorf("%w: malformed", ErrInvalidToken)
	// ErrTokenType: the header's typ is not at+jwt (RFC 9068 section 4).
	ErrTokenType = fmt.Errorf("%w: typ is not at+jwt", ErrInvalidToken)
	// ErrUnknownKey: the issuer's JWKS has no usable key with the
	// header's kid, even after a refetch.
	ErrUnknownKey = fmt.Errorf("%w: unknown signing key", ErrInvalidToken)
	// ErrSignature: the signature does not verify with that key, or the
	// key does not fit the header's alg.
	ErrSignature = fmt.Errorf("%w: bad signature", ErrInvalidToken)
	// ErrExpired: exp has passed, beyond the leeway.
	ErrExpired = fmt.Errorf("%w: expired", ErrInvalidToken)
	// ErrNotYetValid: nbf or iat is in the future, beyond the leeway.
	ErrNotYetValid = fmt.Errorf("%w: not yet valid", ErrInvalidToken)
	// ErrWrongIssuer: iss is not Config.Issuer.
	ErrWrongIssuer = fmt.Errorf("%w: wrong issuer", ErrInvalidToken)
	// ErrWrongAudience: aud does not contain Config.Audience.
	ErrWrongAudience = fmt.Errorf("%w: wrong audience", ErrInvalidToken)
)

// ErrInsufficientScope reports a valid token that lacks a scope the
// request needs ([Principal.Require]). The middleware answers it with 403
// and error="insufficient_scope".
var ErrInsufficientScope = errors.New("insufficient scope")

// ErrKeysUnavailable reports that the issuer's JWKS could not be fetched,
// so a token could not be checked: a failure of the resource server's
// surroundings, not of the token. The middleware answers it with 503.
var ErrKeysUnavailable = errors.New("signing keys unavailable")

// ErrCheckFailed is wrapped by every error of [Validator.Check] and
// [Validator.Decide]: the permission endpoint could not be reached or gave
// no answer. It never means "denied"; [Validator.RequirePermission]
// answers it with 503.
var ErrCheckFailed = errors.New("permission check failed")

// claimErrors maps the token package's reasons to this package's.
var claimErrors = []struct{ theirs, ours error }{
	{token.ErrExpired, ErrExpired},
	{token.ErrNotYetValid, ErrNotYetValid},
	{token.ErrWrongIssuer, ErrWrongIssuer},
	{token.ErrWrongAudience, ErrWrongAudience},
	{token.ErrMalformed, ErrMalformed},
}

// claimError turns an error of token.Validate into one of ours, keeping its
// detail ("expired at ...", ": missing jti").
func claimError(err error) error {
	for _, e := range claimErrors {
		if errors.Is(err, e.theirs) {
			return fmt.Errorf("%w%s", e.ours, strings.TrimPrefix(err.Error(), e.theirs.Error()))
		}
	}
	return fmt.Errorf("%w: %v", ErrMalformed, err)
}

// description is the error_description shown to the caller for a token
// error: a fixed text per reason, so that nothing from the token or the
// key set is echoed into a response header.
func description(err error) string {
	switch {
	case errors.Is(err, ErrExpired):
		return "the access token expired"
	case errors.Is(err, ErrNotYetValid):
		return "the access token is not valid yet"
	case errors.Is(err, ErrWrongIssuer), errors.Is(err, ErrWrongAudience):
		return "the access token is not for this resource server"
	case errors.Is(err, ErrTokenType):
		return "the token is not an access token (typ at+jwt)"
	case errors.Is(err, ErrUnknownKey):
		return "the access token is signed by an unknown key"
	case errors.Is(err, ErrSignature):
		return "the access token's signature does not verify"
	case errors.Is(err, ErrMalformed):
		return "the access token is malformed"
	}
	return "the access token is not valid"
}
