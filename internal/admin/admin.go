// Package admin is the domain logic behind every administrative change:
// it validates input, writes the change and its audit event in one
// transaction, and knows nothing of the kernel.CLI or HTTP that call it.
package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/team"
)

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

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// audit builds the audit event of a change.
func (s *Service) audit(a kernel.Actor, teamName, action, target string, detail map[string]string) store.AuditEvent {
	return kernel.Event(a, s.now(), teamName, action, target, detail)
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

// validateName checks an application name: 1 to 128 printable
// characters without spaces, ':' (it would confuse principals) or '/'.
// Groups are named otherwise (groupName).
func validateName(kind, name string) error {
	if name == "" || utf8.RuneCountInString(name) > 128 || strings.TrimSpace(name) != name {
		return kernel.InvalidField("name", "%s name %q: want 1 to 128 characters without leading or trailing spaces", kind, name)
	}
	if strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f || r == ':' || r == '/' || r == ' ' }) {
		return kernel.InvalidField("name", "%s name %q: spaces, ':', '/' and control characters are not allowed", kind, name)
	}
	return nil
}

// groupName checks a group's name and returns it as it is stored
// (authz.GroupName: spaces and any Unicode, composed to NFC).
func groupName(name string) (string, error) {
	g, err := authz.GroupName(name)
	return g, kernel.AsInvalidField("name", err)
}

// teamExists checks that the team exists, to give a clear error.
func teamExists(ctx context.Context, q store.Queries, name string) error {
	return kernel.TeamExists(ctx, q, name)
}

// validateTeamName checks a team name (a DNS label).
func validateTeamName(name string) error { return kernel.AsInvalid(team.ValidateName(name)) }

// CreateTeam creates a team.
func (s *Service) CreateTeam(ctx context.Context, a kernel.Actor, name string) (store.Team, error) {
	if err := validateTeamName(name); err != nil {
		return store.Team{}, err
	}
	t := store.Team{Name: name, CreatedAt: s.now()}
	err := s.write(ctx, s.teamCreated(a, t), func(q store.Queries) error { return createTeam(ctx, q, t) })
	return t, err
}

func (s *Service) teamCreated(a kernel.Actor, t store.Team) store.AuditEvent {
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
func (s *Service) DeleteTeam(ctx context.Context, a kernel.Actor, name string) error {
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
func (s *Service) CreateUser(ctx context.Context, a kernel.Actor, teamName string, in NewUser) (store.User, error) {
	u, err := s.newUser(teamName, in)
	if err != nil {
		return store.User{}, err
	}
	if err := a.MayHandOn("creating team admin "+u.Email, in.TeamAdmin, nil); err != nil {
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
	email, err := kernel.NormalizeEmail(in.Email)
	var errs []error
	if err != nil {
		errs = append(errs, kernel.AsInvalidField("email", err))
	}
	if utf8.RuneCountInString(in.Password) < MinPasswordLen {
		errs = append(errs, kernel.InvalidField("password", "password: want at least %d characters", MinPasswordLen))
	}
	if utf8.RuneCountInString(in.Name) > 256 {
		errs = append(errs, kernel.InvalidField("name", "name: at most 256 characters"))
	}
	if err := errors.Join(errs...); err != nil {
		return store.User{}, err
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
	return store.User{Team: teamName, ID: id, Email: email, Name: name, PasswordHash: hash, TeamAdmin: in.TeamAdmin, CreatedAt: s.now(), UpdatedAt: s.now()}, nil
}

func (s *Service) userCreated(a kernel.Actor, u store.User) store.AuditEvent {
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
	e, err := kernel.NormalizeEmail(email)
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

// DeleteUser deletes a user, found by email or ID, with its keys,
// memberships and permissions.
func (s *Service) DeleteUser(ctx context.Context, a kernel.Actor, teamName, ref string) error {
	return s.Store.Tx(ctx, func(q store.Queries) error {
		u, err := userByRef(ctx, q, teamName, ref)
		if err != nil {
			return err
		}
		if err := mayActOn(a, u, "deleting the account"); err != nil {
			return err
		}
		if err := q.DeleteUser(ctx, teamName, u.ID); err != nil {
			return err
		}
		return q.AppendAudit(ctx, s.audit(a, teamName, "user.delete", "user:"+u.Email, nil))
	})
}

// SetPassword gives the user a new password. Every web session of the
// user ends in the same transaction (the store deletes them with the old
// password hash), so a session made with the old password, or a copy of
// its cookie, is refused on every node at once.
func (s *Service) SetPassword(ctx context.Context, a kernel.Actor, teamName, email, password string) error {
	if utf8.RuneCountInString(password) < MinPasswordLen {
		return kernel.InvalidField("password", "password: want at least %d characters", MinPasswordLen)
	}
	// Hashed before the transaction: Argon2id takes a while, and the
	// write lock should not.
	hash, err := secret.HashPasswordWith(s.passwordParams(), password, s.Gen.Rand)
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	return s.Store.Tx(ctx, func(q store.Queries) error {
		u, err := userByEmail(ctx, q, teamName, email)
		if err != nil {
			return err
		}
		if a.Authority != nil {
			held, err := authz.HeldIn(ctx, q, teamName, authz.Principal{Kind: authz.User, Name: u.Email}.String())
			if err != nil {
				return err
			}
			if err := a.MayHandOn("setting the password of "+u.Email, held.TeamAdmin, held.Grants); err != nil {
				return err
			}
		}
		u.PasswordHash, u.UpdatedAt = hash, s.now()
		if err := q.UpdateUser(ctx, u); err != nil {
			return err
		}
		return q.AppendAudit(ctx, s.audit(a, teamName, "user.password.set", "user:"+u.Email, nil))
	})
}

// SetDisabled disables or enables the user. A disabled user cannot sign in,
// and every credential of theirs ends in the same transaction
// (endCredentials); enabling the user again brings none of them back.
func (s *Service) SetDisabled(ctx context.Context, a kernel.Actor, teamName, email string, disabled bool) error {
	action := "user.enable"
	if disabled {
		action = "user.disable"
	}
	return s.Store.Tx(ctx, func(q store.Queries) error {
		u, err := userByEmail(ctx, q, teamName, email)
		if err != nil {
			return err
		}
		if u.Disabled == disabled {
			return nil // nothing to change, nothing to audit
		}
		if err := mayActOn(a, u, "disabling or enabling the account"); err != nil {
			return err
		}
		u.Disabled, u.UpdatedAt = disabled, s.now()
		if err := q.UpdateUser(ctx, u); err != nil {
			return err
		}
		if disabled {
			if err := s.endCredentials(ctx, q, u); err != nil {
				return err
			}
		}
		return q.AppendAudit(ctx, s.audit(a, teamName, action, "user:"+u.Email, nil))
	})
}

// EndSessions ends every web session of the user, on every node at once,
// and returns how many there were.
func (s *Service) EndSessions(ctx context.Context, a kernel.Actor, teamName, email string) (int, error) {
	var n int
	err := s.Store.Tx(ctx, func(q store.Queries) error {
		u, err := userByRef(ctx, q, teamName, email)
		if err != nil {
			return err
		}
		if err := mayActOn(a, u, "ending the sessions"); err != nil {
			return err
		}
		if n, err = q.DeleteUserSessions(ctx, teamName, u.ID); err != nil {
			return err
		}
		return q.AppendAudit(ctx, s.audit(a, teamName, "user.sessions.end", "user:"+u.Email,
			map[string]string{"sessions": fmt.Sprint(n)}))
	})
	return n, err
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
