package adminclient

import (
	"context"
	"net/url"
	"time"
)

// The records of the admin and profile APIs, exactly as the server
// encodes them (its OpenAPI document's schemas of the same names).
type (
	// OAuthClient is a registered OAuth client, never its secrets.
	OAuthClient struct {
		ClientID       string   `json:"client_id"`
		Name           string   `json:"name"`
		GrantTypes     []string `json:"grant_types"`
		AuthMethod     string   `json:"auth_method"`
		Scopes         []string `json:"scopes"`
		RedirectURIs   []string `json:"redirect_uris"`
		AccessTokenTTL string   `json:"access_token_ttl"` // "0s": the team's
		// IDTokenAlg signs the client's OpenID Connect ID tokens (RS256
		// unless it registered another; "" without the authorization_code
		// grant); PostLogoutRedirectURIs are where RP-initiated logout may
		// send the user back.
		IDTokenAlg             string      `json:"id_token_signed_response_alg"`
		PostLogoutRedirectURIs []string    `json:"post_logout_redirect_uris"`
		CreatedAt              time.Time   `json:"created_at"`
		ActiveSecrets          int         `json:"active_secrets"`
		GraceEndsAt            []time.Time `json:"grace_ends_at"` // when each old secret in its grace period stops
	}
	// CreatedClient is a new client with its secret, shown this once.
	CreatedClient struct {
		OAuthClient
		ClientSecret string `json:"client_secret"`
	}
	// ClientSecret is a client's new secret, shown this once.
	ClientSecret struct {
		ClientID                string     `json:"client_id"`
		ClientSecret            string     `json:"client_secret"`
		PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at,omitempty"`
	}
	// Scope is an entry of the scope catalog.
	Scope struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	// App is an application.
	App struct {
		Name      string    `json:"name"`
		CreatedAt time.Time `json:"created_at"`
	}
	// Key is a static key, never the key itself.
	Key struct {
		ID                string     `json:"id"`
		Kind              string     `json:"kind"`  // "user" or "app"
		Owner             string     `json:"owner"` // the user's email or the application's name
		CreatedAt         time.Time  `json:"created_at"`
		ExpiresAt         *time.Time `json:"expires_at"`
		LastUsedAt        *time.Time `json:"last_used_at"`
		LastUsedIP        string     `json:"last_used_ip"`
		LastUsedUserAgent string     `json:"last_used_user_agent"`
		MigratedTo        string     `json:"migrated_to"`
		Status            string     `json:"status,omitempty"` // in the report: the policy's status for it (active, deprecated or sunset)
	}
	// CreatedKey is a new static key with the key, shown this once.
	CreatedKey struct {
		Key
		Secret string `json:"key"`
	}
	// Policy is the team's effective static key sunset policy.
	Policy struct {
		Source          string     `json:"source"` // "team" or "server"
		Status          string     `json:"status"` // active, deprecated or sunset, as of now
		DeprecatedSince *time.Time `json:"deprecated_since"`
		SunsetAt        *time.Time `json:"sunset_at"`
		Link            string     `json:"link"`
		RefuseNew       bool       `json:"refuse_new"`
	}
	// Report is a page of the static key report.
	Report struct {
		Policy     Policy `json:"policy"`
		Items      []Key  `json:"items"`
		NextCursor string `json:"next_cursor,omitempty"`
	}
	// MigratedKey is the client a static key was migrated to, with its
	// secret, shown this once.
	MigratedKey struct {
		ClientID     string   `json:"client_id"`
		ClientSecret string   `json:"client_secret"`
		Name         string   `json:"name"`
		Scopes       []string `json:"scopes"`
		AuthMethod   string   `json:"auth_method"`
	}
	// User is a user.
	User struct {
		ID        string    `json:"id"`
		Email     string    `json:"email"`
		Name      string    `json:"name"`
		TeamAdmin bool      `json:"team_admin"`
		Disabled  bool      `json:"disabled"`
		CreatedAt time.Time `json:"created_at"`
	}
	// Group is a group with its members' emails.
	Group struct {
		Name      string    `json:"name"`
		Members   []string  `json:"members"`
		CreatedAt time.Time `json:"created_at"`
	}
	// Permission is a principal's permission.
	Permission struct {
		Principal string    `json:"principal"`
		Action    string    `json:"action"`
		Resource  string    `json:"resource"`
		CreatedAt time.Time `json:"created_at,omitzero"`
	}
	// SigningKey is a signing key, public information only.
	SigningKey struct {
		KID         string     `json:"kid"`
		Alg         string     `json:"alg"`
		CreatedAt   time.Time  `json:"created_at"`
		ActivateAt  time.Time  `json:"activate_at"`
		RetiredAt   *time.Time `json:"retired_at,omitempty"`
		DeleteAfter *time.Time `json:"delete_after,omitempty"`
		CanSign     bool       `json:"can_sign"`
	}
	// Settings are the team's token settings; "" or "0s" is the server's.
	Settings struct {
		AccessTokenTTL   string `json:"access_token_ttl"`
		TokenScopeFormat string `json:"token_scope_format"`
		SigningAlg       string `json:"signing_alg"`
	}
	// SessionsEnded says how many web sessions ended.
	SessionsEnded struct {
		SessionsEnded int `json:"sessions_ended"`
	}
	// Profile is the signed-in user (GET /api/profile).
	Profile struct {
		ID        string    `json:"id"`
		Email     string    `json:"email"`
		Name      string    `json:"name"`
		TeamAdmin bool      `json:"team_admin"`
		CreatedAt time.Time `json:"created_at"`
	}
	// Consent is a user's consent to a client (GET /api/profile/consents).
	Consent struct {
		ClientID   string     `json:"client_id"`
		ClientName string     `json:"client_name"`
		Scopes     []string   `json:"scopes"`
		GrantedAt  time.Time  `json:"granted_at"`
		UpdatedAt  time.Time  `json:"updated_at"`
		LastUsedAt *time.Time `json:"last_used_at"`
	}
)

