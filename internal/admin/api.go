package admin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// What the admin API (and the web console) needs beyond the CLI's
// commands: users found by ID or email and changed field by field against
// the version their caller read, and pages of every listing. The rule that
// an actor hands on only what it holds (kernel.Actor.MayHandOn) is checked
// in the transaction of each change.

// userByRef finds a user by ID (a UUID), or else by email.
func userByRef(ctx context.Context, q store.Queries, teamName, ref string) (store.User, error) {
	if !isUUID(ref) {
		return userByEmail(ctx, q, teamName, ref)
	}
	if err := teamExists(ctx, q, teamName); err != nil {
		return store.User{}, err
	}
	u, err := q.User(ctx, teamName, ref)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, fmt.Errorf("user %q in team %s: %w", ref, teamName, store.ErrNotFound)
	}
	return u, err
}

// User reads a user by ID or email.
func (s *Service) User(ctx context.Context, teamName, ref string) (store.User, error) {
	return userByRef(ctx, s.Store, teamName, ref)
}

// UserVersion names the state of a user's record (an HTTP ETag, SCIM's
// meta.version); a new password changes it too.
func UserVersion(u store.User) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%q %q %q %q %v %v %q %q %q %q", u.ID, u.Email, u.Name, u.PasswordHash, u.TeamAdmin, u.Disabled,
		u.ExternalID, u.GivenName, u.FamilyName, fmt.Sprint(u.Emails)))
	return hex.EncodeToString(h[:16])
}

// SettingsVersion names the state of a team's settings (an HTTP ETag).
func SettingsVersion(t store.TeamSettings) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%d %q %q", t.AccessTokenTTL, t.ScopeFormat, t.SigningAlg))
	return hex.EncodeToString(h[:16])
}

// UserChange says what to change of a user: a nil field keeps its value.
// IfVersion, when set, must be the user's UserVersion, or nothing changes
// and the error wraps kernel.ErrStale.
type UserChange struct {
	Email     *string
	Name      *string
	TeamAdmin *bool
	Disabled  *bool
	Password  *string
	// What an identity provider keeps of the user (SCIM).
	ExternalID *string
	GivenName  *string
	FamilyName *string
	Emails     *[]store.Email
	IfVersion  string
}

// mayActOn checks that an actor may change or delete the user: a team
// admin only by a team admin, since nothing but a team admin holds what
// one holds.
func mayActOn(a kernel.Actor, u store.User, what string) error {
	return a.MayHandOn(what+" of team admin "+u.Email, u.TeamAdmin, nil)
}

// UpdateUser changes a user, found by ID or email. A new password or
// disabling the user ends their web sessions in the same transaction;
// making someone a team admin, changing a team admin, or setting a
// password (which lets its setter act as the user) needs an actor who
// holds what the user would hold. The audit event is "user.update",
// naming the fields changed (never the password).
func (s *Service) UpdateUser(ctx context.Context, a kernel.Actor, teamName, ref string, c UserChange) (store.User, error) {
	var (
		email, hash string
		err         error
	)
	var errs []error
	if c.Email != nil {
		if email, err = kernel.NormalizeEmail(*c.Email); err != nil {
			errs = append(errs, kernel.AsInvalidField("email", err))
		}
	}
	if c.Name != nil && utf8.RuneCountInString(*c.Name) > 256 {
		errs = append(errs, kernel.InvalidField("name", "name: at most 256 characters"))
	}
	errs = append(errs, checkProvided(c.ExternalID, c.GivenName, c.FamilyName, c.Emails))
	if c.Password != nil && utf8.RuneCountInString(*c.Password) < MinPasswordLen {
		errs = append(errs, kernel.InvalidField("password", "password: want at least %d characters", MinPasswordLen))
	}
	if err := errors.Join(errs...); err != nil {
		return store.User{}, err
	}
	if c.Password != nil {
		// Hashed before the transaction: Argon2id takes a while, and the
		// write lock should not.
		if hash, err = secret.HashPasswordWith(s.passwordParams(), *c.Password, s.Gen.Rand); err != nil {
			return store.User{}, fmt.Errorf("update user: %w", err)
		}
	}
	var out store.User
	err = s.Store.Tx(ctx, func(q store.Queries) error {
		u, err := userByRef(ctx, q, teamName, ref)
		if err != nil {
			return err
		}
		if c.IfVersion != "" && c.IfVersion != UserVersion(u) {
			return fmt.Errorf("user %s: %w", u.Email, kernel.ErrStale)
		}
		if err := mayActOn(a, u, "a change"); err != nil {
			return err
		}
		var changed []string
		if c.Email != nil && email != u.Email {
			u.Email, changed = email, append(changed, "email")
		}
		if c.Name != nil && *c.Name != u.Name {
			u.Name, changed = *c.Name, append(changed, "name")
			if u.Name == "" {
				u.Name = u.Email
			}
		}
		if c.TeamAdmin != nil && *c.TeamAdmin != u.TeamAdmin {
			if err := a.MayHandOn("making "+u.Email+" a team admin", true, nil); err != nil {
				return err
			}
			u.TeamAdmin, changed = *c.TeamAdmin, append(changed, "team_admin")
		}
		if c.Disabled != nil && *c.Disabled != u.Disabled {
			u.Disabled, changed = *c.Disabled, append(changed, "disabled")
		}
		changed = append(changed, applyProvided(&u, c.ExternalID, c.GivenName, c.FamilyName, c.Emails)...)
		if c.Password != nil {
			if a.Authority != nil {
				held, err := authz.HeldIn(ctx, q, teamName, authz.Principal{Kind: authz.User, Name: u.Email}.String())
				if err != nil {
					return err
				}
				if err := a.MayHandOn("setting the password of "+u.Email, held.TeamAdmin, held.Grants); err != nil {
					return err
				}
			}
			u.PasswordHash, changed = hash, append(changed, "password")
		}
		if len(changed) == 0 {
			out = u
			return nil
		}
		u.UpdatedAt = s.now()
		out = u
		if err := q.UpdateUser(ctx, u); err != nil {
			if errors.Is(err, store.ErrAlreadyExists) {
				return fmt.Errorf("user %s in team %s: %w", u.Email, teamName, store.ErrAlreadyExists)
			}
			return err
		}
		if u.Disabled && slices.Contains(changed, "disabled") {
			if err := s.endCredentials(ctx, q, u); err != nil {
				return err
			}
		}
		return q.AppendAudit(ctx, s.audit(a, teamName, "user.update", "user:"+u.Email,
			map[string]string{"changed": strings.Join(changed, " "), "team_admin": fmt.Sprint(u.TeamAdmin), "disabled": fmt.Sprint(u.Disabled)}))
	})
	if err != nil {
		return store.User{}, err
	}
	return out, nil
}

