package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/scim"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// dialects runs fn on a server on SQLite and on one on PostgreSQL.
func dialects(t *testing.T, fn func(t *testing.T, e *scimEnv)) {
	for _, d := range []struct {
		name string
		opts []servertest.Option
	}{{"sqlite", nil}, {"postgres", []servertest.Option{servertest.WithPostgres()}}} {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			fn(t, startSCIM(t, append(d.opts, servertest.WithWallClock())...))
		})
	}
}

// Okta's SCIM 2.0 spec test, step by step (Okta's "SCIM 2.0 Test" of its
// provisioning integration docs), with Okta's own recorded requests where
// elimity-com/scim's test data has them: the configuration endpoints, a
// page of one user, a filter on an unknown user (totalResults 0), an
// unknown id (404 with the Error schema), a creation (201) and the same
// again (409 uniqueness), a filter that is a bare word (400), the user
// found by userName, deactivation by a PATCH without a path, a PUT of the
// user, and the Groups: created, renamed without a path, members removed
// by a filter, added and replaced.
func TestSCIMOktaSpecSequence(t *testing.T) {
	dialects(t, func(t *testing.T, e *scimEnv) {
		// Configuration endpoints.
		cfg := e.call(t, "GET", "/ServiceProviderConfig", nil)
		cfg.want(t, "ServiceProviderConfig", 200)
		for path, want := range map[string]any{"patch.supported": true, "filter.supported": true, "bulk.supported": false,
			"etag.supported": true, "sort.supported": true, "changePassword.supported": false} {
			if got := dig(cfg.body, path); got != want {
				t.Errorf("ServiceProviderConfig %s = %v, want %v", path, got, want)
			}
		}
		if schemes, _ := cfg.body["authenticationSchemes"].([]any); len(schemes) != 1 || dig(schemes[0], "type") != "oauthbearertoken" {
			t.Errorf("authenticationSchemes %v", cfg.body["authenticationSchemes"])
		}
		rt := e.call(t, "GET", "/ResourceTypes", nil)
		rt.want(t, "ResourceTypes", 200)
		if rt.total() != 2 || rt.resources()[0]["endpoint"] != "/Users" || rt.resources()[1]["endpoint"] != "/Groups" {
			t.Errorf("ResourceTypes %s", rt)
		}
		schemas := e.call(t, "GET", "/Schemas", nil)
		schemas.want(t, "Schemas", 200)
		if schemas.total() != 2 || schemas.resources()[0]["id"] != scim.UserSchema || schemas.resources()[1]["id"] != scim.GroupSchema {
			t.Errorf("Schemas %s", schemas)
		}
		e.call(t, "GET", "/Schemas/"+scim.UserSchema, nil).want(t, "Schemas/User", 200)
		e.call(t, "GET", "/ResourceTypes/Group", nil).want(t, "ResourceTypes/Group", 200)
		e.call(t, "GET", "/Schemas/urn:nope", nil).want(t, "Schemas/unknown", 404)

		// GET /Users?count=1&startIndex=1.
		e.h.User(t, "acme", admin.NewUser{Email: "existing@example.com"})
		page := e.call(t, "GET", "/Users?count=1&startIndex=1", nil)
		page.want(t, "GET /Users?count=1&startIndex=1", 200)
		if s, _ := page.body["schemas"].([]any); len(s) != 1 || s[0] != scim.ListSchema {
			t.Errorf("list schemas %v", page.body["schemas"])
		}
		if len(page.resources()) != 1 || page.total() < 1 || dig(page.body, "itemsPerPage") != 1.0 || dig(page.body, "startIndex") != 1.0 {
			t.Errorf("a page of one: %s", page)
		}

		// Okta's "user exists?" check, for a user who does not.
		userName := "test.user." + uuid.NewString()[:8] + "@okta.local"
		exists := providerFixture(t, "okta", "user_exists")
		q := strings.Replace(exists.Path, url.QueryEscape("test.user@okta.local"), url.QueryEscape(userName), 1)
		none := e.call(t, exists.Method, q, nil)
		none.want(t, "filter on an unknown user", 200)
		if none.total() != 0 || len(none.resources()) != 0 {
			t.Errorf("filter on an unknown user: %s, want totalResults 0", none)
		}

		// An unknown id.
		e.call(t, "GET", "/Users/"+uuid.NewString(), nil).want(t, "GET of an unknown id", 404)

		// Create (Okta's recorded request, a fresh userName).
		create := providerFixture(t, "okta", "create_user")
		body := create.request(t)
		body["userName"] = userName
		body["emails"].([]any)[0].(map[string]any)["value"] = userName
		created := e.call(t, create.Method, create.Path, body)
		created.want(t, "create", 201)
		id := created.str("id")
		if loc := created.header.Get("Location"); loc != servertest.URL("acme", scim.Prefix+"/Users/"+id) || created.str("meta.location") != loc {
			t.Errorf("Location %q, meta.location %q", loc, created.str("meta.location"))
		}
		if created.str("userName") != userName || dig(created.body, "active") != true || created.str("externalId") != "00ujl29u0le5T6Aj10h7" ||
			created.str("name.givenName") != "Test" || created.str("displayName") != "Test User" || created.str("meta.version") == "" ||
			created.header.Get("ETag") != created.str("meta.version") || created.str("meta.resourceType") != "User" {
			t.Errorf("created %s", created)
		}
		if _, ok := created.body["password"]; ok {
			t.Error("the answer shows a password")
		}
		u, err := e.h.DB.User(context.Background(), "acme", id)
		if err != nil || u.PasswordHash != "" {
			t.Errorf("the provisioned user has password hash %q (%v), want none", u.PasswordHash, err)
		}

		// The same again.
		e.call(t, create.Method, create.Path, body).want(t, "create the same user again", 409, "uniqueness")

		// Found by userName, in any case.
		found := e.call(t, "GET", "/Users?filter="+url.QueryEscape(`userName eq "`+strings.ToUpper(userName)+`"`)+"&startIndex=1&count=100", nil)
		found.want(t, "filter by userName", 200)
		if found.total() != 1 || found.resources()[0]["id"] != id {
			t.Errorf("filter by userName: %s", found)
		}
		e.call(t, "GET", "/Users/"+id, nil).want(t, "GET the user", 200)

		// A bare word is no filter.
		e.call(t, "GET", "/Users?filter=blubb", nil).want(t, "bare-word filter", 400, "invalidFilter")

		// Deactivate by a PATCH without a path.
		patch := providerFixture(t, "okta", "update_user_patch")
		off := e.call(t, patch.Method, "/Users/"+id, patch.request(t))
		off.want(t, "deactivate", 200)
		if dig(off.body, "active") != false {
			t.Errorf("after deactivation: %s", off)
		}
		if u, _ := e.h.DB.User(context.Background(), "acme", id); !u.Disabled {
			t.Error("the user is not disabled")
		}

		// Okta's PUT: a new name, active again.
		put := providerFixture(t, "okta", "update_user")
		pbody := put.request(t)
		pbody["id"], pbody["userName"] = id, userName
		pbody["emails"].([]any)[0].(map[string]any)["value"] = userName
		replaced := e.call(t, put.Method, "/Users/"+id, pbody)
		replaced.want(t, "PUT", 200)
		if replaced.str("name.givenName") != "Another" || dig(replaced.body, "active") != true || replaced.str("externalId") != "" {
			t.Errorf("after PUT: %s", replaced)
		}

		// Groups.
		groups := e.call(t, "GET", "/Groups", nil)
		groups.want(t, "GET /Groups", 200)
		cg := providerFixture(t, "okta", "create_group")
		g := e.call(t, cg.Method, cg.Path, cg.request(t))
		g.want(t, "create group", 201)
		gid := g.str("id")
		if g.str("displayName") != "Test SCIMv2" || len(dig(g.body, "members").([]any)) != 0 {
			t.Errorf("created group %s", g)
		}
		rename := providerFixture(t, "okta", "update_group_name")
		rb := rename.request(t)
		op := rb["Operations"].([]any)[0].(map[string]any)
		op["value"].(map[string]any)["id"] = gid
		op["value"].(map[string]any)["displayName"] = "Test SCIMv20"
		renamed := e.call(t, rename.Method, "/Groups/"+gid, rb)
		renamed.want(t, "rename group", 200)
		if renamed.str("displayName") != "Test SCIMv20" || renamed.str("id") != gid {
			t.Errorf("renamed %s", renamed)
		}
		other := e.h.User(t, "acme", admin.NewUser{Email: "other@okta.local"})
		e.h.DB.AddGroupMember(context.Background(), "acme", "Test SCIMv20", other.ID)
		members := providerFixture(t, "okta", "update_group_membership")
		mb := members.request(t)
		ops := mb["Operations"].([]any)
		ops[0].(map[string]any)["path"] = `members[value eq "` + other.ID + `"]`
		ops[1].(map[string]any)["value"].([]any)[0].(map[string]any)["value"] = id
		repl := ops[2].(map[string]any)["value"].([]any)
		repl[0].(map[string]any)["value"], repl[1].(map[string]any)["value"] = id, other.ID
		changed := e.call(t, members.Method, "/Groups/"+gid, mb)
		changed.want(t, "change members", 200)
		want := []string{id, other.ID}
		slices.Sort(want)
		if got := memberIDs(changed.body); !slices.Equal(got, want) {
			t.Errorf("members %v, want %v", got, want)
		}
		list := e.call(t, "GET", "/Groups?filter="+url.QueryEscape(`displayName eq "test scimv20"`), nil)
		if list.total() != 1 || list.resources()[0]["id"] != gid {
			t.Errorf("group by displayName: %s", list)
		}
		// The user shows its group.
		if ug := e.call(t, "GET", "/Users/"+id, nil); dig(ug.body, "groups") == nil || len(ug.body["groups"].([]any)) != 1 ||
			dig(ug.body["groups"].([]any)[0], "value") != gid {
			t.Errorf("the user's groups: %s", ug)
		}

		// Every change was audited with the provisioning client as the actor.
		actors := e.auditActors(t)
		for _, action := range []string{"user.create", "user.update", "group.create", "group.update", "group.member.add"} {
			if !slices.Contains(actors[action], "client:"+e.client.ID) {
				t.Errorf("audit %s: actor %q, want client:%s", action, actors[action], e.client.ID)
			}
		}
	})
}

