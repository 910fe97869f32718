package teamapi

import (
	"cmp"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// user is an item of GET /api/team/users. It is built field by field from
// store.User so that the password hash can never reach the answer.
type user struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	TeamAdmin bool      `json:"team_admin"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
	Groups    []string  `json:"groups"` // names, [] when none
}

// users lists the team's users by email, each with its groups.
func (h handlers) users(r *http.Request, team string) (any, string, error) {
	v, err := query(r)
	if err != nil {
		return nil, "", err
	}
	p, err := page(v)
	if err != nil {
		return nil, "", err
	}
	us, next, err := h.st.ListUsers(r.Context(), team, p)
	if err != nil {
		return nil, "", err
	}
	out := make([]user, 0, len(us))
	for _, u := range us {
		groups, err := h.st.UserGroups(r.Context(), team, u.ID)
		if err != nil {
			return nil, "", err
		}
		if groups == nil {
			groups = []string{}
		}
		out = append(out, user{ID: u.ID, Email: u.Email, Name: u.Name, TeamAdmin: u.TeamAdmin, Disabled: u.Disabled,
			CreatedAt: u.CreatedAt.UTC(), Groups: groups})
	}
	return out, next, nil
}

// group is an item of GET /api/team/groups.
type group struct {
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	Members   []member  `json:"members"` // by email, [] when none
}

type member struct {
	ID    string `json:"id"`
	Email string `json:"email"`
}

// groups lists the team's groups by name, each with its members.
func (h handlers) groups(r *http.Request, team string) (any, string, error) {
	v, err := query(r)
	if err != nil {
		return nil, "", err
	}
	p, err := page(v)
	if err != nil {
		return nil, "", err
	}
	gs, next, err := h.st.ListGroups(r.Context(), team, p)
	if err != nil {
		return nil, "", err
	}
	emails := map[string]string{} // user ID to email: a user in many groups is read once
	out := make([]group, 0, len(gs))
	for _, g := range gs {
		members := make([]member, 0, len(g.Members))
		for _, id := range g.Members {
			email, ok := emails[id]
			if !ok {
				u, err := h.st.User(r.Context(), team, id)
				if errors.Is(err, store.ErrNotFound) {
					continue // deleted since the group was read
				}
				if err != nil {
					return nil, "", err
				}
				email = u.Email
				emails[id] = email
			}
			members = append(members, member{ID: id, Email: email})
		}
		slices.SortFunc(members, func(a, b member) int { return cmp.Compare(a.Email, b.Email) })
		out = append(out, group{Name: g.Name, CreatedAt: g.CreatedAt.UTC(), Members: members})
	}
	return out, next, nil
}
