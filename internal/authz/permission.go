// Package authz holds Gatehouse's access rule (docs/ARCHITECTURE.md): who a
// principal is, what a permission grants, and whether a call passes.
// It is pure: no HTTP, no database.
package authz

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid reports a malformed principal, action or resource.
var ErrInvalid = errors.New("invalid")

// Principal kinds.
const (
	User   = "user"   // user:<email>
	Group  = "group"  // group:<name>
	App    = "app"    // app:<name>
	Client = "client" // client:<client_id>
)

// Principal is who holds a permission.
type Principal struct {
	Kind string
	Name string
}

func (p Principal) String() string { return p.Kind + ":" + p.Name }

// ParsePrincipal parses "kind:name". A group's name is the rest after the
// first ':', as GroupName takes it (spaces and any Unicode, composed to
// NFC); the others' names hold no spaces or control characters.
func ParsePrincipal(s string) (Principal, error) {
	kind, name, ok := strings.Cut(s, ":")
	if !ok || name == "" {
		return Principal{}, fmt.Errorf("%w principal %q: want user:<email>, group:<name>, app:<name> or client:<client_id>", ErrInvalid, s)
	}
	switch kind {
	case User, Group, App, Client:
	default:
		return Principal{}, fmt.Errorf("%w principal %q: unknown kind %q (user, group, app or client)", ErrInvalid, s, kind)
	}
	if kind == Group {
		// Groups are named as identity providers name them: spaces and
		// any Unicode (GroupName).
		g, err := GroupName(name)
		if err != nil {
			return Principal{}, fmt.Errorf("%w principal %q: %s", ErrInvalid, s, strings.TrimPrefix(err.Error(), "invalid "))
		}
		return Principal{Kind: kind, Name: g}, nil
	}
	if strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return Principal{}, fmt.Errorf("%w principal %q: name has spaces or control characters", ErrInvalid, s)
	}
	return Principal{Kind: kind, Name: name}, nil
}

// ValidateAction checks an action: a lower-case word such as "read",
// "manage" or "push" (letters, digits, '.', '-', '_', ':'), or "*" for
// every action.
func ValidateAction(a string) error {
	if a == "*" {
		return nil
	}
	if a == "" || len(a) > 64 || !(a[0] >= 'a' && a[0] <= 'z') {
		return fmt.Errorf("%w action %q: want a lower-case word such as read or manage, or *", ErrInvalid, a)
	}
	for i := 0; i < len(a); i++ {
		if c := a[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' || c == ':') {
			return fmt.Errorf("%w action %q: want a lower-case word such as read or manage, or *", ErrInvalid, a)
		}
	}
	return nil
}

// ValidateResource checks a resource or resource pattern: segments joined
// by '/', each of letters, digits and ".-_:@", or '*'. A '*' segment
// matches one segment, and a final '*' matches one or more.
func ValidateResource(r string) error {
	if r == "" || len(r) > 512 {
		return fmt.Errorf("%w resource %q: want segments joined by '/', such as data-pools/* or packages/42", ErrInvalid, r)
	}
	for seg := range strings.SplitSeq(r, "/") {
		if seg == "*" {
			continue
		}
		if seg == "" {
			return fmt.Errorf("%w resource %q: empty segment", ErrInvalid, r)
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(".-_:@", c) >= 0) {
				return fmt.Errorf("%w resource %q: segment %q may hold only letters, digits and .-_:@, or be *", ErrInvalid, r, seg)
			}
		}
	}
	return nil
}
