package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/internal/store"
)

func testGroups(t *testing.T, s store.Store) {
	mkTeam(t, s, "alpha")
	mkTeam(t, s, "beta")
	ann := mkUser(t, s, "alpha", "ann@example.com")
	bob := mkUser(t, s, "alpha", "bob@example.com")
	cat := mkUser(t, s, "alpha", "cat@example.com")
	ops := store.Group{Team: "alpha", ID: uuid.NewString(), Name: "ops", ExternalID: "ext-1", CreatedAt: at(time.Second + 7*time.Microsecond),
		UpdatedAt: at(time.Minute)}
	dev := store.Group{Team: "alpha", ID: uuid.NewString(), Name: "dev", CreatedAt: at(2 * time.Second), UpdatedAt: at(2 * time.Second)}

	// group reads group name of alpha and compares it with want.
	group := func(t *testing.T, name string, want store.Group) {
		t.Helper()
		got, err := s.Group(t.Context(), "alpha", name)
		if wantErr(t, "Group("+name+")", err, nil) {
			diff(t, "Group("+name+")", want, got, opts)
		}
	}
	// userGroups reads the groups of a user of alpha and compares them with
	// want.
	userGroups := func(t *testing.T, u store.User, want ...string) {
		t.Helper()
		got, err := s.UserGroups(t.Context(), "alpha", u.ID)
		if wantErr(t, "UserGroups("+u.Email+")", err, nil) {
			diff(t, "UserGroups("+u.Email+")", want, got, opts)
		}
	}

	t.Run("CreateGroup", func(t *testing.T) {
		must(t, "create ops", s.CreateGroup(t.Context(), ops))
		must(t, "create dev", s.CreateGroup(t.Context(), dev))
		group(t, "ops", ops)
		group(t, "dev", dev)
	})
	t.Run("CreateGroup/duplicate", func(t *testing.T) {
		err := s.CreateGroup(t.Context(), store.Group{Team: "alpha", Name: "ops", CreatedAt: at(time.Hour)})
		wantErr(t, "CreateGroup(ops) again", err, store.ErrAlreadyExists)
		group(t, "ops", ops)
	})
	t.Run("CreateGroup/sameNameOtherTeam", func(t *testing.T) {
		g := mkGroup(t, s, "beta", "ops")
		got, err := s.Group(t.Context(), "beta", "ops")
		if wantErr(t, "Group(beta, ops)", err, nil) {
			diff(t, "Group(beta, ops)", g, got, opts)
		}
	})
	t.Run("Group/missing", func(t *testing.T) {
		_, err := s.Group(t.Context(), "alpha", "nope")
		wantErr(t, "Group(nope)", err, store.ErrNotFound)
	})
	t.Run("AddGroupMember", func(t *testing.T) {
		must(t, "add ann to ops", s.AddGroupMember(t.Context(), "alpha", "ops", ann.ID))
		must(t, "add bob to ops", s.AddGroupMember(t.Context(), "alpha", "ops", bob.ID))
		must(t, "add ann to dev", s.AddGroupMember(t.Context(), "alpha", "dev", ann.ID))
		ops.Members = []string{ann.ID, bob.ID}
		dev.Members = []string{ann.ID}
		group(t, "ops", ops)
		group(t, "dev", dev)
	})
	t.Run("AddGroupMember/errors", func(t *testing.T) {
		tests := []struct {
			name          string
			group, userID string
			want          error
		}{
			{"duplicate", "ops", ann.ID, store.ErrAlreadyExists},
			{"unknownUser", "ops", uuid.NewString(), store.ErrNotFound},
			{"unknownGroup", "nope", cat.ID, store.ErrNotFound},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				err := s.AddGroupMember(t.Context(), "alpha", tc.group, tc.userID)
				wantErr(t, "AddGroupMember", err, tc.want)
				group(t, "ops", ops)
				_, err = s.Group(t.Context(), "alpha", "nope")
				wantErr(t, "Group(nope)", err, store.ErrNotFound)
			})
		}
	})
	t.Run("UserGroups", func(t *testing.T) {
		userGroups(t, ann, "dev", "ops")
		userGroups(t, bob, "ops")
		userGroups(t, cat)
	})
	t.Run("ListGroups", func(t *testing.T) {
		got, next, err := s.ListGroups(t.Context(), "alpha", store.Page{Limit: 10})
		if wantErr(t, "ListGroups(alpha)", err, nil) {
			diff(t, "ListGroups(alpha)", []store.Group{dev, ops}, got, opts)
			if next != "" {
				t.Errorf("ListGroups(alpha) cursor = %q, want \"\" (last page)", next)
			}
		}
	})
	t.Run("RemoveGroupMember", func(t *testing.T) {
		must(t, "remove bob from ops", s.RemoveGroupMember(t.Context(), "alpha", "ops", bob.ID))
		ops.Members = []string{ann.ID}
		group(t, "ops", ops)
		userGroups(t, bob)
		userGroups(t, ann, "dev", "ops")
	})
	t.Run("RemoveGroupMember/missing", func(t *testing.T) {
		tests := []struct {
			name          string
			group, userID string
		}{
			{"notMember", "ops", bob.ID},
			{"unknownUser", "ops", uuid.NewString()},
			{"unknownGroup", "nope", ann.ID},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				err := s.RemoveGroupMember(t.Context(), "alpha", tc.group, tc.userID)
				wantErr(t, "RemoveGroupMember", err, store.ErrNotFound)
				group(t, "ops", ops)
				group(t, "dev", dev)
			})
		}
	})
	t.Run("DeleteUser/removesMemberships", func(t *testing.T) {
		must(t, "add cat to ops", s.AddGroupMember(t.Context(), "alpha", "ops", cat.ID))
		must(t, "add cat to dev", s.AddGroupMember(t.Context(), "alpha", "dev", cat.ID))
		must(t, "DeleteUser(cat)", s.DeleteUser(t.Context(), "alpha", cat.ID))
		group(t, "ops", ops)
		group(t, "dev", dev)
		got, err := s.UserGroups(t.Context(), "alpha", cat.ID)
		notFoundOrEmpty(t, "UserGroups(deleted cat)", got, err)
	})
	t.Run("DeleteGroup", func(t *testing.T) {
		must(t, "DeleteGroup(dev)", s.DeleteGroup(t.Context(), "alpha", "dev"))
		_, err := s.Group(t.Context(), "alpha", "dev")
		wantErr(t, "Group(dev) after delete", err, store.ErrNotFound)
		userGroups(t, ann, "ops")
		got, _, err := s.ListGroups(t.Context(), "alpha", store.Page{Limit: 10})
		if wantErr(t, "ListGroups(alpha)", err, nil) {
			diff(t, "ListGroups(alpha) after delete", []store.Group{ops}, got, opts)
		}
		err = s.DeleteGroup(t.Context(), "alpha", "dev")
		wantErr(t, "DeleteGroup(dev) again", err, store.ErrNotFound)
		// A new group of the same name starts empty.
		g := mkGroup(t, s, "alpha", "dev")
		group(t, "dev", g)
		userGroups(t, ann, "ops")
	})
	t.Run("DeleteGroup/missing", func(t *testing.T) {
		err := s.DeleteGroup(t.Context(), "alpha", "nope")
		wantErr(t, "DeleteGroup(nope)", err, store.ErrNotFound)
	})
}

