package scim

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// filterSeeds are filters that providers send and the RFC's examples,
// good and bad.
var filterSeeds = []string{
	`userName eq "test.user@okta.local"`, `userName eq "non-existent user"`, `externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"`,
	`userName Eq "john"`, `name.familyName co "O'Malley"`, `userName sw "J"`, `title pr`, `meta.lastModified gt "2011-05-13T04:42:34Z"`,
	`meta.lastModified ge "2011-05-13T04:42:34Z"`, `title pr and userType eq "Employee"`, `title pr or userType eq "Intern"`,
	`schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`,
	`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`,
	`userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`,
	`userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`,
	`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`,
	`displayName sw "ann" or externalId pr`, `active eq false`, `active eq "True"`, `emails[primary eq true]`,
	`not (userName ew ".com")`, `userName gt "b" and userName le "d"`, `externalId eq null`, `name.givenName eq "ÉLISE"`,
	`displayName eq "Dän Ünicode"`, `emails.display co "work"`, `id eq "00000000-0000-4000-8000-000000000003"`,
	`blubb`, `userName eq "a\"b"`, `emails[value eq "x"].type eq "y"`, `userName eq ""`, `userName sw ""`,
	`meta.created lt "2026-01-02T03:04:05.000001Z"`,
}

// directory is a store with users that every comparison tells apart:
// cases, non-ASCII names, empty and missing fields, several emails.
func directory(t testing.TB) (store.Store, []store.User) {
	t.Helper()
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "gatehouse.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := st.CreateTeam(context.Background(), store.Team{Name: "acme", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	users := []store.User{
		{ID: "00000000-0000-4000-8000-000000000001", Email: "ann@example.com", Name: "Ann Arbor", ExternalID: "00uANN", GivenName: "Ann",
			FamilyName: "O'Malley", Emails: []store.Email{{Value: "ann@example.com", Type: "work", Primary: true}, {Value: "Ann@Home.Example", Type: "home"}}},
		{ID: "00000000-0000-4000-8000-000000000002", Email: "bob@example.org", Name: "bob builder", Disabled: true,
			Emails: []store.Email{{Value: "bob@example.org", Type: "Work", Display: "Bob at work"}}},
		{ID: "00000000-0000-4000-8000-000000000003", Email: "élise@exämple.com", Name: "Élise", GivenName: "élise", FamilyName: "Ünicode"},
		{ID: "00000000-0000-4000-8000-000000000004", Email: "dan@sub.example.com", Name: "Dän Ünicode", ExternalID: "00udan"},
		{ID: "00000000-0000-4000-8000-000000000005", Email: "eve@example.com", Name: "EVE", ExternalID: "", GivenName: "Eve"},
		{ID: "00000000-0000-4000-8000-000000000006", Email: "j@example.net", Name: "J", Emails: []store.Email{{Value: "j@example.org", Type: "other"}}},
	}
	for i := range users {
		u := &users[i]
		u.Team = "acme"
		u.CreatedAt = t0.Add(time.Duration(i) * time.Microsecond)
		u.UpdatedAt = t0.Add(time.Duration(i*i) * time.Hour)
		if err := st.CreateUser(context.Background(), *u); err != nil {
			t.Fatal(err)
		}
	}
	return st, users
}

// A SCIM filter of Users, parsed and translated: the parser never takes
// the request down, a filter it refuses is a 400 invalidFilter, and one it
// takes selects, through the store's SQL, exactly the users that a model
// of the comparisons (RFC 7644 section 3.4.2.2 with Gatehouse's case rules)
// selects.
func FuzzFilter(f *testing.F) {
	for _, s := range filterSeeds {
		f.Add(s)
	}
	st, users := directory(f)
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := parseFilter(userFilter, raw)
		if err != nil {
			var p *problem
			if !errors.As(err, &p) || p.status != 400 || p.scimType != typeInvalidFilter {
				t.Fatalf("parseFilter(%q): %v, want a 400 invalidFilter problem", raw, err)
			}
			return
		}
		got, n, err := st.QueryUsers(context.Background(), "acme", store.Query{Where: &c, Limit: 100})
		if err != nil {
			t.Fatalf("QueryUsers(%q = %+v): %v", raw, c, err)
		}
		var gotIDs, wantIDs []string
		for _, u := range got {
			gotIDs = append(gotIDs, u.ID)
		}
		for _, u := range users {
			if evalUser(c, u) {
				wantIDs = append(wantIDs, u.ID)
			}
		}
		slices.Sort(gotIDs)
		if !slices.Equal(gotIDs, wantIDs) || n != len(wantIDs) {
			t.Errorf("filter %q (%+v) selects %v (count %d), the model %v", raw, c, gotIDs, n, wantIDs)
		}
	})
}

