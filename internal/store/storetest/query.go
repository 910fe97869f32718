package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/internal/store"
)

// cond builders for the directory tests.
func eq(f store.Field, v any) store.Cond { return store.Cond{Op: store.OpEq, Field: f, Value: v} }
func op(o store.Op, f store.Field, v any) store.Cond {
	return store.Cond{Op: o, Field: f, Value: v}
}
func and(cs ...store.Cond) store.Cond { return store.Cond{Op: store.OpAnd, Of: cs} }
func or(cs ...store.Cond) store.Cond  { return store.Cond{Op: store.OpOr, Of: cs} }
func not(c store.Cond) store.Cond     { return store.Cond{Op: store.OpNot, Of: []store.Cond{c}} }
func anyOf(f store.Field, c store.Cond) store.Cond {
	return store.Cond{Op: store.OpAny, Field: f, Of: []store.Cond{c}}
}

// testQueryUsers checks QueryUsers: every operator on every field, the
// comparisons' case rules, sorting, paging and counting, and the errors.
func testQueryUsers(t *testing.T, s store.Store) {
	mkTeam(t, s, "alpha")
	mkTeam(t, s, "beta")
	mk := func(email, name, ext, given, family string, disabled bool, created, updated time.Duration, emails ...store.Email) store.User {
		u := store.User{Team: "alpha", ID: uuid.NewString(), Email: email, Name: name, ExternalID: ext, GivenName: given, FamilyName: family,
			Disabled: disabled, CreatedAt: at(created), UpdatedAt: at(updated), Emails: emails}
		must(t, "create user "+email, s.CreateUser(t.Context(), u))
		return u
	}
	ann := mk("ann@example.com", "Ann Arbor", "00uANN", "Ann", "Arbor", false, time.Minute, time.Hour,
		store.Email{Value: "ann@example.com", Type: "work", Primary: true}, store.Email{Value: "Ann@Home.Example", Type: "home"})
	bob := mk("bob@example.org", "Bob Builder", "00uBOB", "Bob", "Builder", true, 2*time.Minute, 2*time.Minute,
		store.Email{Value: "bob@example.org", Type: "work"})
	cat := mk("cat@example.com", "Cat Stevens", "", "", "", false, 3*time.Minute, 3*time.Hour)
	dan := mk("dan@sub.example.com", "Dän ünicode", "00uDAN", "Dän", "Ünicode", false, 4*time.Minute, 4*time.Minute,
		store.Email{Value: "dan@work.example", Type: "Work", Display: "Dan at work"})
	// Beta's user of the same email is never found through alpha.
	mkUser(t, s, "beta", "ann@example.com")

	byEmail := func(us ...store.User) []string {
		var out []string
		for _, u := range us {
			out = append(out, u.Email)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		c    store.Cond
		want []store.User
	}{
		{"userName eq, case ignored", eq(store.FieldUserEmail, "ANN@Example.COM"), []store.User{ann}},
		{"userName eq unknown", eq(store.FieldUserEmail, "nobody@example.com"), nil},
		{"userName sw", op(store.OpSw, store.FieldUserEmail, "B"), []store.User{bob}},
		{"userName sw empty", op(store.OpSw, store.FieldUserEmail, ""), []store.User{ann, bob, cat, dan}},
		{"userName ew", op(store.OpEw, store.FieldUserEmail, "@EXAMPLE.COM"), []store.User{ann, cat}},
		{"userName co", op(store.OpCo, store.FieldUserEmail, "sub."), []store.User{dan}},
		{"userName ne", op(store.OpNe, store.FieldUserEmail, "ann@example.com"), []store.User{bob, cat, dan}},
		{"userName gt", op(store.OpGt, store.FieldUserEmail, "bob@example.org"), []store.User{cat, dan}},
		{"userName le", op(store.OpLe, store.FieldUserEmail, "bob@example.org"), []store.User{ann, bob}},
		{"userName pr", op(store.OpPr, store.FieldUserEmail, nil), []store.User{ann, bob, cat, dan}},
		{"id eq", eq(store.FieldUserID, cat.ID), []store.User{cat}},
		{"id eq, exact", eq(store.FieldUserID, "X"+cat.ID[1:]), nil},
		{"externalId eq, exact", eq(store.FieldUserExternalID, "00uANN"), []store.User{ann}},
		{"externalId eq, case kept", eq(store.FieldUserExternalID, "00uann"), nil},
		{"externalId pr", op(store.OpPr, store.FieldUserExternalID, nil), []store.User{ann, bob, dan}},
		{"externalId sw", op(store.OpSw, store.FieldUserExternalID, "00uB"), []store.User{bob}},
		{"displayName eq, ASCII case ignored", eq(store.FieldUserName, "ann ARBOR"), []store.User{ann}},
		{"displayName eq, ASCII case ignored, non-ASCII kept", eq(store.FieldUserName, "DäN üNICODE"), []store.User{dan}},
		{"displayName sw", op(store.OpSw, store.FieldUserName, "cat s"), []store.User{cat}},
		{"givenName eq", eq(store.FieldUserGivenName, "BOB"), []store.User{bob}},
		{"familyName co", op(store.OpCo, store.FieldUserFamilyName, "build"), []store.User{bob}},
		{"familyName pr", op(store.OpPr, store.FieldUserFamilyName, nil), []store.User{ann, bob, dan}},
		{"disabled eq true", eq(store.FieldUserDisabled, true), []store.User{bob}},
		{"disabled ne true", op(store.OpNe, store.FieldUserDisabled, true), []store.User{ann, cat, dan}},
		{"created gt", op(store.OpGt, store.FieldUserCreated, at(2*time.Minute)), []store.User{cat, dan}},
		{"created eq", eq(store.FieldUserCreated, at(2*time.Minute)), []store.User{bob}},
		{"updated ge", op(store.OpGe, store.FieldUserUpdated, at(time.Hour)), []store.User{ann, cat}},
		{"updated lt", op(store.OpLt, store.FieldUserUpdated, at(time.Hour)), []store.User{bob, dan}},
		{"and", and(op(store.OpEw, store.FieldUserEmail, ".com"), eq(store.FieldUserDisabled, false), op(store.OpPr, store.FieldUserExternalID, nil)),
			[]store.User{ann, dan}},
		{"or", or(eq(store.FieldUserEmail, "ann@example.com"), eq(store.FieldUserExternalID, "00uBOB")), []store.User{ann, bob}},
		{"or with always true", or(eq(store.FieldUserEmail, "ann@example.com"), op(store.OpPr, store.FieldUserID, nil)), []store.User{ann, bob, cat, dan}},
		{"not", not(op(store.OpSw, store.FieldUserEmail, "a")), []store.User{bob, cat, dan}},
		{"not of or", not(or(eq(store.FieldUserDisabled, true), op(store.OpPr, store.FieldUserExternalID, nil))), []store.User{cat}},
		{"emails value, case ignored", anyOf(store.FieldUserEmails, eq(store.FieldEmailValue, "ann@home.example")), []store.User{ann}},
		{"emails type and value", anyOf(store.FieldUserEmails, and(eq(store.FieldEmailType, "work"), op(store.OpCo, store.FieldEmailValue, "example"))),
			[]store.User{ann, bob, dan}},
		{"emails primary", anyOf(store.FieldUserEmails, eq(store.FieldEmailPrimary, true)), []store.User{ann}},
		{"emails not primary", anyOf(store.FieldUserEmails, eq(store.FieldEmailPrimary, false)), []store.User{ann, bob, dan}},
		{"emails display pr", anyOf(store.FieldUserEmails, op(store.OpPr, store.FieldEmailDisplay, nil)), []store.User{dan}},
		{"emails of one user only", and(eq(store.FieldUserEmail, "bob@example.org"), anyOf(store.FieldUserEmails, eq(store.FieldEmailType, "work"))),
			[]store.User{bob}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c
			got, n, err := s.QueryUsers(t.Context(), "alpha", store.Query{Where: &c, Limit: 10})
			if !wantErr(t, "QueryUsers", err, nil) {
				return
			}
			diff(t, "QueryUsers", tc.want, got, opts)
			if n != len(tc.want) {
				t.Errorf("QueryUsers counts %d, want %d", n, len(tc.want))
			}
		})
	}

	t.Run("sort and page", func(t *testing.T) {
		all := []store.User{ann, bob, cat, dan}
		for _, tc := range []struct {
			sort  store.Field
			desc  bool
			order []store.User
		}{
			{store.FieldUserEmail, false, []store.User{ann, bob, cat, dan}},
			{store.FieldUserEmail, true, []store.User{dan, cat, bob, ann}},
			{store.FieldUserName, false, []store.User{ann, bob, cat, dan}},
			{store.FieldUserUpdated, true, []store.User{cat, ann, dan, bob}},
			{store.FieldUserCreated, false, []store.User{ann, bob, cat, dan}},
			{store.FieldUserExternalID, false, []store.User{cat, ann, bob, dan}},
		} {
			for _, page := range []struct{ offset, limit int }{{0, 10}, {0, 2}, {1, 2}, {3, 5}, {4, 5}, {9, 5}, {0, 0}} {
				got, n, err := s.QueryUsers(t.Context(), "alpha", store.Query{SortBy: tc.sort, Desc: tc.desc, Offset: page.offset, Limit: page.limit})
				what := fmt.Sprintf("QueryUsers sorted by %s (desc %v), offset %d, limit %d", tc.sort, tc.desc, page.offset, page.limit)
				if !wantErr(t, what, err, nil) {
					continue
				}
				want := tc.order[min(page.offset, len(all)):min(page.offset+page.limit, len(all))]
				diff(t, what, byEmail(want...), byEmail(got...))
				if n != len(all) {
					t.Errorf("%s counts %d, want %d", what, n, len(all))
				}
			}
		}
		got, _, err := s.QueryUsers(t.Context(), "alpha", store.Query{Limit: 10})
		if wantErr(t, "QueryUsers by ID", err, nil) {
			ids := make([]string, 0, len(got))
			for _, u := range got {
				ids = append(ids, u.ID)
			}
			if !slices.IsSorted(ids) {
				t.Errorf("QueryUsers without SortBy: IDs %v, want in ID order", ids)
			}
		}
	})

	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			q    store.Query
		}{
			{"unknown field", store.Query{Limit: 1, Where: &store.Cond{Op: store.OpEq, Field: "user.password_hash", Value: "x"}}},
			{"group field", store.Query{Limit: 1, Where: &store.Cond{Op: store.OpEq, Field: store.FieldGroupName, Value: "x"}}},
			{"bool co", store.Query{Limit: 1, Where: &store.Cond{Op: store.OpCo, Field: store.FieldUserDisabled, Value: true}}},
			{"bool gt", store.Query{Limit: 1, Where: &store.Cond{Op: store.OpGt, Field: store.FieldUserDisabled, Value: true}}},
			{"string for bool", store.Query{Limit: 1, Where: &store.Cond{Op: store.OpEq, Field: store.FieldUserDisabled, Value: "true"}}},
			{"bool for string", store.Query{Limit: 1, Where: &store.Cond{Op: store.OpEq, Field: store.FieldUserEmail, Value: true}}},
			{"string for time", store.Query{Limit: 1, Where: &store.Cond{Op: store.OpGt, Field: store.FieldUserCreated, Value: "2026"}}},
			{"time sw", store.Query{Limit: 1, Where: &store.Cond{Op: store.OpSw, Field: store.FieldUserCreated, Value: t0}}},
			{"and of one", store.Query{Limit: 1, Where: &store.Cond{Op: store.OpAnd, Of: []store.Cond{eq(store.FieldUserID, "x")}}}},
			{"not of two", store.Query{Limit: 1, Where: &store.Cond{Op: store.OpNot, Of: []store.Cond{eq(store.FieldUserID, "x"), eq(store.FieldUserID, "y")}}}},
			{"unknown op", store.Query{Limit: 1, Where: &store.Cond{Op: "like", Field: store.FieldUserEmail, Value: "x"}}},
			{"any of members", store.Query{Limit: 1, Where: &store.Cond{Op: store.OpAny, Field: store.FieldGroupMembers, Of: []store.Cond{eq(store.FieldMemberValue, "x")}}}},
			{"email field outside any", store.Query{Limit: 1, Where: &store.Cond{Op: store.OpEq, Field: store.FieldEmailValue, Value: "x"}}},
			{"sort by an unindexed field", store.Query{Limit: 1, SortBy: store.FieldUserGivenName}},
			{"limit over 1000", store.Query{Limit: 1001}},
			{"negative offset", store.Query{Limit: 1, Offset: -1}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, _, err := s.QueryUsers(t.Context(), "alpha", tc.q)
				wantErr(t, "QueryUsers", err, store.ErrInvalid)
			})
		}
		deep := eq(store.FieldUserID, "x")
		for range 60 {
			deep = not(deep)
		}
		_, _, err := s.QueryUsers(t.Context(), "alpha", store.Query{Limit: 1, Where: &deep})
		wantErr(t, "QueryUsers of a condition nested 60 deep", err, store.ErrInvalid)
	})
}