// What the API takes.
type (
	// NewClient registers a client; AccessTokenTTL is a duration such as
	// "15m" ("": the team's).
	NewClient struct {
		Name           string   `json:"name"`
		GrantTypes     []string `json:"grant_types"`
		AuthMethod     string   `json:"auth_method"`
		Scopes         []string `json:"scopes"`
		RedirectURIs   []string `json:"redirect_uris,omitempty"`
		AccessTokenTTL string   `json:"access_token_ttl,omitempty"`
		// IDTokenAlg is the OpenID Connect ID tokens' algorithm: RS256
		// ("": the default), ES256, ES384 or EdDSA.
		IDTokenAlg             string   `json:"id_token_signed_response_alg,omitempty"`
		PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris,omitempty"`
	}
	// ClientChange changes a client: nil fields keep their value.
	ClientChange struct {
		Name                   *string   `json:"name,omitempty"`
		Scopes                 *[]string `json:"scopes,omitempty"`
		RedirectURIs           *[]string `json:"redirect_uris,omitempty"`
		AccessTokenTTL         *string   `json:"access_token_ttl,omitempty"`
		IDTokenAlg             *string   `json:"id_token_signed_response_alg,omitempty"`
		PostLogoutRedirectURIs *[]string `json:"post_logout_redirect_uris,omitempty"`
	}
	// NewKey makes a key of a user (by email) or of an application; it
	// stops working at ExpiresAt or after ExpiresIn, a duration such as
	// "720h" (neither: it does not expire).
	NewKey struct {
		User      string     `json:"user,omitempty"`
		App       string     `json:"app,omitempty"`
		ExpiresAt *time.Time `json:"expires_at,omitempty"`
		ExpiresIn string     `json:"expires_in,omitempty"`
	}
	// KeyFilter narrows ListKeys.
	KeyFilter struct {
		User, App             string
		UsedBefore, UsedSince *time.Time
	}
	// ClientFilter narrows ListClients: Query is the start of a name.
	ClientFilter struct{ Query, GrantType, Scope string }
	// NewUser creates a user.
	NewUser struct {
		Email     string `json:"email"`
		Name      string `json:"name,omitempty"`
		Password  string `json:"password"`
		TeamAdmin bool   `json:"team_admin,omitempty"`
	}
	// UserChange changes a user: nil fields keep their value.
	UserChange struct {
		Email     *string `json:"email,omitempty"`
		Name      *string `json:"name,omitempty"`
		Password  *string `json:"password,omitempty"`
		TeamAdmin *bool   `json:"team_admin,omitempty"`
		Disabled  *bool   `json:"disabled,omitempty"`
	}
	// SettingsChange changes the team's settings: nil fields keep their
	// value; "" resets one to the server's.
	SettingsChange struct {
		AccessTokenTTL   *string `json:"access_token_ttl,omitempty"`
		TokenScopeFormat *string `json:"token_scope_format,omitempty"`
		SigningAlg       *string `json:"signing_alg,omitempty"`
	}
)

