package scim

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

// An answer's members (memberRef structs) encode exactly as groupObject's
// member maps, which PATCH works on: one representation of a group.
func TestGroupResourceMembersEncodeAsMaps(t *testing.T) {
	r := httptest.NewRequest("GET", "https://acme.example.com/scim/v2/Groups", nil)
	for _, members := range [][]string{nil, {"0b6f4c1e-6a43-4c55-9d7a-2f1e9f0a6b11"}, {"u1", "u2", "ü<3>&"}} {
		g := store.Group{ID: "g1", Name: "Sales Team", Members: members}
		got, err := json.Marshal(groupResource(r, g)["members"])
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(groupObject(base(r), g)["members"])
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("members %q encode as\n%s\nwant\n%s", members, got, want)
		}
	}
}
