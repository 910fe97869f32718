package adminapi

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/scope"
)

// Permissions of the admin routes: read or manage on one of these
// resources (a team admin holds every permission).
const (
	ActionRead   = "read"
	ActionManage = "manage"

	ResourceClients     = "clients"
	ResourceApps        = "apps"
	ResourceKeys        = "keys"
	ResourceUsers       = "users"
	ResourceGroups      = "groups"
	ResourcePermissions = "permissions"
	ResourceTeam        = "team"
)

// Route is a route of the APIs as the OpenAPI document describes it: what
// it requires, takes and answers.
type Route struct {
	Method, Path string
	// Scope, Action and Resource are what the access rule requires; a
	// profile route requires the scope of a token only (a session needs
	// none) and no permission; a public route nothing.
	Scope, Action, Resource string
	Profile, Public         bool

	Summary string
	// Query names the query parameters of the route (besides limit and
	// cursor on a List route).
	Query []Param
	// Request and Response name schemas of the document ("" for none);
	// List says the answer is a listing of Response items.
	Request, Response string
	List              bool
	Status            int  // of success
	ETag, IfMatch     bool // answers an ETag; takes If-Match

	handler http.HandlerFunc
}

// Param is a query parameter.
type Param struct {
	Name, Description string
	Required          bool
	Format            string // "" or "date-time"
}

// Routes lists every route of the admin and profile APIs, in the order
// they are registered.
func (a *API) Routes() []Route {
	rs := a.routes()
	for i := range rs {
		rs[i].handler = nil
	}
	return rs
}

// Routes lists the routes of the APIs without handlers: for the OpenAPI
// document and its test.
func Routes() []Route { return (&API{}).Routes() }

