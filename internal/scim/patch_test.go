package scim

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// userRep and groupRep are representations as the handlers build them.
func userRep() object {
	return object{"id": "u1", "userName": "ann@example.com", "displayName": "Ann", "active": true,
		"name":   object{"givenName": "Ann", "familyName": "Arbor", "formatted": "Ann Arbor"},
		"emails": []any{object{"value": "ann@example.com", "type": "work", "primary": true}},
		"groups": []any{}}
}

func groupRep() object {
	return object{"id": "g1", "displayName": "Sales Team", "members": []any{object{"value": "u1"}, object{"value": "u2"}}}
}

// ops builds operations from (op, path, JSON value) triples.
func ops(triples ...string) []operation {
	var out []operation
	for i := 0; i+2 < len(triples); i += 3 {
		out = append(out, operation{Op: triples[i], Path: triples[i+1], Value: json.RawMessage(triples[i+2])})
	}
	return out
}

func TestPatch(t *testing.T) {
	for _, tc := range []struct {
		name  string
		t     resourceType
		ops   []operation
		check func(t *testing.T, o object)
	}{
		{"okta: replace without a path", userType, ops("replace", "", `{"active":false}`), func(t *testing.T, o object) {
			if o["active"] != false {
				t.Errorf("active %v", o["active"])
			}
		}},
		{"okta: rename a group without a path, the id along", groupType, ops("replace", "", `{"id":"g1","displayName":"Test SCIMv20"}`),
			func(t *testing.T, o object) {
				if o["displayName"] != "Test SCIMv20" || o["id"] != "g1" {
					t.Errorf("%v", o)
				}
			}},
		{"entra: capitalized ops, a work email by filter, active as a string", userType, ops(
			"Replace", `emails[type eq "work"].value`, `"updated@example.com"`,
			"Replace", "name.familyName", `"Updated"`,
			"Replace", "active", `"False"`),
			func(t *testing.T, o object) {
				s, err := readUser(o)
				if err != nil {
					t.Fatal(err)
				}
				if s.active || s.family != "Updated" || len(s.emails) != 1 || s.emails[0].Value != "updated@example.com" || !s.emails[0].Primary {
					t.Errorf("%+v", s)
				}
			}},
		{"entra: add through a filter that matches nothing makes the element", userType, ops(
			"Add", `emails[type eq "home"].value`, `"home@example.com"`),
			func(t *testing.T, o object) {
				es := o["emails"].([]any)
				if len(es) != 2 || !cmp.Equal(es[1], object{"type": "home", "value": "home@example.com"}) {
					t.Errorf("emails %v", es)
				}
			}},
		{"names of ops, attributes and sub-attributes in any case", userType, ops(
			"REPLACE", `Emails[Type EQ "WORK"].Value`, `"x@example.com"`,
			"add", "DISPLAYNAME", `"Ann A."`),
			func(t *testing.T, o object) {
				if o["displayName"] != "Ann A." || o["emails"].([]any)[0].(object)["value"] != "x@example.com" {
					t.Errorf("%v", o)
				}
			}},
		{"a sub-attribute of a complex attribute", userType, ops("remove", "name.givenName", ``, "replace", "name", `{"familyName":"B"}`),
			func(t *testing.T, o object) {
				if !cmp.Equal(o["name"], object{"familyName": "B", "formatted": "Ann Arbor"}) {
					t.Errorf("name %v", o["name"])
				}
			}},
		{"add without a path appends to a multi-valued attribute", userType, ops("add", "", `{"emails":[{"value":"b@example.com","type":"home"}]}`),
			func(t *testing.T, o object) {
				if len(o["emails"].([]any)) != 2 {
					t.Errorf("emails %v", o["emails"])
				}
			}},
		{"replace of a multi-valued attribute sets it", userType, ops("replace", "emails", `[{"value":"c@example.com"}]`),
			func(t *testing.T, o object) {
				if !cmp.Equal(o["emails"], []any{object{"value": "c@example.com"}}) {
					t.Errorf("emails %v", o["emails"])
				}
			}},
		{"what Gatehouse does not keep is passed over", userType, ops(
			"add", "title", `"Engineer"`,
			"replace", EnterpriseSchema+":department", `"Sales"`,
			"add", "name.honorificPrefix", `"Dr."`,
			"replace", "", `{"nickName":"A","`+EnterpriseSchema+`":{"manager":{"value":"x"}}}`),
			func(t *testing.T, o object) {
				if !cmp.Equal(o, userRep()) {
					t.Errorf("changed: %v", o)
				}
			}},
		{"the core schema's URN before a path", userType, ops("replace", UserSchema+":displayName", `"Z"`),
			func(t *testing.T, o object) {
				if o["displayName"] != "Z" {
					t.Errorf("%v", o)
				}
			}},
		{"members added, removed by a filter and by a list of values", groupType, ops(
			"add", "members", `[{"value":"u3"},{"value":"u4"}]`,
			"remove", `members[value eq "u1"]`, ``,
			"Remove", "members", `[{"$ref":null,"value":"u3"}]`,
			"remove", `members[value eq "nobody"]`, ``),
			func(t *testing.T, o object) {
				s, err := readGroup(o)
				if err != nil {
					t.Fatal(err)
				}
				if !cmp.Equal(s.members, []string{"u2", "u4"}) {
					t.Errorf("members %v", s.members)
				}
			}},
		{"remove of every member", groupType, ops("remove", "members", ``), func(t *testing.T, o object) {
			if s, err := readGroup(o); err != nil || len(s.members) != 0 {
				t.Errorf("%+v %v", s, err)
			}
		}},
		{"a value filter with or", groupType, ops("remove", `members[value eq "u1" or value ew "9"]`, ``),
			func(t *testing.T, o object) {
				if s, _ := readGroup(o); !cmp.Equal(s.members, []string{"u2"}) {
					t.Errorf("members %v", s.members)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := userRep()
			if tc.t.Name == "Group" {
				res = groupRep()
			}
			p := patcher{t: tc.t, res: res}
			if err := p.apply(tc.ops); err != nil {
				t.Fatal(err)
			}
			tc.check(t, p.res)
		})
	}
}

func TestPatchErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		t        resourceType
		ops      []operation
		scimType string
	}{
		{"remove without a path", userType, ops("remove", "", ``), typeNoTarget},
		{"an unknown op", userType, ops("merge", "displayName", `"x"`), typeInvalidSyntax},
		{"no object without a path", userType, ops("replace", "", `"x"`), typeInvalidValue},
		{"the groups of a user", userType, ops("add", "groups", `[{"value":"g"}]`), typeMutability},
		{"a group of a user by filter", userType, ops("remove", `groups[value eq "g"]`, ``), typeMutability},
		{"another id", userType, ops("replace", "id", `"u2"`), typeMutability},
		{"another id without a path", groupType, ops("replace", "", `{"id":"g2"}`), typeMutability},
		{"a path that does not parse", userType, ops("replace", `emails[type eq "work"`, `"x"`), typeInvalidPath},
		{"a filter on a single value", userType, ops("replace", `userName[value eq "x"]`, `"x"`), typeInvalidPath},
		{"a filter that matches nothing and describes nothing", userType, ops("replace", `emails[value co "zz"].type`, `"home"`), typeNoTarget},
		{"a filter on an unknown sub-attribute", userType, ops("remove", `emails[foo eq "x"]`, ``), typeInvalidFilter},
		{"a value that is not JSON", userType, ops("replace", "displayName", `{`), typeInvalidSyntax},
		{"a complex attribute set to a string", userType, ops("replace", "name", `"x"`), typeInvalidValue},
		{"a multi-valued attribute set to a string", groupType, ops("add", "members", `"u9"`), typeInvalidValue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := userRep()
			if tc.t.Name == "Group" {
				res = groupRep()
			}
			p := patcher{t: tc.t, res: res}
			err := p.apply(tc.ops)
			var pr *problem
			if !errors.As(err, &pr) || pr.status != 400 || pr.scimType != tc.scimType {
				t.Errorf("apply: %v, want a 400 %s problem", err, tc.scimType)
			}
		})
	}
}

func TestDecodePatch(t *testing.T) {
	for _, tc := range []struct {
		body     string
		scimType string
	}{
		{`{"schemas":["` + PatchSchema + `"],"Operations":[{"op":"add","path":"displayName","value":"x"}]}`, ""},
		{`{"Operations":[{"op":"add","path":"displayName","value":"x"}]}`, ""}, // schemas left out, as some providers do
		{`{"schemas":["` + PatchSchema + `"],"operations":[{"op":"add","path":"displayName","value":"x"}]}`, ""},
		{`{"schemas":["urn:nope"],"Operations":[{"op":"add"}]}`, typeInvalidSyntax},
		{`{"schemas":["` + PatchSchema + `"],"Operations":[]}`, typeInvalidSyntax},
		{`[]`, typeInvalidSyntax},
	} {
		_, err := decodePatch([]byte(tc.body))
		var pr *problem
		switch {
		case tc.scimType == "" && err != nil:
			t.Errorf("decodePatch(%s): %v", tc.body, err)
		case tc.scimType != "" && (!errors.As(err, &pr) || pr.scimType != tc.scimType):
			t.Errorf("decodePatch(%s): %v, want %s", tc.body, err, tc.scimType)
		}
	}
}