// evalUser is the model: whether u meets c.
func evalUser(c store.Cond, u store.User) bool {
	switch c.Op {
	case store.OpAnd:
		for _, s := range c.Of {
			if !evalUser(s, u) {
				return false
			}
		}
		return true
	case store.OpOr:
		for _, s := range c.Of {
			if evalUser(s, u) {
				return true
			}
		}
		return false
	case store.OpNot:
		return !evalUser(c.Of[0], u)
	case store.OpAny:
		for _, e := range u.Emails {
			if evalEmail(c.Of[0], e) {
				return true
			}
		}
		return false
	}
	switch c.Field {
	case store.FieldUserID:
		return evalString(c, u.ID, nil, true)
	case store.FieldUserEmail:
		return evalString(c, u.Email, strings.ToLower, true)
	case store.FieldUserName:
		return evalString(c, u.Name, foldASCII, true)
	case store.FieldUserExternalID:
		return evalString(c, u.ExternalID, nil, false)
	case store.FieldUserGivenName:
		return evalString(c, u.GivenName, foldASCII, false)
	case store.FieldUserFamilyName:
		return evalString(c, u.FamilyName, foldASCII, false)
	case store.FieldUserDisabled:
		return evalBool(c, u.Disabled)
	case store.FieldUserCreated:
		return evalTime(c, u.CreatedAt)
	case store.FieldUserUpdated:
		return evalTime(c, u.UpdatedAt)
	}
	panic("model: unknown field " + string(c.Field))
}

func evalEmail(c store.Cond, e store.Email) bool {
	switch c.Op {
	case store.OpAnd:
		return evalEmail(c.Of[0], e) && evalEmail(c.Of[1], e)
	case store.OpOr:
		return evalEmail(c.Of[0], e) || evalEmail(c.Of[1], e)
	case store.OpNot:
		return !evalEmail(c.Of[0], e)
	}
	switch c.Field {
	case store.FieldEmailValue:
		return evalString(c, e.Value, foldASCII, false)
	case store.FieldEmailType:
		return evalString(c, e.Type, foldASCII, false)
	case store.FieldEmailDisplay:
		return evalString(c, e.Display, foldASCII, false)
	case store.FieldEmailPrimary:
		return evalBool(c, e.Primary)
	}
	panic("model: unknown email field " + string(c.Field))
}

func foldASCII(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

func evalString(c store.Cond, v string, fold func(string) string, always bool) bool {
	if c.Op == store.OpPr {
		return always || v != ""
	}
	w := c.Value.(string)
	if fold != nil {
		v, w = fold(v), fold(w)
	}
	switch c.Op {
	case store.OpEq:
		return v == w
	case store.OpNe:
		return v != w
	case store.OpCo:
		return strings.Contains(v, w)
	case store.OpSw:
		return strings.HasPrefix(v, w)
	case store.OpEw:
		return strings.HasSuffix(v, w)
	case store.OpGt:
		return v > w
	case store.OpGe:
		return v >= w
	case store.OpLt:
		return v < w
	case store.OpLe:
		return v <= w
	}
	panic("model: operator " + string(c.Op))
}

func evalBool(c store.Cond, v bool) bool {
	switch c.Op {
	case store.OpPr:
		return true
	case store.OpEq:
		return v == c.Value.(bool)
	case store.OpNe:
		return v != c.Value.(bool)
	}
	panic("model: operator " + string(c.Op) + " on a boolean")
}

func evalTime(c store.Cond, v time.Time) bool {
	if c.Op == store.OpPr {
		return true
	}
	a, b := v.UnixMicro(), c.Value.(time.Time).UnixMicro()
	switch c.Op {
	case store.OpEq:
		return a == b
	case store.OpNe:
		return a != b
	case store.OpGt:
		return a > b
	case store.OpGe:
		return a >= b
	case store.OpLt:
		return a < b
	case store.OpLe:
		return a <= b
	}
	panic("model: operator " + string(c.Op) + " on a time")
}

// A PATCH operation on a User: it never takes the request down; it is
// applied or refused as a 400 problem, and what it leaves is read as a
// user or refused as a 400 problem too.
func FuzzPatch(f *testing.F) {
	for _, s := range [][3]string{
		{"replace", "", `{"active":false}`}, {"Replace", `emails[type eq "work"].value`, `"x@example.com"`},
		{"Add", `emails[type eq "home"].value`, `"h@example.com"`}, {"remove", `emails[type eq "work"]`, ``},
		{"replace", "name.familyName", `"O'Malley"`}, {"add", "groups", `[{"value":"g"}]`}, {"remove", "", ``},
		{"Remove", "members", `[{"value":"u1"}]`}, {"replace", `emails[value co "x"]`, `{"type":"other"}`},
		{"add", "", `{"emails":[{"value":"a@b.c","primary":"True"}],"name":{"givenName":"A"}}`},
		{"replace", "userName", `5`}, {"add", `emails[primary eq true and type eq "work"].display`, `"Work"`},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, op, path, value string) {
		for _, rt := range []resourceType{userType, groupType} {
			res := userRep()
			if rt.Name == "Group" {
				res = groupRep()
			}
			p := patcher{t: rt, res: res}
			var raw json.RawMessage
			if json.Valid([]byte(value)) {
				raw = json.RawMessage(value)
			}
			err := p.apply([]operation{{Op: op, Path: path, Value: raw}})
			if err == nil {
				if rt.Name == "Group" {
					_, err = readGroup(p.res)
				} else {
					_, err = readUser(p.res)
				}
			}
			var pr *problem
			if err != nil && (!errors.As(err, &pr) || pr.status != 400) {
				t.Fatalf("%s %q %s on a %s: %v, want nil or a 400 problem", op, path, value, rt.Name, err)
			}
		}
	})
}
