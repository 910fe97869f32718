// Package admin is the domain logic behind every administrative change:
// it validates input, writes the change and its audit event in one
// transaction, and knows nothing of the CLI or HTTP that call it.
package admin

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/team"
)

// ErrInvalid reports input that fails validation; the message says why.
var ErrInvalid = errors.New("invalid")

// MinPasswordLen is the shortest password accepted (NIST SP 800-63B allows
// 8; we ask more of accounts that can administer a team).
const MinPasswordLen = 12

// Service performs administrative changes.
type Service struct {
	Store    store.Store
	Gen      secret.Generator
	Now      func() time.Time
	Password secret.PasswordParams
}

// Actor is who makes a change, for the audit log.
type Actor struct {
	ID        string // "cli", "user:<email>", ...
	IP        string
	UserAgent string
}

// CLI is the actor of changes made with the gatehouse command.
var CLI = Actor{ID: "cli"}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// audit builds the audit event of a change.
func (s *Service) audit(a Actor, teamName, action, target string, detail map[string]string) store.AuditEvent {
	return store.AuditEvent{Team: teamName, At: s.now(), Actor: a.ID, Action: action, Target: target,
		IP: a.IP, UserAgent: a.UserAgent, Detail: detail}
}

// write runs fn and appends ev in one transaction.
func (s *Service) write(ctx context.Context, ev store.AuditEvent, fn func(q store.Queries) error) error {
	return s.Store.Tx(ctx, func(q store.Queries) error {
		if err := fn(q); err != nil {
			return err
		}
		return q.AppendAudit(ctx, ev)
	})
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w "+format, append([]any{ErrInvalid}, args...)...)
}

// invalidError marks a validation error of another package (a team name, a
// principal, an action, a resource) as ErrInvalid too, keeping its message
// and its own sentinel.
type invalidError struct{ err error }

func (e invalidError) Error() string   { return e.err.Error() }
func (e invalidError) Unwrap() []error { return []error{ErrInvalid, e.err} }

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

// asInvalid wraps a non-nil validation error with invalidError.
func asInvalid(err error) error {
	if err == nil {
		return nil
	}
	return invalidError{err}
}

// validateTeamName checks a team name (a DNS label).
func validateTeamName(name string) error { return asInvalid(team.ValidateName(name)) }

// NormalizeEmail parses a bare address and lower-cases it.
func NormalizeEmail(email string) (string, error) {
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" {
		return "", invalid("email %q: want a bare address such as ada@example.com", email)
	}
	return strings.ToLower(a.Address), nil
}

// validateName checks a group or application name: 1 to 128 printable
// characters without ':' (it would confuse principals) or spaces at the ends.
func validateName(kind, name string) error {
	if name == "" || utf8.RuneCountInString(name) > 128 || strings.TrimSpace(name) != name {
		return invalid("%s name %q: want 1 to 128 characters without leading or trailing spaces", kind, name)
	}
	if strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f || r == ':' || r == '/' || r == ' ' }) {
		return invalid("%s name %q: spaces, ':', '/' and control characters are not allowed", kind, name)
	}
	return nil
}

// teamExists checks that the team exists, to give a clear error.
func teamExists(ctx context.Context, q store.Queries, name string) error {
	if err := validateTeamName(name); err != nil {
		return err
	}
	if _, err := q.Team(ctx, name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("team %q: %w", name, store.ErrNotFound)
		}
		return err
	}
	return nil
}

// CreateTeam creates a team.
func (s *Service) CreateTeam(ctx context.Context, a Actor, name string) (store.Team, error) {
	if err := validateTeamName(name); err != nil {
		return store.Team{}, err
	}
	t := store.Team{Name: name, CreatedAt: s.now()}
	err := s.write(ctx, s.teamCreated(a, t), func(q store.Queries) error { return createTeam(ctx, q, t) })
	return t, err
}

func (s *Service) teamCreated(a Actor, t store.Team) store.AuditEvent {
	return s.audit(a, t.Name, "team.create", t.Name, nil)
}

// createTeam writes a validated team.
func createTeam(ctx context.Context, q store.Queries, t store.Team) error {
	if err := q.CreateTeam(ctx, t); err != nil {
		if errors.Is(err, store.ErrAlreadyExists) {
			return fmt.Errorf("team %q: %w", t.Name, store.ErrAlreadyExists)
		}
		return err
	}
	return nil
}

// DeleteTeam deletes a team and everything in it. The event goes to the
// server-wide log (team ""), since the team's own log goes with it.
func (s *Service) DeleteTeam(ctx context.Context, a Actor, name string) error {
	return s.write(ctx, s.audit(a, "", "team.delete", name, nil), func(q store.Queries) error {
		if err := teamExists(ctx, q, name); err != nil {
			return err
		}
		return q.DeleteTeam(ctx, name)
	})
}

