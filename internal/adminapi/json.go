package adminapi

import (
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/adminclient"
	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/statickey"
	"github.com/gatehouse/gatehouse/internal/store"
)

// The JSON shapes of the APIs' answers (the OpenAPI document's schemas of
// the same names) are the public client's records: the server encodes
// exactly what adminclient decodes. Each is built field by field from a
// record, so that no secret or hash can reach an answer.
type (
	Client        = adminclient.OAuthClient
	CreatedClient = adminclient.CreatedClient
	ClientSecret  = adminclient.ClientSecret
	Scope         = adminclient.Scope
	App           = adminclient.App
	Key           = adminclient.Key
	CreatedKey    = adminclient.CreatedKey
	Policy        = adminclient.Policy
	Report        = adminclient.Report
	MigratedKey   = adminclient.MigratedKey
	User          = adminclient.User
	SessionsEnded = adminclient.SessionsEnded
	Group         = adminclient.Group
	Permission    = adminclient.Permission
	SigningKey    = adminclient.SigningKey
	Settings      = adminclient.Settings
	Profile       = adminclient.Profile
	Consent       = adminclient.Consent
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