// testQueryBounds checks that a query whose indexed part leaves more than
// store.MaxExamined users is refused with ErrTooBroad, while one that
// indexes serve exactly is answered and counted whatever its size.
func testQueryBounds(t *testing.T, s store.Store) {
	mkTeam(t, s, "alpha")
	n := store.MaxExamined + 1
	must(t, "create users", s.Tx(t.Context(), func(q store.Queries) error {
		for i := range n {
			if err := q.CreateUser(t.Context(), store.User{Team: "alpha", ID: uuid.NewString(), Email: fmt.Sprintf("bulk%05d@example.com", i),
				Name: fmt.Sprintf("Bulk %05d", i), ExternalID: fmt.Sprintf("ext-%05d", i), CreatedAt: t0}); err != nil {
				return err
			}
		}
		return nil
	}))
	for _, tc := range []struct {
		name  string
		c     *store.Cond
		count int
		err   error
	}{
		{"no condition", nil, n, nil},
		{"indexed prefix", ptr(op(store.OpSw, store.FieldUserEmail, "bulk")), n, nil},
		{"indexed prefix of a part", ptr(op(store.OpSw, store.FieldUserName, "bulk 0999")), 10, nil},
		{"indexed or", ptr(or(eq(store.FieldUserExternalID, "ext-00001"), eq(store.FieldUserEmail, "bulk00002@example.com"))), 2, nil},
		{"unindexed within an indexed part", ptr(and(op(store.OpSw, store.FieldUserName, "bulk 099"), op(store.OpCo, store.FieldUserEmail, "5@"))), 10, nil},
		{"unindexed alone", ptr(eq(store.FieldUserDisabled, true)), 0, store.ErrTooBroad},
		{"contains alone", ptr(op(store.OpCo, store.FieldUserEmail, "00042")), 0, store.ErrTooBroad},
		{"unindexed within too wide a part", ptr(and(op(store.OpSw, store.FieldUserEmail, "bulk"), eq(store.FieldUserDisabled, true))), 0, store.ErrTooBroad},
		{"or with an unindexed side", ptr(or(eq(store.FieldUserEmail, "bulk00001@example.com"), op(store.OpEw, store.FieldUserEmail, "x"))), 0, store.ErrTooBroad},
		{"not", ptr(not(eq(store.FieldUserEmail, "bulk00001@example.com"))), 0, store.ErrTooBroad},
		{"emails", ptr(anyOf(store.FieldUserEmails, eq(store.FieldEmailValue, "x@example.com"))), 0, store.ErrTooBroad},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, count, err := s.QueryUsers(t.Context(), "alpha", store.Query{Where: tc.c, Limit: 5, SortBy: store.FieldUserEmail})
			if !wantErr(t, "QueryUsers", err, tc.err) || tc.err != nil {
				return
			}
			if count != tc.count || len(got) != min(5, tc.count) {
				t.Errorf("QueryUsers: %d users, count %d; want %d, count %d", len(got), count, min(5, tc.count), tc.count)
			}
		})
	}
}