// PolicyChange changes the static key policy: the fields set are sent
// (a set field with a nil time or "" unsets it), or Clear removes the
// team's policy.
type PolicyChange struct {
	Clear           bool
	DeprecatedSince **time.Time
	SunsetAt        **time.Time
	Link            *string
	RefuseNew       *bool
}

func (p PolicyChange) body() map[string]any {
	b := map[string]any{}
	if p.Clear {
		b["clear"] = true
	}
	if p.DeprecatedSince != nil {
		b["deprecated_since"] = *p.DeprecatedSince
	}
	if p.SunsetAt != nil {
		b["sunset_at"] = *p.SunsetAt
	}
	if p.Link != nil {
		b["link"] = *p.Link
	}
	if p.RefuseNew != nil {
		b["refuse_new"] = *p.RefuseNew
	}
	return b
}

// ---- OAuth clients ----

// ListClients lists a page of the team's clients.
func (c *Client) ListClients(ctx context.Context, f ClientFilter, p Page) (List[OAuthClient], error) {
	var out List[OAuthClient]
	_, err := c.do(ctx, "GET", "/api/admin/clients"+p.values(url.Values{"q": {f.Query}, "grant_type": {f.GrantType}, "scope": {f.Scope}}), nil, &out)
	return out, err
}

// CreateClient registers a client; its secret is in the answer only.
func (c *Client) CreateClient(ctx context.Context, in NewClient) (CreatedClient, error) {
	var out CreatedClient
	_, err := c.do(ctx, "POST", "/api/admin/clients", in, &out)
	return out, err
}

// GetClient reads a client and the ETag of its version.
func (c *Client) GetClient(ctx context.Context, id string) (OAuthClient, string, error) {
	var out OAuthClient
	h, err := c.do(ctx, "GET", "/api/admin/clients/"+esc(id), nil, &out)
	return out, etag(h), err
}

// UpdateClient changes a client; with ifMatch (an ETag) only if it is
// still that version.
func (c *Client) UpdateClient(ctx context.Context, id string, ch ClientChange, ifMatch string) (OAuthClient, string, error) {
	var out OAuthClient
	h, err := c.do(ctx, "PATCH", "/api/admin/clients/"+esc(id), ch, &out, "If-Match", ifMatch)
	return out, etag(h), err
}

// DeleteClient deletes a client.
func (c *Client) DeleteClient(ctx context.Context, id string) error {
	_, err := c.do(ctx, "DELETE", "/api/admin/clients/"+esc(id), nil, nil)
	return err
}

// RotateSecret gives a client a new secret; the old one keeps working for
// grace (0: it stops at once).
func (c *Client) RotateSecret(ctx context.Context, id string, grace time.Duration) (ClientSecret, error) {
	var out ClientSecret
	body := map[string]any{}
	if grace != 0 {
		body["grace"] = grace.String()
	}
	_, err := c.do(ctx, "POST", "/api/admin/clients/"+esc(id)+"/secret", body, &out)
	return out, err
}

// Scopes lists the scope catalog.
func (c *Client) Scopes(ctx context.Context) ([]Scope, error) {
	var out List[Scope]
	_, err := c.do(ctx, "GET", "/api/admin/scopes", nil, &out)
	return out.Items, err
}

// ---- Applications ----

// ListApps lists a page of applications whose names start with query.
func (c *Client) ListApps(ctx context.Context, query string, p Page) (List[App], error) {
	var out List[App]
	_, err := c.do(ctx, "GET", "/api/admin/apps"+p.values(url.Values{"q": {query}}), nil, &out)
	return out, err
}

// CreateApp creates an application.
func (c *Client) CreateApp(ctx context.Context, name string) (App, error) {
	var out App
	_, err := c.do(ctx, "POST", "/api/admin/apps", map[string]string{"name": name}, &out)
	return out, err
}