// memberIDs lists the values of a Group's members, sorted.
func memberIDs(g map[string]any) []string {
	var out []string
	ms, _ := g["members"].([]any)
	for _, m := range ms {
		out = append(out, dig(m, "value").(string))
	}
	slices.Sort(out)
	return out
}

// Microsoft Entra's provisioning requests, as recorded in elimity-com/scim's
// test data and as Entra's documentation shows them: a user whose userName
// is no email is refused (Gatehouse's userName is the sign-in address) and
// taken with its work address; lookups by filter; a PATCH of capitalized
// operations that replaces emails[type eq "work"].value, name.familyName,
// userName and active; "False" as a string; groups created with an
// externalId, found by displayName with excludedAttributes=members,
// renamed, and their members added and removed by a list of values and
// by members[value eq "..."].
func TestSCIMEntraRequests(t *testing.T) {
	dialects(t, func(t *testing.T, e *scimEnv) {
		create := providerFixture(t, "azuread", "create_user")
		body := create.request(t)
		e.call(t, create.Method, create.Path, body).want(t, "a userName that is no email", 400, "invalidValue")
		work := body["emails"].([]any)[0].(map[string]any)["value"].(string)
		body["userName"] = work
		u := e.call(t, create.Method, create.Path, body)
		u.want(t, "create with the work address as userName", 201)
		id := u.str("id")
		if u.str("externalId") != "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef" || u.str("name.familyName") != "familyName" ||
			u.str("userName") != strings.ToLower(work) {
			t.Errorf("created %s", u)
		}

		q0 := providerFixture(t, "azuread", "get_user_query_0")
		if a := e.call(t, q0.Method, q0.Path, nil); a.status != 200 || a.total() != 0 {
			t.Errorf("filter on a non-existent user: %s", a)
		}
		byName := e.call(t, "GET", "/Users?filter="+url.QueryEscape(`userName eq "`+work+`"`), nil)
		if byName.total() != 1 || byName.resources()[0]["id"] != id {
			t.Errorf("filter by userName: %s", byName)
		}
		byExt := e.call(t, "GET", "/Users?filter="+url.QueryEscape(`externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"`), nil)
		if byExt.total() != 1 {
			t.Errorf("filter by externalId: %s", byExt)
		}

		upd := providerFixture(t, "azuread", "update_user")
		ub := upd.request(t)
		newName := "updated." + uuid.NewString()[:8] + "@testuser.com"
		ub["Operations"].([]any)[2].(map[string]any)["value"] = newName
		after := e.call(t, upd.Method, "/Users/"+id, ub)
		after.want(t, "Entra's PATCH", 200)
		var workEmail string
		for _, em := range after.body["emails"].([]any) {
			if dig(em, "type") == "work" {
				workEmail, _ = dig(em, "value").(string)
			}
		}
		if after.str("userName") != newName || after.str("name.familyName") != "updatedFamilyName" || dig(after.body, "active") != false ||
			workEmail != "updatedEmail@microsoft.com" {
			t.Errorf("after Entra's PATCH: %s", after)
		}
		// Active again, "True" as a string; a path of the core schema's URN.
		on := e.call(t, "PATCH", "/Users/"+id, map[string]any{"schemas": []string{scim.PatchSchema}, "Operations": []any{
			map[string]any{"op": "Replace", "path": "active", "value": "True"},
			map[string]any{"op": "Add", "path": scim.UserSchema + ":displayName", "value": "Updated Name"},
			map[string]any{"op": "Add", "path": `emails[type eq "home"].value`, "value": "home@example.com"},
			map[string]any{"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Sales"},
			map[string]any{"op": "Add", "path": "title", "value": "Engineer"},
		}})
		on.want(t, "PATCH with strings for booleans", 200)
		if dig(on.body, "active") != true || on.str("displayName") != "Updated Name" || len(on.body["emails"].([]any)) != 2 {
			t.Errorf("after the second PATCH: %s", on)
		}
		off := e.call(t, "PATCH", "/Users/"+id, map[string]any{"schemas": []string{scim.PatchSchema}, "Operations": []any{
			map[string]any{"op": "Replace", "value": map[string]any{"active": "False"}}}})
		if dig(off.body, "active") != false {
			t.Errorf("active \"False\" without a path: %s", off)
		}

		// Groups.
		cg := providerFixture(t, "azuread", "create_group")
		gb := cg.request(t)
		gb["displayName"] = "Ventes – Europe"
		g := e.call(t, cg.Method, cg.Path, gb)
		g.want(t, "create group", 201)
		gid := g.str("id")
		if g.str("externalId") != "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159" || g.str("displayName") != "Ventes – Europe" {
			t.Errorf("created group %s", g)
		}
		dn := e.call(t, "GET", "/Groups?excludedAttributes=members&filter="+url.QueryEscape(`displayName eq "Ventes – Europe"`), nil)
		dn.want(t, "group by displayName", 200)
		if dn.total() != 1 || dn.resources()[0]["id"] != gid || dn.resources()[0]["members"] != nil {
			t.Errorf("group by displayName without members: %s", dn)
		}
		ug := providerFixture(t, "azuread", "update_group")
		gbody := ug.request(t)
		ops := gbody["Operations"].([]any)
		ops[0].(map[string]any)["value"] = "Sales Team"
		ops[1].(map[string]any)["value"].([]any)[0].(map[string]any)["value"] = id
		// The recording adds and removes the same member; keep the add of
		// a second user so that the removal by a list of values shows.
		second := e.call(t, "POST", "/Users", map[string]any{"schemas": []string{scim.UserSchema}, "userName": "second@example.com"})
		second.want(t, "create a second user", 201)
		sid := second.str("id")
		ops[1].(map[string]any)["value"] = append(ops[1].(map[string]any)["value"].([]any), map[string]any{"value": sid})
		ops[2].(map[string]any)["value"].([]any)[0].(map[string]any)["value"] = sid
		changed := e.call(t, ug.Method, "/Groups/"+gid, gbody)
		changed.want(t, "Entra's group PATCH", 200)
		if changed.str("displayName") != "Sales Team" || !slices.Equal(memberIDs(changed.body), []string{id}) {
			t.Errorf("after Entra's group PATCH: %s", changed)
		}
		// Removal by a filter on the value.
		rm := e.call(t, "PATCH", "/Groups/"+gid, map[string]any{"schemas": []string{scim.PatchSchema}, "Operations": []any{
			map[string]any{"op": "Remove", "path": `members[value eq "` + id + `"]`}}})
		rm.want(t, "remove a member by a filter", 200)
		if len(memberIDs(rm.body)) != 0 {
			t.Errorf("after removing the member: %s", rm)
		}
		// The group: principal takes the name a provider gave.
		if _, err := e.h.Admin.Grant(context.Background(), kernel.CLI, store.Permission{Team: "acme", Principal: "group:Sales Team",
			Action: "read", Resource: "audit-log"}); err != nil {
			t.Fatal(err)
		}
		e.call(t, "PATCH", "/Groups/"+gid, map[string]any{"schemas": []string{scim.PatchSchema}, "Operations": []any{
			map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": sid}}}}}).want(t, "add", 403)
		held, err := authz.HeldIn(context.Background(), e.h.DB, "acme", "user:second@example.com")
		if err != nil || len(held.Grants) != 0 {
			t.Errorf("second holds %+v (%v) after a refused add", held, err)
		}
		e.call(t, "DELETE", "/Groups/"+gid, nil).want(t, "delete group", 204)
		e.call(t, "GET", "/Groups/"+gid, nil).want(t, "deleted group", 404)
	})
}

// What the protocol answers when a request is wrong, and versions: RFC
// 6750's refusals in SCIM's error format with WWW-Authenticate, filters
// that cannot be served, read-only attributes, targets that are not
// there, bodies that are not JSON, names taken, If-Match and
// If-None-Match.
func TestSCIMErrorsAndVersions(t *testing.T) {
	t.Parallel()
	e := startSCIM(t, servertest.WithWallClock())
	ctx := context.Background()

	// Credentials.
	a := e.callAs(t, "", "GET", "/Users", nil)
	a.want(t, "no credential", 401)
	if !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Bearer realm=") {
		t.Errorf("WWW-Authenticate %q", a.header.Get("WWW-Authenticate"))
	}
	bad := e.callAs(t, "Bearer eyJhbGciOiJFUzM4NCJ9.e30.c2ln", "GET", "/Users", nil)
	bad.want(t, "bad token", 401)
	if !strings.Contains(bad.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("WWW-Authenticate %q", bad.header.Get("WWW-Authenticate"))
	}
	c, sec := e.h.Client(t, "acme", client.NewClient{Name: "reader", Scopes: []string{"audit.log:read", scim.Scope}})
	noScope := e.callAs(t, "Bearer "+e.h.Token(t, "acme", c.ID, sec, "audit.log:read"), "GET", "/Users", nil)
	noScope.want(t, "a token without the scope", 403)
	if !strings.Contains(noScope.header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
		t.Errorf("WWW-Authenticate %q", noScope.header.Get("WWW-Authenticate"))
	}
	e.callAs(t, "Bearer "+e.h.Token(t, "acme", c.ID, sec, scim.Scope), "GET", "/Users", nil).want(t, "the scope without the permission", 403)
	// The discovery endpoints need no credential.
	e.callAs(t, "", "GET", "/ServiceProviderConfig", nil).want(t, "ServiceProviderConfig without a credential", 200)

	u := e.call(t, "POST", "/Users", map[string]any{"schemas": []string{scim.UserSchema}, "userName": "ada@example.com",
		"name": map[string]any{"givenName": "Ada"}, "emails": []any{map[string]any{"value": "ada@example.com", "type": "work", "primary": true}}})
	u.want(t, "create", 201)
	id, version := u.str("id"), u.header.Get("ETag")
	e.call(t, "POST", "/Users", map[string]any{"userName": "bob@example.com"}).want(t, "create bob", 201)

	for _, tc := range []struct {
		name, method, path string
		body               any
		status             int
		scimType           string
	}{
		{"filter on an attribute not kept", "GET", "/Users?filter=" + url.QueryEscape(`title eq "x"`), nil, 400, "invalidFilter"},
		{"filter of another schema", "GET", "/Users?filter=" + url.QueryEscape(scim.EnterpriseSchema+`:department eq "x"`), nil, 400, "invalidFilter"},
		{"filter with a bad operator", "GET", "/Users?filter=" + url.QueryEscape(`userName like "x"`), nil, 400, "invalidFilter"},
		{"filter comparing a boolean with gt", "GET", "/Users?filter=" + url.QueryEscape(`active gt true`), nil, 400, "invalidFilter"},
		{"filter with a bad time", "GET", "/Users?filter=" + url.QueryEscape(`meta.lastModified gt "yesterday"`), nil, 400, "invalidFilter"},
		{"group filter on a user attribute", "GET", "/Groups?filter=" + url.QueryEscape(`userName eq "x"`), nil, 400, "invalidFilter"},
		{"sortBy an attribute that cannot be sorted", "GET", "/Users?sortBy=title", nil, 400, "invalidValue"},
		{"count not a number", "GET", "/Users?count=ten", nil, 400, "invalidValue"},
		{"body not JSON", "POST", "/Users", "{nope", 400, "invalidSyntax"},
		{"no userName", "POST", "/Users", map[string]any{"displayName": "x"}, 400, "invalidValue"},
		{"userName of the wrong type", "POST", "/Users", map[string]any{"userName": 5}, 400, "invalidValue"},
		{"active of the wrong type", "POST", "/Users", map[string]any{"userName": "x@example.com", "active": "maybe"}, 400, "invalidValue"},
		{"PUT with a taken userName", "PUT", "/Users/" + id, map[string]any{"userName": "bob@example.com"}, 409, "uniqueness"},
		{"PUT with another id", "PUT", "/Users/" + id, map[string]any{"id": uuid.NewString(), "userName": "ada@example.com"}, 400, "mutability"},
		{"PATCH of the groups", "PATCH", "/Users/" + id, patchOf("add", "groups", []any{map[string]any{"value": "x"}}), 400, "mutability"},
		{"PATCH of the id", "PATCH", "/Users/" + id, patchOf("replace", "id", "other"), 400, "mutability"},
		{"PATCH remove without a path", "PATCH", "/Users/" + id, patchOf("remove", "", nil), 400, "noTarget"},
		{"PATCH replace through a filter that matches nothing", "PATCH", "/Users/" + id, patchOf("replace", `emails[value co "nowhere"].type`, "work"), 400, "noTarget"},
		{"PATCH with a bad path", "PATCH", "/Users/" + id, patchOf("replace", `emails[type eq`, "x"), 400, "invalidPath"},
		{"PATCH with a bad op", "PATCH", "/Users/" + id, patchOf("merge", "displayName", "x"), 400, "invalidSyntax"},
		{"PATCH without operations", "PATCH", "/Users/" + id, map[string]any{"schemas": []string{scim.PatchSchema}}, 400, "invalidSyntax"},
		{"PATCH removing the userName", "PATCH", "/Users/" + id, patchOf("remove", "userName", nil), 400, "invalidValue"},
		{"PATCH of two primary emails", "PATCH", "/Users/" + id, patchOf("add", "emails", []any{map[string]any{"value": "b@example.com", "primary": true}}), 400, "invalidValue"},
		{"PATCH of an unknown user", "PATCH", "/Users/" + uuid.NewString(), patchOf("replace", "displayName", "x"), 404, ""},
		{"DELETE of an unknown user", "DELETE", "/Users/" + uuid.NewString(), nil, 404, ""},
		{"a group of no user", "POST", "/Groups", map[string]any{"displayName": "g", "members": []any{map[string]any{"value": uuid.NewString()}}}, 400, "invalidValue"},
		{"a group with a control character", "POST", "/Groups", map[string]any{"displayName": "a\tb"}, 400, "invalidValue"},
		{"Bulk", "POST", "/Bulk", map[string]any{}, 404, ""},
		{"a method a resource does not take", "POST", "/Users/" + id, map[string]any{}, 405, ""},
		{"stale If-Match", "PATCH", "/Users/" + id, patchOf("replace", "displayName", "x"), 412, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var headers []string
			if tc.status == 412 {
				headers = []string{"If-Match", `W/"stale"`}
			}
			e.call(t, tc.method, tc.path, tc.body, headers...).want(t, tc.name, tc.status, tc.scimType)
		})
	}
	if got, err := e.h.DB.User(ctx, "acme", id); err != nil || got.Name != "ada@example.com" || got.GivenName != "Ada" {
		t.Errorf("ada after refused changes: %+v, %v", got, err)
	}

	// Versions.
	if nm := e.call(t, "GET", "/Users/"+id, nil, "If-None-Match", version); nm.status != http.StatusNotModified {
		t.Errorf("If-None-Match with the current version: %d", nm.status)
	}
	ok := e.call(t, "PATCH", "/Users/"+id, patchOf("replace", "displayName", "Ada L."), "If-Match", version)
	ok.want(t, "If-Match with the current version", 200)
	if ok.header.Get("ETag") == version || ok.str("meta.version") != ok.header.Get("ETag") {
		t.Errorf("version after a change: ETag %q (was %q), meta.version %q", ok.header.Get("ETag"), version, ok.str("meta.version"))
	}
	e.call(t, "DELETE", "/Users/"+id, nil, "If-Match", version).want(t, "DELETE with a stale If-Match", 412)
	e.call(t, "DELETE", "/Users/"+id, nil, "If-Match", ok.header.Get("ETag")).want(t, "DELETE with the current If-Match", 204)

	// Paging and sorting.
	for i := range 5 {
		e.call(t, "POST", "/Users", map[string]any{"userName": fmt.Sprintf("page%d@example.com", i), "displayName": fmt.Sprintf("Page %d", 4-i)}).
			want(t, "create", 201)
	}
	p := e.call(t, "GET", "/Users?filter="+url.QueryEscape(`userName sw "page"`)+"&sortBy=displayName&sortOrder=descending&startIndex=2&count=2&attributes=userName", nil)
	p.want(t, "a sorted page", 200)
	if p.total() != 5 || len(p.resources()) != 2 || p.resources()[0]["userName"] != "page1@example.com" || p.resources()[1]["userName"] != "page2@example.com" ||
		p.resources()[0]["displayName"] != nil || p.resources()[0]["id"] == nil {
		t.Errorf("page 2 of 2, by displayName descending, userName only: %s", p)
	}
	if c := e.call(t, "GET", "/Users?count=0", nil); c.total() != 6 || len(c.resources()) != 0 {
		t.Errorf("count=0: %s", c)
	}
}

func patchOf(op, path string, value any) map[string]any {
	o := map[string]any{"op": op}
	if path != "" {
		o["path"] = path
	}
	if value != nil {
		o["value"] = value
	}
	return map[string]any{"schemas": []string{scim.PatchSchema}, "Operations": []any{o}}
}