// testDirectoryGroups checks GroupByID, UpdateGroup, Memberships and
// QueryGroups.
func testDirectoryGroups(t *testing.T, s store.Store) {
	mkTeam(t, s, "alpha")
	mkTeam(t, s, "beta")
	ann := mkUser(t, s, "alpha", "ann@example.com")
	bob := mkUser(t, s, "alpha", "bob@example.com")
	sales := store.Group{Team: "alpha", ID: uuid.NewString(), Name: "Sales Team", ExternalID: "ext-sales", CreatedAt: t0, UpdatedAt: t0}
	eng := store.Group{Team: "alpha", ID: uuid.NewString(), Name: "Ventes – Europe", CreatedAt: at(time.Second), UpdatedAt: at(time.Hour)}
	for _, g := range []store.Group{sales, eng} {
		must(t, "create group "+g.Name, s.CreateGroup(t.Context(), g))
	}
	must(t, "add ann", s.AddGroupMember(t.Context(), "alpha", sales.Name, ann.ID))
	must(t, "add bob", s.AddGroupMember(t.Context(), "alpha", sales.Name, bob.ID))
	must(t, "add ann", s.AddGroupMember(t.Context(), "alpha", eng.Name, ann.ID))
	sales.Members, eng.Members = []string{ann.ID, bob.ID}, []string{ann.ID}
	mkGroup(t, s, "beta", "Sales Team")
	must(t, "grant", s.GrantPermission(t.Context(), store.Permission{Team: "alpha", Principal: "group:Sales Team", Action: "read", Resource: "audit-log", CreatedAt: t0}))

	t.Run("GroupByID", func(t *testing.T) {
		got, err := s.GroupByID(t.Context(), "alpha", sales.ID)
		if wantErr(t, "GroupByID(sales)", err, nil) {
			diff(t, "GroupByID(sales)", sales, got, opts)
		}
		_, err = s.GroupByID(t.Context(), "alpha", uuid.NewString())
		wantErr(t, "GroupByID(unknown)", err, store.ErrNotFound)
	})
	t.Run("Memberships", func(t *testing.T) {
		got, err := s.Memberships(t.Context(), "alpha", []string{ann.ID, bob.ID, uuid.NewString()})
		if wantErr(t, "Memberships", err, nil) {
			diff(t, "Memberships", []store.Membership{
				{UserID: ann.ID, GroupID: sales.ID, Group: sales.Name}, {UserID: ann.ID, GroupID: eng.ID, Group: eng.Name},
				{UserID: bob.ID, GroupID: sales.ID, Group: sales.Name}}, got, opts)
		}
		got, err = s.Memberships(t.Context(), "alpha", nil)
		notFoundOrEmpty(t, "Memberships(none)", got, err)
		_, err = s.Memberships(t.Context(), "alpha", make([]string, 1001))
		wantErr(t, "Memberships(1001 IDs)", err, store.ErrInvalid)
	})
	t.Run("QueryGroups", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			c    store.Cond
			want []store.Group
		}{
			{"displayName eq, ASCII case ignored", eq(store.FieldGroupName, "sales team"), []store.Group{sales}},
			{"displayName eq, Unicode", eq(store.FieldGroupName, "Ventes – Europe"), []store.Group{eng}},
			{"displayName sw", op(store.OpSw, store.FieldGroupName, "V"), []store.Group{eng}},
			{"externalId eq", eq(store.FieldGroupExternalID, "ext-sales"), []store.Group{sales}},
			{"externalId pr", op(store.OpPr, store.FieldGroupExternalID, nil), []store.Group{sales}},
			{"id eq", eq(store.FieldGroupID, eng.ID), []store.Group{eng}},
			{"updated gt", op(store.OpGt, store.FieldGroupUpdated, t0), []store.Group{eng}},
			{"members", anyOf(store.FieldGroupMembers, eq(store.FieldMemberValue, bob.ID)), []store.Group{sales}},
			{"members or name", or(anyOf(store.FieldGroupMembers, eq(store.FieldMemberValue, bob.ID)), eq(store.FieldGroupName, "ventes – europe")),
				[]store.Group{sales, eng}},
			{"not members", not(anyOf(store.FieldGroupMembers, eq(store.FieldMemberValue, bob.ID))), []store.Group{eng}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := tc.c
				got, n, err := s.QueryGroups(t.Context(), "alpha", store.Query{Where: &c, Limit: 10, WithMembers: true})
				if wantErr(t, "QueryGroups", err, nil) {
					diff(t, "QueryGroups", tc.want, got, opts)
					if n != len(tc.want) {
						t.Errorf("QueryGroups counts %d, want %d", n, len(tc.want))
					}
				}
			})
		}
		got, n, err := s.QueryGroups(t.Context(), "alpha", store.Query{Limit: 1, SortBy: store.FieldGroupName, Desc: true})
		bare := eng
		bare.Members = nil
		if wantErr(t, "QueryGroups without members", err, nil) {
			diff(t, "QueryGroups without members", []store.Group{bare}, got, opts)
			if n != 2 {
				t.Errorf("QueryGroups counts %d, want 2", n)
			}
		}
		for _, c := range []store.Cond{
			anyOf(store.FieldGroupMembers, op(store.OpCo, store.FieldMemberValue, "a")),
			anyOf(store.FieldGroupMembers, op(store.OpPr, store.FieldMemberValue, nil)),
			eq(store.FieldUserEmail, "ann@example.com"),
		} {
			_, _, err := s.QueryGroups(t.Context(), "alpha", store.Query{Where: &c, Limit: 1})
			wantErr(t, fmt.Sprintf("QueryGroups(%+v)", c), err, store.ErrInvalid)
		}
	})
	t.Run("UpdateGroup", func(t *testing.T) {
		// A new external ID and time, the name kept.
		eng.ExternalID, eng.UpdatedAt = "ext-eng", at(2*time.Hour)
		must(t, "UpdateGroup(eng)", s.UpdateGroup(t.Context(), "alpha", eng.Name, store.Group{Name: eng.Name, ExternalID: eng.ExternalID, UpdatedAt: eng.UpdatedAt}))
		got, err := s.GroupByID(t.Context(), "alpha", eng.ID)
		if wantErr(t, "GroupByID(eng)", err, nil) {
			diff(t, "GroupByID(eng) after UpdateGroup", eng, got, opts)
		}
		// A rename keeps the ID, the members and the permissions.
		old := sales.Name
		sales.Name, sales.UpdatedAt = "Sales & Marketing", at(3*time.Hour)
		must(t, "UpdateGroup(rename)", s.UpdateGroup(t.Context(), "alpha", old, store.Group{Name: sales.Name, ExternalID: sales.ExternalID, UpdatedAt: sales.UpdatedAt}))
		got, err = s.GroupByID(t.Context(), "alpha", sales.ID)
		if wantErr(t, "GroupByID(sales)", err, nil) {
			diff(t, "GroupByID(sales) after the rename", sales, got, opts)
		}
		_, err = s.Group(t.Context(), "alpha", old)
		wantErr(t, "Group(old name)", err, store.ErrNotFound)
		perms, err := s.ListPermissions(t.Context(), "alpha", "group:"+sales.Name)
		if wantErr(t, "ListPermissions(new name)", err, nil) && len(perms) != 1 {
			t.Errorf("permissions of the new name: %+v, want the group's one", perms)
		}
		perms, err = s.ListPermissions(t.Context(), "alpha", "group:"+old)
		notFoundOrEmpty(t, "ListPermissions(old name)", perms, err)
		groups, err := s.UserGroups(t.Context(), "alpha", bob.ID)
		if wantErr(t, "UserGroups(bob)", err, nil) {
			diff(t, "UserGroups(bob)", []string{sales.Name}, groups)
		}
		// Beta's group of the old name is untouched.
		if g, err := s.Group(t.Context(), "beta", old); wantErr(t, "Group(beta, old name)", err, nil) && g.Name != old {
			t.Errorf("beta's group: %+v", g)
		}
		// A taken name, a missing group.
		err = s.UpdateGroup(t.Context(), "alpha", sales.Name, store.Group{Name: eng.Name})
		wantErr(t, "UpdateGroup(to a taken name)", err, store.ErrAlreadyExists)
		err = s.UpdateGroup(t.Context(), "alpha", "nope", store.Group{Name: "nope2"})
		wantErr(t, "UpdateGroup(missing)", err, store.ErrNotFound)
		got, err = s.GroupByID(t.Context(), "alpha", sales.ID)
		if wantErr(t, "GroupByID(sales)", err, nil) {
			diff(t, "GroupByID(sales) after refused updates", sales, got, opts)
		}
	})
}