// ListTeams lists every team.
func (s *Service) ListTeams(ctx context.Context) ([]store.Team, error) {
	return s.Store.ListTeams(ctx)
}

// NewUser is what creating a user takes.
type NewUser struct {
	Email     string
	Name      string
	Password  string
	TeamAdmin bool
}

// CreateUser creates a user with an argon2id password hash.
func (s *Service) CreateUser(ctx context.Context, a Actor, teamName string, in NewUser) (store.User, error) {
	u, err := s.newUser(teamName, in)
	if err != nil {
		return store.User{}, err
	}
	err = s.write(ctx, s.userCreated(a, u), func(q store.Queries) error { return createUser(ctx, q, u) })
	return u, err
}

// newUser validates in and builds the user, with its ID and password hash.
func (s *Service) newUser(teamName string, in NewUser) (store.User, error) {
	if err := validateTeamName(teamName); err != nil {
		return store.User{}, err
	}
	email, err := NormalizeEmail(in.Email)
	if err != nil {
		return store.User{}, err
	}
	if utf8.RuneCountInString(in.Password) < MinPasswordLen {
		return store.User{}, invalid("password: want at least %d characters", MinPasswordLen)
	}
	if utf8.RuneCountInString(in.Name) > 256 {
		return store.User{}, invalid("name: at most 256 characters")
	}
	id, err := s.Gen.UUID()
	if err != nil {
		return store.User{}, fmt.Errorf("create user: %w", err)
	}
	hash, err := secret.HashPasswordWith(s.passwordParams(), in.Password, s.Gen.Rand)
	if err != nil {
		return store.User{}, fmt.Errorf("create user: %w", err)
	}
	name := in.Name
	if name == "" {
		name = email
	}
	return store.User{Team: teamName, ID: id, Email: email, Name: name, PasswordHash: hash, TeamAdmin: in.TeamAdmin, CreatedAt: s.now()}, nil
}

func (s *Service) userCreated(a Actor, u store.User) store.AuditEvent {
	return s.audit(a, u.Team, "user.create", "user:"+u.Email, map[string]string{"team_admin": fmt.Sprint(u.TeamAdmin)})
}

// createUser writes a user made by newUser.
func createUser(ctx context.Context, q store.Queries, u store.User) error {
	if err := teamExists(ctx, q, u.Team); err != nil {
		return err
	}
	if err := q.CreateUser(ctx, u); err != nil {
		if errors.Is(err, store.ErrAlreadyExists) {
			return fmt.Errorf("user %s in team %s: %w", u.Email, u.Team, store.ErrAlreadyExists)
		}
		return err
	}
	return nil
}

func (s *Service) passwordParams() secret.PasswordParams {
	if s.Password == (secret.PasswordParams{}) {
		return secret.DefaultPasswordParams
	}
	return s.Password
}

// userByEmail finds a user by email within q.
func userByEmail(ctx context.Context, q store.Queries, teamName, email string) (store.User, error) {
	e, err := NormalizeEmail(email)
	if err != nil {
		return store.User{}, err
	}
	if err := teamExists(ctx, q, teamName); err != nil {
		return store.User{}, err
	}
	u, err := q.UserByEmail(ctx, teamName, e)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, fmt.Errorf("user %s in team %s: %w", e, teamName, store.ErrNotFound)
	}
	return u, err
}

// DeleteUser deletes a user with its keys, memberships and permissions.
func (s *Service) DeleteUser(ctx context.Context, a Actor, teamName, email string) error {
	return s.Store.Tx(ctx, func(q store.Queries) error {
		u, err := userByEmail(ctx, q, teamName, email)
		if err != nil {
			return err
		}
		if err := q.DeleteUser(ctx, teamName, u.ID); err != nil {
			return err
		}
		return q.AppendAudit(ctx, s.audit(a, teamName, "user.delete", "user:"+u.Email, nil))
	})
}

// ListUsers lists a page of the team's users.
func (s *Service) ListUsers(ctx context.Context, teamName string, p store.Page) ([]store.User, string, error) {
	if err := teamExists(ctx, s.Store, teamName); err != nil {
		return nil, "", err
	}
	return s.Store.ListUsers(ctx, teamName, p)
}

// AllUsers lists every user of the team.
func (s *Service) AllUsers(ctx context.Context, teamName string) ([]store.User, error) {
	var all []store.User
	p := store.Page{Limit: 1000}
	for {
		us, next, err := s.ListUsers(ctx, teamName, p)
		if err != nil {
			return nil, err
		}
		all = append(all, us...)
		if next == "" {
			return all, nil
		}
		p.Cursor = next
	}
}
