package adminapi

import (
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/statickey"
	"github.com/gatehouse/gatehouse/internal/store"
)

// The JSON shapes of the APIs (the OpenAPI document's schemas of the same
// names). Each is built field by field from a record, so that no secret
// or hash can reach an answer.
type (
	// Client is an OAuth client's registration, never its secrets.
	Client struct {
		ClientID       string   `json:"client_id"`
		Name           string   `json:"name"`
		GrantTypes     []string `json:"grant_types"`
		AuthMethod     string   `json:"auth_method"`
		Scopes         []string `json:"scopes"`
		RedirectURIs   []string `json:"redirect_uris"`
		AccessTokenTTL string   `json:"access_token_ttl"` // "0s": the team's
		// IDTokenAlg signs the client's ID tokens (OpenID Connect): RS256
		// unless it registered another; "" for a client without the
		// authorization_code grant, which gets none.
		IDTokenAlg             string      `json:"id_token_signed_response_alg"`
		PostLogoutRedirectURIs []string    `json:"post_logout_redirect_uris"`
		CreatedAt              time.Time   `json:"created_at"`
		ActiveSecrets          int         `json:"active_secrets"`
		GraceEndsAt            []time.Time `json:"grace_ends_at"` // when each old secret in its grace period stops
	}
	// CreatedClient is a new client with its secret, shown this once.
	CreatedClient struct {
		Client
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
	// Key is a static key, never the key or its hash.
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
	}
	// CreatedKey is a new static key with the key, shown this once.
	CreatedKey struct {
		Key
		Secret string `json:"key"`
	}
	// ReportKey is a key of the static key report.
	ReportKey struct {
		Key
		Status string `json:"status"`
	}
	// Policy is a team's effective static key sunset policy.
	Policy struct {
		Source          string     `json:"source"` // "team" or "server"
		Status          string     `json:"status"` // active, deprecated or sunset, as of now
		DeprecatedSince *time.Time `json:"deprecated_since"`
		SunsetAt        *time.Time `json:"sunset_at"`
		Link            string     `json:"link"`
		RefuseNew       bool       `json:"refuse_new"`
	}
	// Report is the static key report: the policy and a page of keys.
	Report struct {
		Policy     Policy      `json:"policy"`
		Items      []ReportKey `json:"items"`
		NextCursor string      `json:"next_cursor,omitempty"`
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
	// User is a user, never a password or its hash.
	User struct {
		ID        string    `json:"id"`
		Email     string    `json:"email"`
		Name      string    `json:"name"`
		TeamAdmin bool      `json:"team_admin"`
		Disabled  bool      `json:"disabled"`
		CreatedAt time.Time `json:"created_at"`
	}
	// SessionsEnded says how many web sessions ended.
	SessionsEnded struct {
		SessionsEnded int `json:"sessions_ended"`
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
	// Settings are a team's token settings; "" or "0s" is the server's.
	Settings struct {
		AccessTokenTTL   string `json:"access_token_ttl"`
		TokenScopeFormat string `json:"token_scope_format"`
		SigningAlg       string `json:"signing_alg"`
	}
	// Profile is the signed-in user.
	Profile struct {
		ID        string    `json:"id"`
		Email     string    `json:"email"`
		Name      string    `json:"name"`
		TeamAdmin bool      `json:"team_admin"`
		CreatedAt time.Time `json:"created_at"`
	}
	// Consent is a user's consent to a client.
	Consent struct {
		ClientID   string     `json:"client_id"`
		ClientName string     `json:"client_name"`
		Scopes     []string   `json:"scopes"`
		GrantedAt  time.Time  `json:"granted_at"`
		UpdatedAt  time.Time  `json:"updated_at"`
		LastUsedAt *time.Time `json:"last_used_at"`
	}
)

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func toClient(c store.Client, now time.Time) Client {
	out := Client{ClientID: c.ID, Name: c.Name, GrantTypes: nonNil(c.GrantTypes), AuthMethod: c.AuthMethod,
		Scopes: nonNil(c.Scopes), RedirectURIs: nonNil(c.RedirectURIs), AccessTokenTTL: c.AccessTokenTTL.String(),
		CreatedAt: c.CreatedAt.UTC(), GraceEndsAt: []time.Time{}, PostLogoutRedirectURIs: nonNil(c.PostLogoutRedirectURIs)}
	if slices.Contains(c.GrantTypes, client.GrantAuthorizationCode) {
		out.IDTokenAlg = client.IDTokenAlg(c)
	}
	for _, s := range c.Secrets {
		if s.ExpiresAt != nil && !s.ExpiresAt.After(now) {
			continue
		}
		out.ActiveSecrets++
		if s.ExpiresAt != nil {
			out.GraceEndsAt = append(out.GraceEndsAt, s.ExpiresAt.UTC())
		}
	}
	slices.SortFunc(out.GraceEndsAt, time.Time.Compare)
	return out
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func toKey(k statickey.Key) Key {
	return Key{ID: k.ID, Kind: k.Kind, Owner: k.OwnerName, CreatedAt: k.CreatedAt.UTC(), ExpiresAt: utc(k.ExpiresAt),
		LastUsedAt: utc(k.LastUsedAt), LastUsedIP: k.LastUsedIP, LastUsedUserAgent: k.LastUsedUA, MigratedTo: k.MigratedTo}
}

func toPolicy(p statickey.Policy, own bool, now time.Time) Policy {
	src := "server"
	if own {
		src = "team"
	}
	return Policy{Source: src, Status: p.Status(now), DeprecatedSince: utc(p.DeprecatedSince), SunsetAt: utc(p.SunsetAt),
		Link: p.Link, RefuseNew: p.RefuseNew}
}

func toUser(u store.User) User {
	return User{ID: u.ID, Email: u.Email, Name: u.Name, TeamAdmin: u.TeamAdmin, Disabled: u.Disabled, CreatedAt: u.CreatedAt.UTC()}
}

func toPermission(p store.Permission) Permission {
	return Permission{Principal: p.Principal, Action: p.Action, Resource: p.Resource, CreatedAt: p.CreatedAt.UTC()}
}

func toSigningKey(k signing.KeyInfo) SigningKey {
	return SigningKey{KID: k.ID, Alg: k.Alg, CreatedAt: k.CreatedAt.UTC(), ActivateAt: k.ActivateAt.UTC(),
		RetiredAt: utc(k.RetiredAt), DeleteAfter: utc(k.DeleteAfter), CanSign: k.CanSign}
}

func toSettings(s store.TeamSettings) Settings {
	return Settings{AccessTokenTTL: s.AccessTokenTTL.String(), TokenScopeFormat: s.ScopeFormat, SigningAlg: s.SigningAlg}
}