// testDirectoryCounts: the total of an unfiltered QueryUsers or
// QueryGroups follows every way a team gains or loses users and groups
// (one at a time, in a transaction undone, by the team's deletion), and a
// filtered one agrees with it.
func testDirectoryCounts(t *testing.T, s store.Store) {
	ctx := t.Context()
	counts := func(what string, users, groups int) {
		t.Helper()
		if _, n, err := s.QueryUsers(ctx, "alpha", store.Query{Limit: 1}); err != nil || n != users {
			t.Errorf("%s: QueryUsers counts %d, %v; want %d", what, n, err, users)
		}
		pr := op(store.OpPr, store.FieldUserEmail, nil)
		if _, n, err := s.QueryUsers(ctx, "alpha", store.Query{Limit: 1, Where: &pr}); err != nil || n != users {
			t.Errorf("%s: QueryUsers(userName pr) counts %d, %v; want %d", what, n, err, users)
		}
		if _, n, err := s.QueryGroups(ctx, "alpha", store.Query{Limit: 1}); err != nil || n != groups {
			t.Errorf("%s: QueryGroups counts %d, %v; want %d", what, n, err, groups)
		}
	}
	mkTeam(t, s, "alpha")
	mkTeam(t, s, "beta")
	counts("a new team", 0, 0)
	ann := mkUser(t, s, "alpha", "ann@example.com")
	mkUser(t, s, "alpha", "bob@example.com")
	mkUser(t, s, "beta", "cat@example.com")
	mkGroup(t, s, "alpha", "Sales Team", ann.ID)
	mkGroup(t, s, "beta", "ops")
	counts("two users and a group", 2, 1)

	dup := store.User{Team: "alpha", ID: uuid.NewString(), Email: "ann@example.com", Name: "Ann again", CreatedAt: t0}
	wantErr(t, "create a taken email", s.CreateUser(ctx, dup), store.ErrAlreadyExists)
	undone := errors.New("undone")
	err := s.Tx(ctx, func(q store.Queries) error {
		mkUser(t, q, "alpha", "dan@example.com")
		mkGroup(t, q, "alpha", "dev")
		return undone
	})
	wantErr(t, "a transaction undone", err, undone)
	counts("after a refused create and an undone transaction", 2, 1)

	must(t, "delete ann", s.DeleteUser(ctx, "alpha", ann.ID))
	must(t, "delete Sales Team", s.DeleteGroup(ctx, "alpha", "Sales Team"))
	counts("after deletions", 1, 0)

	must(t, "delete alpha", s.DeleteTeam(ctx, "alpha"))
	mkTeam(t, s, "alpha")
	counts("the team deleted and made again", 0, 0)
	mkUser(t, s, "alpha", "eve@example.com")
	counts("its first user", 1, 0)
	if _, n, err := s.QueryUsers(ctx, "beta", store.Query{Limit: 1}); err != nil || n != 1 {
		t.Errorf("beta's users counted %d, %v; want 1", n, err)
	}
}
