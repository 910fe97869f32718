// Package kernel is the small vocabulary that every domain service shares:
// who makes a change (Actor), the error that marks bad input (ErrInvalid),
// the audit event every change and decision writes (Event), and the check
// that a team exists (TeamExists). It sits below admin, client, statickey,
// consent and the handlers, so that none of them depends on another for
// these few words.
package kernel

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/team"
)

// Actor is who makes a change or a request, for the audit log.
type Actor struct {
	ID        string // "cli", "user:<email>", "client:<id>", "key:<id>", ...
	IP        string
	UserAgent string
	// Authority is what the actor holds, and so may hand on: a change
	// that would give a principal a permission (a grant, a group
	// membership, a credential of a principal, a team admin's flag) is
	// refused with ErrForbidden unless the actor holds it. nil is an
	// actor bound by nothing, such as the CLI, which holds the database
	// itself.
	Authority Authority
}

// Authority is what an actor holds (authz.Grants is one).
type Authority interface {
	// Covers reports whether the holder may do action on every resource
	// that the resource pattern matches.
	Covers(action, pattern string) bool
	// IsTeamAdmin reports whether the holder is a team admin, who holds
	// every permission of the team.
	IsTeamAdmin() bool
}

// ErrForbidden reports a change that the actor may not make because it
// would hand on what the actor does not hold; the message of the error
// that wraps it says what.
var ErrForbidden = errors.New("forbidden")

// Forbidden returns an error wrapping ErrForbidden with a formatted
// message.
func Forbidden(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrForbidden}, args...)...)
}

// ErrStale reports a change made against a version of a record that is no
// longer the current one (an HTTP If-Match that no longer matches).
var ErrStale = errors.New("the record changed since it was read")

// Grant is a permission an actor may be asked to hand on: an action on a
// resource pattern.
type Grant struct {
	Action, Resource string
}

// MayHandOn checks that a holds every grant of gs (and is a team admin if
// admin is set), so that what a change confers stays within what its
// actor holds. An actor without Authority may hand on anything.
func (a Actor) MayHandOn(what string, admin bool, gs []Grant) error {
	if a.Authority == nil || a.Authority.IsTeamAdmin() {
		return nil
	}
	if admin {
		return Forbidden("%s would confer a team admin's powers, and %s is not a team admin", what, a.ID)
	}
	for _, g := range gs {
		if !a.Authority.Covers(g.Action, g.Resource) {
			return Forbidden("%s would confer %s on %s, which %s does not hold", what, g.Action, g.Resource, a.ID)
		}
	}
	return nil
}

// CLI is the actor of changes made with the gatehouse command.
var CLI = Actor{ID: "cli"}

// ErrInvalid reports input that fails validation; the message of the error
// that wraps it says which field and why.
var ErrInvalid = errors.New("invalid")

// Invalid returns an error wrapping ErrInvalid with a formatted message.
func Invalid(format string, args ...any) error {
	return fmt.Errorf("%w "+format, append([]any{ErrInvalid}, args...)...)
}

// invalidError marks a validation error of another package (a team name, a
// principal, an action, a resource) as ErrInvalid too, keeping its message
// and its own sentinel.
type invalidError struct{ err error }

func (e invalidError) Error() string   { return e.err.Error() }
func (e invalidError) Unwrap() []error { return []error{ErrInvalid, e.err} }

// AsInvalid marks a non-nil validation error as ErrInvalid as well; nil
// stays nil.
func AsInvalid(err error) error {
	if err == nil {
		return nil
	}
	return invalidError{err}
}

// conflictError is a store.ErrAlreadyExists whose message says what
// already exists in words of its own, without the sentinel's text.
type conflictError struct{ msg string }

func (e conflictError) Error() string { return e.msg }
func (e conflictError) Unwrap() error { return store.ErrAlreadyExists }

// Conflict returns an error that is store.ErrAlreadyExists and reads as
// the formatted message alone: "permission already granted: ...".
func Conflict(format string, args ...any) error {
	return conflictError{fmt.Sprintf(format, args...)}
}

// Event builds the audit event of something a did at `at` in the team.
// Every string a request may have supplied is clipped (see Clip): the
// user agent to MaxUserAgent, the address to MaxIP, actor and target to
// MaxName, each detail value to MaxDetail.
func Event(a Actor, at time.Time, teamName, action, target string, detail map[string]string) store.AuditEvent {
	return clipEvent(store.AuditEvent{Team: teamName, At: at, Actor: a.ID, Action: action, Target: target,
		IP: a.IP, UserAgent: a.UserAgent, Detail: detail})
}

// TeamReader is the part of store.Queries that TeamExists needs.
type TeamReader interface {
	Team(ctx context.Context, name string) (store.Team, error)
}

// TeamExists checks that the team exists: a malformed name is ErrInvalid,
// a missing team a wrapped store.ErrNotFound that names it.
func TeamExists(ctx context.Context, q TeamReader, name string) error {
	if err := AsInvalid(team.ValidateName(name)); err != nil {
		return err
	}
	if _, err := q.Team(ctx, name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("team %q: %w", name, store.ErrNotFound)
		}
		return fmt.Errorf("team %q: %w", name, err)
	}
	return nil
}

// NormalizeEmail parses a bare address of at most MaxEmail bytes and
// lower-cases it.
func NormalizeEmail(email string) (string, error) {
	if len(email) > MaxEmail {
		return "", Invalid("email of %d bytes: want at most %d", len(email), MaxEmail)
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" {
		return "", Invalid("email %q: want a bare address such as ada@example.com", email)
	}
	return strings.ToLower(a.Address), nil
}

// FieldError is an ErrInvalid that names the field of the input at fault,
// as the admin API's JSON names it ("name", "scopes", "redirect_uris",
// ...), so that an API can say which field to fix. Its message is the
// error's own.
type FieldError struct {
	Field string
	Err   error
}

func (e FieldError) Error() string   { return e.Err.Error() }
func (e FieldError) Unwrap() []error { return []error{ErrInvalid, e.Err} }

// InvalidField returns an ErrInvalid naming field, with a formatted
// message ("invalid " and the message).
func InvalidField(field, format string, args ...any) error {
	return FieldError{Field: field, Err: Invalid(format, args...)}
}

// AsInvalidField marks a non-nil validation error as ErrInvalid of field;
// nil stays nil.
func AsInvalidField(field string, err error) error {
	if err == nil {
		return nil
	}
	return FieldError{Field: field, Err: err}
}

// FieldErrors returns every FieldError in err's tree (errors.Join of
// several, or wrapped), outermost first.
func FieldErrors(err error) []FieldError {
	var out []FieldError
	var walk func(error)
	walk = func(err error) {
		if fe, ok := err.(FieldError); ok {
			out = append(out, fe)
			return
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			if e := u.Unwrap(); e != nil {
				walk(e)
			}
		}
	}
	if err != nil {
		walk(err)
	}
	return out
}