func testListGroupsPages(t *testing.T, s store.Store) {
	mkTeam(t, s, "alpha")
	mkTeam(t, s, "beta")
	mkGroup(t, s, "beta", "beta-group")
	ann := mkUser(t, s, "alpha", "ann@example.com")
	bob := mkUser(t, s, "alpha", "bob@example.com")
	var want []store.Group
	for i := range 8 {
		var members []string
		switch i % 3 {
		case 1:
			members = []string{ann.ID}
		case 2:
			members = []string{ann.ID, bob.ID}
		}
		g := store.Group{Team: "alpha", ID: uuid.NewString(), Name: fmt.Sprintf("group-%d", i), CreatedAt: t0, UpdatedAt: t0}
		must(t, "create group", s.CreateGroup(t.Context(), g))
		for _, m := range members {
			must(t, "add member", s.AddGroupMember(t.Context(), "alpha", g.Name, m))
		}
		g.Members = members
		want = append(want, g)
	}
	for _, limit := range []int{1, 3, 4, 8, 100} {
		t.Run(fmt.Sprint("limit", limit), func(t *testing.T) {
			got := walk(t, limit, func(p store.Page) ([]store.Group, string, error) {
				return s.ListGroups(t.Context(), "alpha", p)
			})
			diff(t, "all pages of ListGroups(alpha)", want, got, opts)
		})
	}
}