func (a *API) routes() []Route {
	read := func(res string) (string, string, string) { return scope.TeamAdmin, ActionRead, res }
	manage := func(res string) (string, string, string) { return scope.TeamAdmin, ActionManage, res }
	r := func(method, path string, perm func(string) (string, string, string), res string, rt Route) Route {
		rt.Method, rt.Path = method, path
		rt.Scope, rt.Action, rt.Resource = perm(res)
		if rt.Status == 0 {
			rt.Status = http.StatusOK
		}
		return rt
	}
	profile := func(method, path string, rt Route) Route {
		rt.Method, rt.Path, rt.Profile, rt.Scope = method, path, true, scope.TeamAdmin
		if rt.Status == 0 {
			rt.Status = http.StatusOK
		}
		return rt
	}
	q := func(name, desc string) Param { return Param{Name: name, Description: desc} }
	t := func(name, desc string) Param { return Param{Name: name, Description: desc, Format: "date-time"} }
	return []Route{
		// OAuth clients.
		r("GET", "/api/admin/clients", read, ResourceClients, Route{Summary: "List OAuth clients", List: true, Response: "OAuthClient",
			Query:   []Param{q("q", "the start of the name, ASCII case ignored"), q("grant_type", "a grant type the client has"), q("scope", "a scope the client may ask for")},
			handler: a.listClients}),
		r("POST", "/api/admin/clients", manage, ResourceClients, Route{Summary: "Register an OAuth client; its secret is shown this once",
			Request: "NewClient", Response: "CreatedClient", Status: http.StatusCreated, handler: a.createClient}),
		r("GET", "/api/admin/clients/{client_id}", read, ResourceClients, Route{Summary: "Read a client (never its secrets)",
			Response: "OAuthClient", ETag: true, handler: a.getClient}),
		r("PATCH", "/api/admin/clients/{client_id}", manage, ResourceClients, Route{Summary: "Change a client's name, scopes, redirect URIs or token lifetime",
			Request: "ClientChange", Response: "OAuthClient", ETag: true, IfMatch: true, handler: a.updateClient}),
		r("DELETE", "/api/admin/clients/{client_id}", manage, ResourceClients, Route{Summary: "Delete a client with its secrets, consents, tokens and permissions",
			Status: http.StatusNoContent, handler: a.deleteClient}),
		r("POST", "/api/admin/clients/{client_id}/secret", manage, ResourceClients, Route{Summary: "Give a client a new secret, shown this once; the old one stops at once or after the grace period",
			Request: "SecretRotation", Response: "ClientSecret", handler: a.rotateSecret}),
		r("GET", "/api/admin/scopes", read, ResourceClients, Route{Summary: "The scope catalog: what clients may be registered with",
			List: true, Response: "Scope", handler: a.listScopes}),

		// Applications.
		r("GET", "/api/admin/apps", read, ResourceApps, Route{Summary: "List applications", List: true, Response: "App",
			Query: []Param{q("q", "the start of the name, ASCII case ignored")}, handler: a.listApps}),
		r("POST", "/api/admin/apps", manage, ResourceApps, Route{Summary: "Create an application", Request: "NewApp", Response: "App",
			Status: http.StatusCreated, handler: a.createApp}),
		r("DELETE", "/api/admin/apps/{name}", manage, ResourceApps, Route{Summary: "Delete an application with its AppKeys and permissions",
			Status: http.StatusNoContent, handler: a.deleteApp}),

		// Static keys.
		r("GET", "/api/admin/keys", read, ResourceKeys, Route{Summary: "List static keys (never the keys themselves)", List: true, Response: "Key",
			Query: []Param{q("user", "the keys of the user with this email"), q("app", "the keys of this application"),
				t("used_before", "keys not used since this time (never used included)"), t("used_since", "keys used since this time")},
			handler: a.listKeys}),
		r("POST", "/api/admin/keys", manage, ResourceKeys, Route{Summary: "Make a user API key or an AppKey; the key is shown this once",
			Request: "NewKey", Response: "CreatedKey", Status: http.StatusCreated, handler: a.createKey}),
		r("DELETE", "/api/admin/keys/{id}", manage, ResourceKeys, Route{Summary: "Delete a static key; it stops working at once",
			Status: http.StatusNoContent, handler: a.deleteKey}),
		r("GET", "/api/admin/static-keys/policy", read, ResourceKeys, Route{Summary: "The team's static key sunset policy, or the server's",
			Response: "Policy", ETag: true, handler: a.getPolicy}),
		r("PUT", "/api/admin/static-keys/policy", manage, ResourceKeys, Route{Summary: "Set the team's static key sunset policy: the fields given (null unsets one), or clear it",
			Request: "PolicyChange", Response: "Policy", IfMatch: true, ETag: true, handler: a.setPolicy}),
		r("GET", "/api/admin/static-keys/report", read, ResourceKeys, Route{Summary: "Every static key with its status under the policy, for planning the migration",
			List: true, Response: "Report", handler: a.report}),
		r("POST", "/api/admin/static-keys/{id}/migrate", manage, ResourceKeys, Route{Summary: "Replace a static key with an OAuth client that reaches what the key reached; its secret is shown this once",
			Request: "Migration", Response: "MigratedKey", Status: http.StatusCreated, handler: a.migrate}),

		// Users.
		r("GET", "/api/admin/users", read, ResourceUsers, Route{Summary: "List users", List: true, Response: "User",
			Query: []Param{q("q", "the start of the email or the name, ASCII case ignored")}, handler: a.listUsers}),
		r("POST", "/api/admin/users", manage, ResourceUsers, Route{Summary: "Create a user", Request: "NewUser", Response: "User",
			Status: http.StatusCreated, handler: a.createUser}),
		r("GET", "/api/admin/users/{id}", read, ResourceUsers, Route{Summary: "Read a user (by ID or email)", Response: "User", ETag: true, handler: a.getUser}),
		r("PATCH", "/api/admin/users/{id}", manage, ResourceUsers, Route{Summary: "Change a user's email, name, team admin flag, disabled flag or password",
			Request: "UserChange", Response: "User", ETag: true, IfMatch: true, handler: a.updateUser}),
		r("DELETE", "/api/admin/users/{id}", manage, ResourceUsers, Route{Summary: "Delete a user with their keys, memberships and permissions",
			Status: http.StatusNoContent, handler: a.deleteUser}),
		r("DELETE", "/api/admin/users/{id}/sessions", manage, ResourceUsers, Route{Summary: "End every web session of a user, on every node at once",
			Response: "SessionsEnded", handler: a.endSessions}),

		// Groups.
		r("GET", "/api/admin/groups", read, ResourceGroups, Route{Summary: "List groups with their members", List: true, Response: "Group",
			Query: []Param{q("q", "the start of the name, ASCII case ignored")}, handler: a.listGroups}),
		r("POST", "/api/admin/groups", manage, ResourceGroups, Route{Summary: "Create a group", Request: "NewGroup", Response: "Group",
			Status: http.StatusCreated, handler: a.createGroup}),
		r("DELETE", "/api/admin/groups/{name}", manage, ResourceGroups, Route{Summary: "Delete a group, its memberships and its permissions",
			Status: http.StatusNoContent, handler: a.deleteGroup}),
		r("PUT", "/api/admin/groups/{name}/members/{email}", manage, ResourceGroups, Route{Summary: "Add a user to a group (409 if a member already)",
			Status: http.StatusNoContent, handler: a.addMember}),
		r("DELETE", "/api/admin/groups/{name}/members/{email}", manage, ResourceGroups, Route{Summary: "Remove a user from a group",
			Status: http.StatusNoContent, handler: a.removeMember}),

		// Permissions.
		r("GET", "/api/admin/permissions", read, ResourcePermissions, Route{Summary: "List permissions", List: true, Response: "Permission",
			Query: []Param{q("principal", "one principal's: user:<email>, group:<name>, app:<name> or client:<client_id>")}, handler: a.listPermissions}),
		r("POST", "/api/admin/permissions", manage, ResourcePermissions, Route{Summary: "Grant a principal an action on a resource pattern",
			Request: "Permission", Response: "Permission", Status: http.StatusCreated, handler: a.grant}),
		r("DELETE", "/api/admin/permissions", manage, ResourcePermissions, Route{Summary: "Revoke a permission",
			Query:  []Param{{Name: "principal", Required: true}, {Name: "action", Required: true}, {Name: "resource", Required: true}},
			Status: http.StatusNoContent, handler: a.revoke}),

		// Signing keys and settings.
		r("GET", "/api/admin/signing-keys", read, ResourceTeam, Route{Summary: "The team's signing keys (public information only)",
			List: true, Response: "SigningKey", handler: a.listSigningKeys}),
		r("POST", "/api/admin/signing-keys/rotate", manage, ResourceTeam, Route{Summary: "Publish a new signing key; it signs after the publish-ahead time and the old one retires then",
			Request: "Rotation", Response: "SigningKey", Status: http.StatusCreated, handler: a.rotateSigningKey}),
		r("GET", "/api/admin/settings", read, ResourceTeam, Route{Summary: "The team's token settings", Response: "Settings", ETag: true, handler: a.getSettings}),
		r("PATCH", "/api/admin/settings", manage, ResourceTeam, Route{Summary: "Change the team's token settings",
			Request: "SettingsChange", Response: "Settings", ETag: true, IfMatch: true, handler: a.updateSettings}),

		// The signed-in user's own things.
		profile("GET", "/api/profile", Route{Summary: "The signed-in user", Response: "Profile", handler: a.getProfile}),
		profile("GET", "/api/profile/keys", Route{Summary: "The user's own API keys", List: true, Response: "Key", handler: a.listOwnKeys}),
		profile("POST", "/api/profile/keys", Route{Summary: "Make an API key of the user's own; shown this once",
			Request: "NewOwnKey", Response: "CreatedKey", Status: http.StatusCreated, handler: a.createOwnKey}),
		profile("DELETE", "/api/profile/keys/{id}", Route{Summary: "Delete one of the user's own API keys", Status: http.StatusNoContent, handler: a.deleteOwnKey}),
		profile("GET", "/api/profile/consents", Route{Summary: "The clients the user consented to", List: true, Response: "Consent", handler: a.listConsents}),
		profile("DELETE", "/api/profile/consents/{client_id}", Route{Summary: "Revoke a consent, with the client's tokens for the user",
			Status: http.StatusNoContent, handler: a.revokeConsent}),
	}
}