// DeleteApp deletes an application with its AppKeys and permissions.
func (c *Client) DeleteApp(ctx context.Context, name string) error {
	_, err := c.do(ctx, "DELETE", "/api/admin/apps/"+esc(name), nil, nil)
	return err
}

// ---- Static keys ----

// ListKeys lists a page of static keys.
func (c *Client) ListKeys(ctx context.Context, f KeyFilter, p Page) (List[Key], error) {
	v := url.Values{"user": {f.User}, "app": {f.App}}
	if f.UsedBefore != nil {
		v.Set("used_before", f.UsedBefore.UTC().Format(time.RFC3339))
	}
	if f.UsedSince != nil {
		v.Set("used_since", f.UsedSince.UTC().Format(time.RFC3339))
	}
	var out List[Key]
	_, err := c.do(ctx, "GET", "/api/admin/keys"+p.values(v), nil, &out)
	return out, err
}

// CreateKey makes a static key; the key is in the answer only.
func (c *Client) CreateKey(ctx context.Context, in NewKey) (CreatedKey, error) {
	var out CreatedKey
	_, err := c.do(ctx, "POST", "/api/admin/keys", in, &out)
	return out, err
}

// DeleteKey deletes a static key.
func (c *Client) DeleteKey(ctx context.Context, id string) error {
	_, err := c.do(ctx, "DELETE", "/api/admin/keys/"+esc(id), nil, nil)
	return err
}

// Policy reads the effective static key policy and its ETag.
func (c *Client) Policy(ctx context.Context) (Policy, string, error) {
	var out Policy
	h, err := c.do(ctx, "GET", "/api/admin/static-keys/policy", nil, &out)
	return out, etag(h), err
}

// SetPolicy changes the static key policy.
func (c *Client) SetPolicy(ctx context.Context, ch PolicyChange, ifMatch string) (Policy, error) {
	var out Policy
	_, err := c.do(ctx, "PUT", "/api/admin/static-keys/policy", ch.body(), &out, "If-Match", ifMatch)
	return out, err
}

// Report reads a page of the static key report.
func (c *Client) Report(ctx context.Context, p Page) (Report, error) {
	var out Report
	_, err := c.do(ctx, "GET", "/api/admin/static-keys/report"+p.values(url.Values{}), nil, &out)
	return out, err
}

// MigrateKey replaces a static key with an OAuth client; authMethod ""
// is client_secret_basic.
func (c *Client) MigrateKey(ctx context.Context, id, authMethod string) (MigratedKey, error) {
	var out MigratedKey
	body := map[string]string{}
	if authMethod != "" {
		body["auth_method"] = authMethod
	}
	_, err := c.do(ctx, "POST", "/api/admin/static-keys/"+esc(id)+"/migrate", body, &out)
	return out, err
}

// ---- Users and groups ----

// ListUsers lists a page of users whose email or name starts with query.
func (c *Client) ListUsers(ctx context.Context, query string, p Page) (List[User], error) {
	var out List[User]
	_, err := c.do(ctx, "GET", "/api/admin/users"+p.values(url.Values{"q": {query}}), nil, &out)
	return out, err
}

// CreateUser creates a user.
func (c *Client) CreateUser(ctx context.Context, in NewUser) (User, error) {
	var out User
	_, err := c.do(ctx, "POST", "/api/admin/users", in, &out)
	return out, err
}

// GetUser reads a user (by ID or email) and its ETag.
func (c *Client) GetUser(ctx context.Context, ref string) (User, string, error) {
	var out User
	h, err := c.do(ctx, "GET", "/api/admin/users/"+esc(ref), nil, &out)
	return out, etag(h), err
}

// UpdateUser changes a user (by ID or email).
func (c *Client) UpdateUser(ctx context.Context, ref string, ch UserChange, ifMatch string) (User, string, error) {
	var out User
	h, err := c.do(ctx, "PATCH", "/api/admin/users/"+esc(ref), ch, &out, "If-Match", ifMatch)
	return out, etag(h), err
}

// DeleteUser deletes a user (by ID or email).
func (c *Client) DeleteUser(ctx context.Context, ref string) error {
	_, err := c.do(ctx, "DELETE", "/api/admin/users/"+esc(ref), nil, nil)
	return err
}