// FindUsers lists a page of the team's users that f selects, by email.
func (s *Service) FindUsers(ctx context.Context, teamName string, f store.UserFilter, p store.Page) ([]store.User, string, error) {
	if err := teamExists(ctx, s.Store, teamName); err != nil {
		return nil, "", err
	}
	return s.Store.FindUsers(ctx, teamName, f, p)
}

// FindGroups lists a page of the team's groups that f selects, by name.
func (s *Service) FindGroups(ctx context.Context, teamName string, f store.NameFilter, p store.Page) ([]store.Group, string, error) {
	if err := teamExists(ctx, s.Store, teamName); err != nil {
		return nil, "", err
	}
	return s.Store.FindGroups(ctx, teamName, f, p)
}

// FindApps lists a page of the team's applications that f selects, by
// name.
func (s *Service) FindApps(ctx context.Context, teamName string, f store.NameFilter, p store.Page) ([]store.Application, string, error) {
	if err := teamExists(ctx, s.Store, teamName); err != nil {
		return nil, "", err
	}
	return s.Store.FindApps(ctx, teamName, f, p)
}

// FindPermissions lists a page of the team's permissions, or of one
// principal's.
func (s *Service) FindPermissions(ctx context.Context, teamName, principal string, p store.Page) ([]store.Permission, string, error) {
	if err := teamExists(ctx, s.Store, teamName); err != nil {
		return nil, "", err
	}
	if principal != "" {
		var err error
		if principal, err = canonicalPrincipal(principal); err != nil {
			return nil, "", err
		}
	}
	return s.Store.FindPermissions(ctx, teamName, store.PermissionFilter{Principal: principal}, p)
}

// canonicalPrincipal parses a principal and lower-cases a user's email.
func canonicalPrincipal(principal string) (string, error) {
	pr, err := authz.ParsePrincipal(principal)
	if err != nil {
		return "", kernel.AsInvalidField("principal", err)
	}
	if pr.Kind == authz.User {
		e, err := kernel.NormalizeEmail(pr.Name)
		if err != nil {
			return "", kernel.AsInvalidField("principal", err)
		}
		pr.Name = e
	}
	return pr.String(), nil
}

// Emails maps the IDs of users to their emails, for listings of groups;
// an ID of no user is left out.
func (s *Service) Emails(ctx context.Context, teamName string, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	var todo []string
	for _, id := range ids {
		if _, ok := out[id]; !ok {
			out[id] = ""
			todo = append(todo, id)
		}
	}
	clear(out)
	for len(todo) > 0 {
		n := min(len(todo), 1000)
		us, err := s.Store.UsersByID(ctx, teamName, todo[:n])
		if err != nil {
			return nil, err
		}
		for _, u := range us {
			out[u.ID] = u.Email
		}
		todo = todo[n:]
	}
	return out, nil
}

// isUUID reports whether s has a UUID's form (8-4-4-4-12 hex digits).
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'):
			return false
		}
	}
	return true
}
