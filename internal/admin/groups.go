package admin

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/store"
)

// CreateGroup creates a group.
func (s *Service) CreateGroup(ctx context.Context, a kernel.Actor, teamName, name string) (store.Group, error) {
	name, err := groupName(name)
	if err != nil {
		return store.Group{}, err
	}
	id, err := s.Gen.UUID()
	if err != nil {
		return store.Group{}, fmt.Errorf("create group: %w", err)
	}
	g := store.Group{Team: teamName, ID: id, Name: name, CreatedAt: s.now(), UpdatedAt: s.now()}
	err = s.write(ctx, s.audit(a, teamName, "group.create", "group:"+name, nil), func(q store.Queries) error {
		if err := teamExists(ctx, q, teamName); err != nil {
			return err
		}
		if err := q.CreateGroup(ctx, g); err != nil {
			if errors.Is(err, store.ErrAlreadyExists) {
				return fmt.Errorf("group %q in team %s: %w", name, teamName, store.ErrAlreadyExists)
			}
			return err
		}
		return nil
	})
	return g, err
}

// DeleteGroup deletes a group, its memberships and its permissions.
func (s *Service) DeleteGroup(ctx context.Context, a kernel.Actor, teamName, name string) error {
	name, err := groupName(name)
	if err != nil {
		return err
	}
	return s.write(ctx, s.audit(a, teamName, "group.delete", "group:"+name, nil), func(q store.Queries) error {
		if err := teamExists(ctx, q, teamName); err != nil {
			return err
		}
		if err := q.DeleteGroup(ctx, teamName, name); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("group %q in team %s: %w", name, teamName, store.ErrNotFound)
			}
			return err
		}
		return nil
	})
}

// ListGroups lists every group of the team with its members.
func (s *Service) ListGroups(ctx context.Context, teamName string) ([]store.Group, error) {
	if err := teamExists(ctx, s.Store, teamName); err != nil {
		return nil, err
	}
	var all []store.Group
	p := store.Page{Limit: 1000}
	for {
		gs, next, err := s.Store.ListGroups(ctx, teamName, p)
		if err != nil {
			return nil, err
		}
		all = append(all, gs...)
		if next == "" {
			return all, nil
		}
		p.Cursor = next
	}
}

// AddMember adds the user with email to a group.
func (s *Service) AddMember(ctx context.Context, a kernel.Actor, teamName, group, email string) error {
	group, err := groupName(group)
	if err != nil {
		return err
	}
	return s.Store.Tx(ctx, func(q store.Queries) error {
		u, err := userByEmail(ctx, q, teamName, email)
		if err != nil {
			return err
		}
		if _, err := q.Group(ctx, teamName, group); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("group %q in team %s: %w", group, teamName, store.ErrNotFound)
			}
			return err
		}
		// A member gets the group's permissions: the actor must hold them.
		if a.Authority != nil {
			held, err := authz.HeldIn(ctx, q, teamName, authz.Principal{Kind: authz.Group, Name: group}.String())
			if err != nil {
				return err
			}
			if err := a.MayHandOn("adding a member to group "+group, false, held.Grants); err != nil {
				return err
			}
		}
		if err := q.AddGroupMember(ctx, teamName, group, u.ID); err != nil {
			if errors.Is(err, store.ErrAlreadyExists) {
				return fmt.Errorf("%s in group %q: %w", u.Email, group, store.ErrAlreadyExists)
			}
			return err
		}
		return q.AppendAudit(ctx, s.audit(a, teamName, "group.member.add", "group:"+group, map[string]string{"user": u.Email}))
	})
}

// RemoveMember removes the user with email from a group.
func (s *Service) RemoveMember(ctx context.Context, a kernel.Actor, teamName, group, email string) error {
	group, err := groupName(group)
	if err != nil {
		return err
	}
	return s.Store.Tx(ctx, func(q store.Queries) error {
		u, err := userByEmail(ctx, q, teamName, email)
		if err != nil {
			return err
		}
		if err := q.RemoveGroupMember(ctx, teamName, group, u.ID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("%s in group %q: %w", u.Email, group, store.ErrNotFound)
			}
			return err
		}
		return q.AppendAudit(ctx, s.audit(a, teamName, "group.member.remove", "group:"+group, map[string]string{"user": u.Email}))
	})
}

// CreateApp creates an application.
func (s *Service) CreateApp(ctx context.Context, a kernel.Actor, teamName, name string) (store.Application, error) {
	if err := validateName("application", name); err != nil {
		return store.Application{}, err
	}
	app := store.Application{Team: teamName, Name: name, CreatedAt: s.now()}
	err := s.write(ctx, s.audit(a, teamName, "app.create", "app:"+name, nil), func(q store.Queries) error {
		if err := teamExists(ctx, q, teamName); err != nil {
			return err
		}
		if err := q.CreateApp(ctx, app); err != nil {
			if errors.Is(err, store.ErrAlreadyExists) {
				return fmt.Errorf("application %q in team %s: %w", name, teamName, store.ErrAlreadyExists)
			}
			return err
		}
		return nil
	})
	return app, err
}

// DeleteApp deletes an application with its AppKeys and permissions.
func (s *Service) DeleteApp(ctx context.Context, a kernel.Actor, teamName, name string) error {
	return s.write(ctx, s.audit(a, teamName, "app.delete", "app:"+name, nil), func(q store.Queries) error {
		if err := teamExists(ctx, q, teamName); err != nil {
			return err
		}
		if err := q.DeleteApp(ctx, teamName, name); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("application %q in team %s: %w", name, teamName, store.ErrNotFound)
			}
			return err
		}
		return nil
	})
}

// ListApps lists the team's applications.
func (s *Service) ListApps(ctx context.Context, teamName string) ([]store.Application, error) {
	if err := teamExists(ctx, s.Store, teamName); err != nil {
		return nil, err
	}
	return s.Store.ListApps(ctx, teamName)
}