// EndSessions ends every web session of a user and says how many.
func (c *Client) EndSessions(ctx context.Context, ref string) (int, error) {
	var out SessionsEnded
	_, err := c.do(ctx, "DELETE", "/api/admin/users/"+esc(ref)+"/sessions", nil, &out)
	return out.SessionsEnded, err
}

// ListGroups lists a page of groups whose names start with query.
func (c *Client) ListGroups(ctx context.Context, query string, p Page) (List[Group], error) {
	var out List[Group]
	_, err := c.do(ctx, "GET", "/api/admin/groups"+p.values(url.Values{"q": {query}}), nil, &out)
	return out, err
}

// CreateGroup creates a group.
func (c *Client) CreateGroup(ctx context.Context, name string) (Group, error) {
	var out Group
	_, err := c.do(ctx, "POST", "/api/admin/groups", map[string]string{"name": name}, &out)
	return out, err
}

// DeleteGroup deletes a group.
func (c *Client) DeleteGroup(ctx context.Context, name string) error {
	_, err := c.do(ctx, "DELETE", "/api/admin/groups/"+esc(name), nil, nil)
	return err
}

// AddMember adds the user with email to a group.
func (c *Client) AddMember(ctx context.Context, group, email string) error {
	_, err := c.do(ctx, "PUT", "/api/admin/groups/"+esc(group)+"/members/"+esc(email), nil, nil)
	return err
}

// RemoveMember removes the user with email from a group.
func (c *Client) RemoveMember(ctx context.Context, group, email string) error {
	_, err := c.do(ctx, "DELETE", "/api/admin/groups/"+esc(group)+"/members/"+esc(email), nil, nil)
	return err
}

// ---- Permissions ----

// ListPermissions lists a page of permissions, or of one principal's.
func (c *Client) ListPermissions(ctx context.Context, principal string, p Page) (List[Permission], error) {
	var out List[Permission]
	_, err := c.do(ctx, "GET", "/api/admin/permissions"+p.values(url.Values{"principal": {principal}}), nil, &out)
	return out, err
}

// Grant gives a principal an action on a resource pattern.
func (c *Client) Grant(ctx context.Context, principal, action, resource string) (Permission, error) {
	var out Permission
	_, err := c.do(ctx, "POST", "/api/admin/permissions", Permission{Principal: principal, Action: action, Resource: resource}, &out)
	return out, err
}

// Revoke takes a permission away.
func (c *Client) Revoke(ctx context.Context, principal, action, resource string) error {
	q := url.Values{"principal": {principal}, "action": {action}, "resource": {resource}}
	_, err := c.do(ctx, "DELETE", "/api/admin/permissions?"+q.Encode(), nil, nil)
	return err
}

// ---- Signing keys and settings ----

// SigningKeys lists the team's signing keys.
func (c *Client) SigningKeys(ctx context.Context) ([]SigningKey, error) {
	var out List[SigningKey]
	_, err := c.do(ctx, "GET", "/api/admin/signing-keys", nil, &out)
	return out.Items, err
}

// RotateSigningKey publishes a new signing key of alg ("": the team's).
func (c *Client) RotateSigningKey(ctx context.Context, alg string) (SigningKey, error) {
	var out SigningKey
	body := map[string]string{}
	if alg != "" {
		body["alg"] = alg
	}
	_, err := c.do(ctx, "POST", "/api/admin/signing-keys/rotate", body, &out)
	return out, err
}

// Settings reads the team's settings and their ETag.
func (c *Client) Settings(ctx context.Context) (Settings, string, error) {
	var out Settings
	h, err := c.do(ctx, "GET", "/api/admin/settings", nil, &out)
	return out, etag(h), err
}

// UpdateSettings changes the team's settings.
func (c *Client) UpdateSettings(ctx context.Context, ch SettingsChange, ifMatch string) (Settings, string, error) {
	var out Settings
	h, err := c.do(ctx, "PATCH", "/api/admin/settings", ch, &out, "If-Match", ifMatch)
	return out, etag(h), err
}

func etag(h map[string][]string) string {
	if v := h["Etag"]; len(v) > 0 {
		return v[0]
	}
	return ""
}
