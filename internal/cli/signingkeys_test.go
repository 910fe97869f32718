package cli_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestSigningKeys(t *testing.T) {
	d := newDataDir(t)
	d.ok(t, "", "admin", "team", "create", "acme")

	var keys []map[string]any
	json.Unmarshal([]byte(d.ok(t, "", "admin", "signing-keys", "list", "--team", "acme", "--json")), &keys)
	if len(keys) != 0 {
		t.Fatalf("a new team has keys: %v", keys)
	}

	// The first key of a team signs at once.
	var first map[string]any
	json.Unmarshal([]byte(d.ok(t, "", "admin", "signing-keys", "rotate", "--team", "acme", "--json")), &first)
	if first["alg"] != "ES384" || first["kid"] == "" || first["can_sign"] != true || first["activate_at"] != first["created_at"] {
		t.Fatalf("first key %v", first)
	}
	// A rotation publishes the next one an hour before it signs.
	var next map[string]any
	json.Unmarshal([]byte(d.ok(t, "", "admin", "signing-keys", "rotate", "--team", "acme", "--json")), &next)
	created, _ := time.Parse(time.RFC3339Nano, next["created_at"].(string))
	activate, _ := time.Parse(time.RFC3339Nano, next["activate_at"].(string))
	if got := activate.Sub(created); got != time.Hour {
		t.Fatalf("next key signs %v after it is published, want 1h", got)
	}
	json.Unmarshal([]byte(d.ok(t, "", "admin", "signing-keys", "list", "--team", "acme", "--json")), &keys)
	if len(keys) != 2 {
		t.Fatalf("keys after two rotations: %v", keys)
	}
	for _, k := range keys {
		if k["kid"] == first["kid"] && (k["retired_at"] == nil || k["delete_after"] == nil) {
			t.Errorf("the first key is not scheduled to retire: %v", k)
		}
		for f := range k {
			if strings.Contains(f, "priv") || f == "d" {
				t.Errorf("private field %q listed", f)
			}
		}
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"admin", "signing-keys", "rotate", "--team", "nope"}, "not found"},
		{[]string{"admin", "signing-keys", "rotate", "--team", "acme", "--alg", "HS256"}, "unsupported signing algorithm"},
		{[]string{"admin", "signing-keys", "list"}, "team"},
	} {
		r := d.run(t, "", tc.args...)
		if r.code == 0 || !strings.HasPrefix(r.stderr, "gatehouse: ") || !strings.Contains(r.stderr, tc.want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("gatehouse %v: exit %d stderr %q, want one line naming %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}
