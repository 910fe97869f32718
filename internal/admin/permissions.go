package admin

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/store"
)

// checkPermission validates a permission and that its principal exists,
// returning it with the principal in canonical form.
func checkPermission(ctx context.Context, q store.Queries, p store.Permission) (store.Permission, error) {
	pr, perr := authz.ParsePrincipal(p.Principal)
	if err := errors.Join(kernel.AsInvalidField("principal", perr),
		kernel.AsInvalidField("action", authz.ValidateAction(p.Action)),
		kernel.AsInvalidField("resource", authz.ValidateResource(p.Resource))); err != nil {
		return p, err
	}
	err := teamExists(ctx, q, p.Team)
	if err != nil {
		return p, err
	}
	switch pr.Kind {
	case authz.User:
		u, err := userByEmail(ctx, q, p.Team, pr.Name)
		if errors.Is(err, kernel.ErrInvalid) || errors.Is(err, store.ErrNotFound) {
			return p, kernel.AsInvalidField("principal", err)
		}
		if err != nil {
			return p, err
		}
		pr.Name = u.Email
	case authz.Group:
		_, err = q.Group(ctx, p.Team, pr.Name)
	case authz.App:
		_, err = q.App(ctx, p.Team, pr.Name)
	case authz.Client:
		_, err = q.Client(ctx, p.Team, pr.Name)
	}
	if errors.Is(err, store.ErrNotFound) {
		// The principal is a field of the request: it names no one.
		return p, kernel.AsInvalidField("principal", fmt.Errorf("principal %s in team %s: %w", pr, p.Team, store.ErrNotFound))
	} else if err != nil {
		return p, err
	}
	p.Principal = pr.String()
	return p, nil
}

// Grant gives a principal an action on a resource pattern.
func (s *Service) Grant(ctx context.Context, a kernel.Actor, p store.Permission) (store.Permission, error) {
	p.CreatedAt = s.now()
	err := s.Store.Tx(ctx, func(q store.Queries) error {
		var err error
		if p, err = checkPermission(ctx, q, p); err != nil {
			return err
		}
		if err := a.MayHandOn("granting "+p.Action+" on "+p.Resource, false, []kernel.Grant{{Action: p.Action, Resource: p.Resource}}); err != nil {
			return err
		}
		if err := q.GrantPermission(ctx, p); err != nil {
			if errors.Is(err, store.ErrAlreadyExists) {
				return kernel.Conflict("permission already granted: %s may %s %s", p.Principal, p.Action, p.Resource)
			}
			return err
		}
		return q.AppendAudit(ctx, s.audit(a, p.Team, "permission.grant", p.Principal,
			map[string]string{"action": p.Action, "resource": p.Resource}))
	})
	return p, err
}

// Revoke takes a permission away.
func (s *Service) Revoke(ctx context.Context, a kernel.Actor, p store.Permission) error {
	return s.Store.Tx(ctx, func(q store.Queries) error {
		var err error
		if p, err = checkPermission(ctx, q, p); err != nil {
			return err
		}
		if err := q.RevokePermission(ctx, p); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("%s has no %s on %s: %w", p.Principal, p.Action, p.Resource, store.ErrNotFound)
			}
			return err
		}
		return q.AppendAudit(ctx, s.audit(a, p.Team, "permission.revoke", p.Principal,
			map[string]string{"action": p.Action, "resource": p.Resource}))
	})
}

// ListPermissions lists the team's permissions, or one principal's.
func (s *Service) ListPermissions(ctx context.Context, teamName, principal string) ([]store.Permission, error) {
	if err := teamExists(ctx, s.Store, teamName); err != nil {
		return nil, err
	}
	if principal != "" {
		var err error
		if principal, err = canonicalPrincipal(principal); err != nil {
			return nil, err
		}
	}
	return s.Store.ListPermissions(ctx, teamName, principal)
}
