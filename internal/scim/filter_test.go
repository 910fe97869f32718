package scim

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/internal/store"
)

func eqc(f store.Field, v any) store.Cond { return store.Cond{Op: store.OpEq, Field: f, Value: v} }

func TestParseFilter(t *testing.T) {
	at := time.Date(2011, 5, 13, 4, 42, 34, 0, time.UTC)
	work := eqc(store.FieldEmailType, "work")
	for _, tc := range []struct {
		attrs  filterAttrs
		filter string
		want   store.Cond
	}{
		// What Okta and Microsoft Entra send.
		{userFilter, `userName eq "test.user@okta.local"`, eqc(store.FieldUserEmail, "test.user@okta.local")},
		{userFilter, `userName eq "non-existent user"`, eqc(store.FieldUserEmail, "non-existent user")},
		{userFilter, `externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"`, eqc(store.FieldUserExternalID, "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef")},
		{groupFilter, `displayName eq "Sales Team"`, eqc(store.FieldGroupName, "Sales Team")},
		{groupFilter, `members[value eq "2819c223"]`, store.Cond{Op: store.OpAny, Field: store.FieldGroupMembers,
			Of: []store.Cond{eqc(store.FieldMemberValue, "2819c223")}}},
		// Names and operators in any case, the schema's URN first.
		{userFilter, `USERNAME EQ "x"`, eqc(store.FieldUserEmail, "x")},
		{userFilter, UserSchema + `:userName eq "x"`, eqc(store.FieldUserEmail, "x")},
		{userFilter, `  userName eq "x"  `, eqc(store.FieldUserEmail, "x")},
		// Every operator and kind of value.
		{userFilter, `displayName sw "Ann"`, store.Cond{Op: store.OpSw, Field: store.FieldUserName, Value: "Ann"}},
		{userFilter, `name.familyName co "O'Malley"`, store.Cond{Op: store.OpCo, Field: store.FieldUserFamilyName, Value: "O'Malley"}},
		{userFilter, `name.givenName ew "a"`, store.Cond{Op: store.OpEw, Field: store.FieldUserGivenName, Value: "a"}},
		{userFilter, `userName ne "a"`, store.Cond{Op: store.OpNe, Field: store.FieldUserEmail, Value: "a"}},
		{userFilter, `externalId pr`, store.Cond{Op: store.OpPr, Field: store.FieldUserExternalID}},
		{userFilter, `active eq true`, eqc(store.FieldUserDisabled, false)},
		{userFilter, `active ne "False"`, store.Cond{Op: store.OpNe, Field: store.FieldUserDisabled, Value: true}},
		{userFilter, `meta.lastModified gt "2011-05-13T04:42:34Z"`, store.Cond{Op: store.OpGt, Field: store.FieldUserUpdated, Value: at}},
		{userFilter, `meta.created le "2011-05-13T04:42:34Z"`, store.Cond{Op: store.OpLe, Field: store.FieldUserCreated, Value: at}},
		{userFilter, `externalId eq null`, store.Cond{Op: store.OpNot, Of: []store.Cond{{Op: store.OpPr, Field: store.FieldUserExternalID}}}},
		{userFilter, `userName eq "a\"b\\c"`, eqc(store.FieldUserEmail, `a"b\c`)},
		{userFilter, `userName eq "Éloïse"`, eqc(store.FieldUserEmail, "Éloïse")},
		// Multi-valued attributes: a value path, a sub-attribute, the
		// attribute itself.
		{userFilter, `emails[type eq "work" and value co "@example.com"]`, store.Cond{Op: store.OpAny, Field: store.FieldUserEmails,
			Of: []store.Cond{{Op: store.OpAnd, Of: []store.Cond{work, {Op: store.OpCo, Field: store.FieldEmailValue, Value: "@example.com"}}}}}},
		{userFilter, `emails.value eq "a@b.c"`, store.Cond{Op: store.OpAny, Field: store.FieldUserEmails, Of: []store.Cond{eqc(store.FieldEmailValue, "a@b.c")}}},
		{userFilter, `emails eq "a@b.c"`, store.Cond{Op: store.OpAny, Field: store.FieldUserEmails, Of: []store.Cond{eqc(store.FieldEmailValue, "a@b.c")}}},
		{userFilter, `emails[primary eq true]`, store.Cond{Op: store.OpAny, Field: store.FieldUserEmails, Of: []store.Cond{eqc(store.FieldEmailPrimary, true)}}},
		{groupFilter, `members eq "u1"`, store.Cond{Op: store.OpAny, Field: store.FieldGroupMembers, Of: []store.Cond{eqc(store.FieldMemberValue, "u1")}}},
		// Logic: and binds tighter than or; not; parentheses.
		{userFilter, `userName eq "a" or userName eq "b" and active eq false`, store.Cond{Op: store.OpOr, Of: []store.Cond{
			eqc(store.FieldUserEmail, "a"), {Op: store.OpAnd, Of: []store.Cond{eqc(store.FieldUserEmail, "b"), eqc(store.FieldUserDisabled, true)}}}}},
		{userFilter, `(userName eq "a" or userName eq "b") and not (active eq false)`, store.Cond{Op: store.OpAnd, Of: []store.Cond{
			{Op: store.OpOr, Of: []store.Cond{eqc(store.FieldUserEmail, "a"), eqc(store.FieldUserEmail, "b")}},
			{Op: store.OpNot, Of: []store.Cond{eqc(store.FieldUserDisabled, true)}}}}},
	} {
		t.Run(tc.filter, func(t *testing.T) {
			got, err := parseFilter(tc.attrs, tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestParseFilterErrors(t *testing.T) {
	for _, tc := range []struct {
		attrs  filterAttrs
		filter string
	}{
		{userFilter, `blubb`},
		{userFilter, `userName`},
		{userFilter, `userName eq`},
		{userFilter, `userName eq "unterminated`},
		{userFilter, `userName like "x"`},
		{userFilter, `title eq "x"`},
		{userFilter, `name eq "x"`},
		{userFilter, `groups.value eq "x"`},
		{userFilter, `members eq "x"`},
		{userFilter, EnterpriseSchema + `:employeeNumber eq "1"`},
		{userFilter, `userName eq 1`},
		{userFilter, `userName eq true`},
		{userFilter, `active eq "maybe"`},
		{userFilter, `active gt true`},
		{userFilter, `active co "t"`},
		{userFilter, `meta.created eq "yesterday"`},
		{userFilter, `meta.created sw "2011"`},
		{userFilter, `userName gt null`},
		{userFilter, `emails[value eq "x"].type eq "work"`},
		{userFilter, `emails[foo eq "x"]`},
		{userFilter, `emails.foo eq "x"`},
		{userFilter, `userName[value eq "x"]`},
		{userFilter, `userName eq "\u00e9"`},
		{userFilter, "userName eq \"a\tb\""},
		{userFilter, `userName eq "` + strings.Repeat("a", maxFilter) + `"`},
		{userFilter, strings.Repeat("not (", 40) + `userName eq "a"` + strings.Repeat(")", 40)},
		{userFilter, "userName eq \"\xff\""},
		{groupFilter, `userName eq "x"`},
		{groupFilter, `members[display eq "x"]`},
	} {
		t.Run(tc.filter, func(t *testing.T) {
			_, err := parseFilter(tc.attrs, tc.filter)
			var p *problem
			if !errors.As(err, &p) || p.status != 400 || p.scimType != typeInvalidFilter {
				t.Errorf("parseFilter(%q) = %v, want a 400 invalidFilter problem", tc.filter, err)
			}
		})
	}
}
