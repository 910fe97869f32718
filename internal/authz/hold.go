package authz

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Grants is what an actor holds when it changes the team (kernel.Actor's
// Authority): the admin API's callers may hand on only what they hold.
var _ kernel.Authority = Grants{}

// IsTeamAdmin reports whether the grants are a team admin's.
func (g Grants) IsTeamAdmin() bool { return g.TeamAdmin }

// Covers tells whether the grants permit action on every resource that
// pattern matches: what a holder must have to hand the permission on. A
// permission of action "*" is covered only by grants of "*".
func (g Grants) Covers(action, pattern string) bool {
	if g.TeamAdmin {
		return true
	}
	for _, p := range g.List {
		if (p.Action == "*" || p.Action == action) && Subsumes(p.Resource, pattern) {
			return true
		}
	}
	return false
}

// Subsumes tells whether every resource that pattern b matches is matched
// by pattern a: "data-pools/*" subsumes "data-pools/42" and itself, "*"
// (a final '*', one or more segments) subsumes everything, and
// "data-pools/*" does not subsume "data-pools/*/x" nor a final "*" that
// spans several segments.
func Subsumes(a, b string) bool {
	as, bs := strings.Split(a, "/"), strings.Split(b, "/")
	for i, bseg := range bs {
		if i >= len(as) {
			return false // b is longer than a, which is not a final '*'
		}
		aseg := as[i]
		aFinal, bFinal := i == len(as)-1 && aseg == "*", i == len(bs)-1 && bseg == "*"
		switch {
		case aFinal:
			return true // one or more segments: the rest of b, whatever it is
		case bFinal:
			return false // b takes several segments here, a only one
		case aseg == "*":
		case bseg == "*" || aseg != bseg:
			return false
		}
	}
	return len(as) == len(bs)
}

// Held is what a principal holds: whether it is a team admin, and its
// permissions (a user's own and its groups').
type Held struct {
	TeamAdmin bool
	Grants    []kernel.Grant
}

// HeldIn reads what principal (user:<email>, group:<name>, app:<name>,
// client:<client_id>) holds, within q: for a change that would hand it to
// someone else, checked with kernel.Actor.MayHandOn. A principal that
// does not exist is a wrapped store.ErrNotFound.
func HeldIn(ctx context.Context, q store.Queries, team, principal string) (Held, error) {
	p, err := ParsePrincipal(principal)
	if err != nil {
		return Held{}, kernel.AsInvalid(err)
	}
	holders := []string{p.String()}
	switch p.Kind {
	case User:
		u, err := q.UserByEmail(ctx, team, p.Name)
		if err != nil {
			return Held{}, fmt.Errorf("%s: %w", p, err)
		}
		if u.TeamAdmin {
			return Held{TeamAdmin: true}, nil
		}
		groups, err := q.UserGroups(ctx, team, u.ID)
		if err != nil {
			return Held{}, err
		}
		for _, g := range groups {
			holders = append(holders, Principal{Kind: Group, Name: g}.String())
		}
	case Group:
		_, err = q.Group(ctx, team, p.Name)
	case App:
		_, err = q.App(ctx, team, p.Name)
	case Client:
		_, err = q.Client(ctx, team, p.Name)
	}
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Held{}, fmt.Errorf("%s in team %s: %w", p, team, store.ErrNotFound)
		}
		return Held{}, err
	}
	var h Held
	for _, holder := range holders {
		ps, err := q.ListPermissions(ctx, team, holder)
		if err != nil {
			return Held{}, err
		}
		for _, x := range ps {
			h.Grants = append(h.Grants, kernel.Grant{Action: x.Action, Resource: x.Resource})
		}
	}
	return h, nil
}
