package statickey

import (
	"encoding/base64"
	"errors"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Kinds of key, as the store names them.
const (
	KindUser = store.KeyKindUser // a user API key, sent as Bearer
	KindApp  = store.KeyKindApp  // an AppKey, sent as AppKey
)

// ErrInvalidKey marks a static key that is refused: malformed, unknown,
// of another team, deleted, expired, sent under the other kind's scheme,
// or past the sunset date. The errors Authenticate returns wrap it; their
// Reason is safe to show to the caller.
var ErrInvalidKey = errors.New("invalid static key")

// refusal is a refused key with the reason the caller may be told.
type refusal struct{ reason string }

func (r *refusal) Error() string { return ErrInvalidKey.Error() + ": " + r.reason }
func (r *refusal) Unwrap() error { return ErrInvalidKey }

// Reason is the part of an error of Authenticate that may be shown to the
// caller, or a generic phrase for any other error.
func Reason(err error) string {
	var r *refusal
	if errors.As(err, &r) {
		return r.reason
	}
	return "the static key is not valid"
}

// The refusals Authenticate gives, built once so that a failure does not
// allocate. None of them tells an unknown key from a wrong secret or a key
// of another team.
var (
	errMalformed = &refusal{"the static key is malformed: want base64 of <key id>:<secret>"}
	errUnknown   = &refusal{"the static key is not valid"}
	errExpired   = &refusal{"the static key expired"}
	errUserAsApp = &refusal{"this is a user API key: send it as Authorization: Bearer <key>"}
	errAppAsUser = &refusal{"this is an AppKey: send it as Authorization: AppKey <key>"}
)

// Bounds of an encoded key: base64 of a 36-character UUID, ':' and a
// secret of at least 1 and at most 64 characters.
const (
	uuidLen       = 36
	maxSecretLen  = 64
	maxEncodedLen = (uuidLen + 1 + maxSecretLen + 2) / 3 * 4
)

// Format encodes a key from its id and secret.
func Format(id, secret string) string {
	return base64.StdEncoding.EncodeToString([]byte(id + ":" + secret))
}

// Parse decodes a key into its id (a canonical lower-case UUID) and its
// secret, or returns an error wrapping ErrInvalidKey.
func Parse(key string) (id, secret string, err error) {
	decoded, ok := decode(key)
	if !ok {
		return "", "", errMalformed
	}
	id, secret, _ = strings.Cut(decoded, ":")
	return id, secret, nil
}

// decode is Parse's work: it returns the decoded "<id>:<secret>". Only
// the one spelling Format makes is accepted: strict base64 (no stray bits
// in the last character) without the line breaks the decoder would skip.
func decode(key string) (string, bool) {
	if len(key) == 0 || len(key) > maxEncodedLen || strings.ContainsAny(key, "\r\n") {
		return "", false
	}
	var buf [maxEncodedLen]byte
	n, err := base64.StdEncoding.Strict().Decode(buf[:], []byte(key))
	if err != nil || n < uuidLen+2 || n > uuidLen+1+maxSecretLen || buf[uuidLen] != ':' {
		return "", false
	}
	if !canonicalUUID(buf[:uuidLen]) {
		return "", false
	}
	for _, c := range buf[uuidLen+1 : n] {
		if c <= ' ' || c >= 0x7f || c == ':' {
			return "", false
		}
	}
	return string(buf[:n]), true
}

// canonicalUUID reports whether b is a UUID in the lower-case form that
// secret.Generator.UUID makes.
func canonicalUUID(b []byte) bool {
	for i, c := range b {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// validID reports whether id is a canonical key id, as the CLI passes it.
func validID(id string) bool {
	if len(id) != uuidLen {
		return false
	}
	u, err := uuid.Parse(id)
	return err == nil && u.String() == id
}
