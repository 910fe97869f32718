package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/internal/store"
)

func testUsers(t *testing.T, s store.Store) {
	mkTeam(t, s, "alpha")
	mkTeam(t, s, "beta")
	ann := store.User{
		Team:         "alpha",
		ID:           uuid.NewString(),
		Email:        "ann@example.com",
		Name:         "Ann",
		PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA",
		TeamAdmin:    true,
		CreatedAt:    at(time.Second + 250*time.Microsecond),
		UpdatedAt:    at(time.Second + 250*time.Microsecond),
		ExternalID:   "00u1ann",
		GivenName:    "Ann",
		FamilyName:   "Example",
		Emails:       []store.Email{{Value: "ann@example.com", Type: "work", Primary: true}, {Value: "Ann@Home.example", Type: "home"}},
	}
	bob := store.User{
		Team:      "alpha",
		ID:        uuid.NewString(),
		Email:     "bob@example.com",
		Disabled:  true,
		CreatedAt: at(2 * time.Second),
		UpdatedAt: at(2 * time.Second),
	}

	t.Run("CreateUser", func(t *testing.T) {
		must(t, "create ann", s.CreateUser(t.Context(), ann))
		must(t, "create bob", s.CreateUser(t.Context(), bob))
	})
	t.Run("CreateUser/duplicate", func(t *testing.T) {
		tests := []struct {
			name string
			u    store.User
		}{
			{"email", store.User{Team: "alpha", ID: uuid.NewString(), Email: "ann@example.com", CreatedAt: t0}},
			{"id", store.User{Team: "alpha", ID: ann.ID, Email: "other@example.com", CreatedAt: t0}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				err := s.CreateUser(t.Context(), tc.u)
				wantErr(t, "CreateUser", err, store.ErrAlreadyExists)
				got, err := s.User(t.Context(), "alpha", ann.ID)
				if wantErr(t, "User(ann)", err, nil) {
					diff(t, "User(ann) after duplicate create", ann, got, opts)
				}
				_, err = s.User(t.Context(), "alpha", tc.u.ID)
				if tc.u.ID != ann.ID {
					wantErr(t, "User(duplicate)", err, store.ErrNotFound)
				}
			})
		}
	})
	t.Run("CreateUser/sameEmailOtherTeam", func(t *testing.T) {
		u := mkUser(t, s, "beta", "ann@example.com")
		got, err := s.UserByEmail(t.Context(), "beta", "ann@example.com")
		if wantErr(t, "UserByEmail(beta, ann)", err, nil) {
			diff(t, "UserByEmail(beta, ann)", u, got, opts)
		}
	})
	t.Run("User", func(t *testing.T) {
		for _, want := range []store.User{ann, bob} {
			got, err := s.User(t.Context(), "alpha", want.ID)
			if wantErr(t, "User("+want.Email+")", err, nil) {
				diff(t, "User("+want.Email+")", want, got, opts)
			}
		}
	})
	t.Run("User/missing", func(t *testing.T) {
		_, err := s.User(t.Context(), "alpha", uuid.NewString())
		wantErr(t, "User(unknown)", err, store.ErrNotFound)
	})
	t.Run("UserByEmail", func(t *testing.T) {
		for _, want := range []store.User{ann, bob} {
			got, err := s.UserByEmail(t.Context(), "alpha", want.Email)
			if wantErr(t, "UserByEmail("+want.Email+")", err, nil) {
				diff(t, "UserByEmail("+want.Email+")", want, got, opts)
			}
		}
	})
	// A key no row can hold (invalid UTF-8, a NUL), as a caller may send
	// one in a path or a filter, names no record on either backend;
	// PostgreSQL refuses such text outright, which must not be an error
	// of its own.
	t.Run("notText", func(t *testing.T) {
		for _, key := range []string{"a\x00b", "\xff", "caf\xc3"} {
			_, err := s.User(t.Context(), "alpha", key)
			wantErr(t, fmt.Sprintf("User(%q)", key), err, store.ErrNotFound)
			_, err = s.UserByEmail(t.Context(), "alpha", key)
			wantErr(t, fmt.Sprintf("UserByEmail(%q)", key), err, store.ErrNotFound)
			wantErr(t, fmt.Sprintf("DeleteGroup(%q)", key), s.DeleteGroup(t.Context(), "alpha", key), store.ErrNotFound)
			wantErr(t, fmt.Sprintf("DeleteApp(%q)", key), s.DeleteApp(t.Context(), "alpha", key), store.ErrNotFound)
		}
	})
	t.Run("UserByEmail/missing", func(t *testing.T) {
		_, err := s.UserByEmail(t.Context(), "alpha", "nobody@example.com")
		wantErr(t, "UserByEmail(nobody)", err, store.ErrNotFound)
	})
	t.Run("UpdateUser", func(t *testing.T) {
		tests := []struct {
			name   string
			change func(u *store.User)
		}{
			{"email", func(u *store.User) { u.Email = "ann.new@example.com" }},
			{"name", func(u *store.User) { u.Name = "Ann Newname" }},
			{"password", func(u *store.User) { u.PasswordHash = "$argon2id$v=19$m=65536,t=1,p=4$bmV3$bmV3" }},
			{"teamAdmin", func(u *store.User) { u.TeamAdmin = false }},
			{"disabled", func(u *store.User) { u.Disabled = true }},
			{"enabled", func(u *store.User) { u.Disabled = false; u.TeamAdmin = true }},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				want := ann
				tc.change(&want)
				must(t, "UpdateUser", s.UpdateUser(t.Context(), want))
				got, err := s.User(t.Context(), "alpha", ann.ID)
				if wantErr(t, "User(ann)", err, nil) {
					diff(t, "User(ann) after update", want, got, opts)
				}
				got, err = s.UserByEmail(t.Context(), "alpha", want.Email)
				if wantErr(t, "UserByEmail(ann)", err, nil) {
					diff(t, "UserByEmail(ann) after update", want, got, opts)
				}
				if want.Email != ann.Email {
					_, err = s.UserByEmail(t.Context(), "alpha", ann.Email)
					wantErr(t, "UserByEmail(old email)", err, store.ErrNotFound)
				}
				ann = want
			})
		}
	})
	t.Run("UpdateUser/duplicateEmail", func(t *testing.T) {
		u := ann
		u.Email = bob.Email
		err := s.UpdateUser(t.Context(), u)
		wantErr(t, "UpdateUser(ann with bob's email)", err, store.ErrAlreadyExists)
		got, err := s.User(t.Context(), "alpha", ann.ID)
		if wantErr(t, "User(ann)", err, nil) {
			diff(t, "User(ann) after failed update", ann, got, opts)
		}
	})
	t.Run("UpdateUser/missing", func(t *testing.T) {
		u := store.User{Team: "alpha", ID: uuid.NewString(), Email: "ghost@example.com", CreatedAt: t0}
		err := s.UpdateUser(t.Context(), u)
		wantErr(t, "UpdateUser(unknown)", err, store.ErrNotFound)
		_, err = s.User(t.Context(), "alpha", u.ID)
		wantErr(t, "User(unknown) after update", err, store.ErrNotFound)
	})
	t.Run("ListUsers", func(t *testing.T) {
		got, next, err := s.ListUsers(t.Context(), "alpha", store.Page{Limit: 10})
		if wantErr(t, "ListUsers(alpha)", err, nil) {
			diff(t, "ListUsers(alpha)", []store.User{ann, bob}, got, opts)
			if next != "" {
				t.Errorf("ListUsers(alpha) cursor = %q, want \"\" (last page)", next)
			}
		}
	})
	t.Run("ListUsers/empty", func(t *testing.T) {
		mkTeam(t, s, "empty")
		got, next, err := s.ListUsers(t.Context(), "empty", store.Page{Limit: 10})
		if wantErr(t, "ListUsers(empty)", err, nil) && (len(got) != 0 || next != "") {
			t.Errorf("ListUsers(empty) = %+v, %q; want nothing, \"\"", got, next)
		}
	})
	t.Run("DeleteUser", func(t *testing.T) {
		must(t, "DeleteUser(bob)", s.DeleteUser(t.Context(), "alpha", bob.ID))
		_, err := s.User(t.Context(), "alpha", bob.ID)
		wantErr(t, "User(bob) after delete", err, store.ErrNotFound)
		_, err = s.UserByEmail(t.Context(), "alpha", bob.Email)
		wantErr(t, "UserByEmail(bob) after delete", err, store.ErrNotFound)
		got, _, err := s.ListUsers(t.Context(), "alpha", store.Page{Limit: 10})
		if wantErr(t, "ListUsers(alpha)", err, nil) {
			diff(t, "ListUsers(alpha) after delete", []store.User{ann}, got, opts)
		}
		err = s.DeleteUser(t.Context(), "alpha", bob.ID)
		wantErr(t, "DeleteUser(bob) again", err, store.ErrNotFound)
		// The email is free again.
		mkUser(t, s, "alpha", bob.Email)
	})
}

func testListUsersPages(t *testing.T, s store.Store) {
	mkTeam(t, s, "alpha")
	mkTeam(t, s, "beta")
	mkUser(t, s, "beta", "other@example.com")
	var want []store.User
	for i := range 7 {
		u := store.User{
			Team:      "alpha",
			ID:        uuid.NewString(),
			Email:     fmt.Sprintf("user%d@example.com", i),
			Name:      fmt.Sprintf("User %d", i),
			CreatedAt: t0, // all equal: the cursor must not rely on time alone
			UpdatedAt: t0,
		}
		must(t, "create user", s.CreateUser(t.Context(), u))
		want = append(want, u)
	}
	for _, limit := range []int{1, 2, 3, 7, 100} {
		t.Run(fmt.Sprint("limit", limit), func(t *testing.T) {
			got := walk(t, limit, func(p store.Page) ([]store.User, string, error) {
				return s.ListUsers(t.Context(), "alpha", p)
			})
			diff(t, "all pages of ListUsers(alpha)", want, got, opts)
		})
	}
}
