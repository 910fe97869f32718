package statickey

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

// ErrCannotMigrate reports a key that Migrate cannot turn into a client
// that reaches what the key reached; the message says why and what to do.
var ErrCannotMigrate = errors.New("cannot migrate")

// Migrate replaces a static key with an OAuth 2.0 client, the Celonis guide's four
// migration steps in one transaction:
//
//  1. it registers a client_credentials client, authenticating with
//     authMethod (client.AuthSecretBasic when empty), named after the
//     key's owner ("migrated from AppKey of etl");
//  2. it grants the client the permissions the owner holds now: the
//     application's, or the user's own and its groups', without repeats;
//  3. it allows the client the scopes those permissions can use on routes
//     (authz.ScopesFor), so that the client reaches what the key reached
//     and no more, since the key carried every scope;
//  4. it marks the key migrated to the client.
//
// The events are "client.create", one "permission.grant" per permission
// and "key.migrate". The key keeps working. It returns the client with
// its secret, shown this once.
//
// A team admin's key, a disabled user's, a key already migrated to a
// client that still exists, and a key whose owner's permissions reach no
// route that needs a scope are refused with ErrCannotMigrate.
func (s *Service) Migrate(ctx context.Context, a kernel.Actor, team, keyID, authMethod string, routes []authz.Route) (store.Client, secret.Secret, error) {
	if s.Clients == nil {
		return store.Client{}, "", errors.New("migrate key: no client service")
	}
	switch authMethod {
	case "":
		authMethod = client.AuthSecretBasic
	case client.AuthSecretBasic, client.AuthSecretPost:
	default:
		return store.Client{}, "", kernel.InvalidField("auth_method", "auth method %q: want %s or %s", authMethod, client.AuthSecretBasic, client.AuthSecretPost)
	}
	var (
		c   store.Client
		sec secret.Secret
	)
	err := s.Store.Tx(ctx, func(q store.Queries) error {
		if err := kernel.TeamExists(ctx, q, team); err != nil {
			return err
		}
		k, err := keyIn(ctx, q, team, keyID)
		if err != nil {
			return err
		}
		if k.MigratedTo != "" {
			if _, err := q.Client(ctx, team, k.MigratedTo); err == nil {
				return fmt.Errorf("%w static key %s: already migrated to client %s; delete that client first to migrate again", ErrCannotMigrate, keyID, k.MigratedTo)
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		owner, grants, err := ownerGrants(ctx, q, team, k)
		if err != nil {
			return err
		}
		// The client gets the owner's permissions and its secret goes to
		// the actor: the actor must hold them.
		handed := make([]kernel.Grant, 0, len(grants))
		for _, g := range grants {
			handed = append(handed, kernel.Grant{Action: g.Action, Resource: g.Resource})
		}
		if err := a.MayHandOn("migrating the key of "+owner, false, handed); err != nil {
			return err
		}
		scopes := authz.ScopesFor(authz.Grants{List: grants}, routes)
		if len(scopes) == 0 {
			return fmt.Errorf("%w static key %s: the permissions of %s reach no route that needs a scope, so an OAuth client would have nothing to call; grant the permissions the integration needs first", ErrCannotMigrate, keyID, owner)
		}
		name, err := freeClientName(ctx, q, team, clientName(k.Kind, owner))
		if err != nil {
			return err
		}
		c, sec, err = s.Clients.CreateIn(ctx, q, a, team, client.NewClient{
			Name:       name,
			GrantTypes: []string{client.GrantClientCredentials},
			AuthMethod: authMethod,
			Scopes:     scopes,
		})
		if err != nil {
			return err
		}
		principal := authz.Principal{Kind: authz.Client, Name: c.ID}.String()
		var events []store.AuditEvent
		for _, g := range grants {
			p := store.Permission{Team: team, Principal: principal, Action: g.Action, Resource: g.Resource, CreatedAt: c.CreatedAt}
			if err := q.GrantPermission(ctx, p); err != nil {
				return fmt.Errorf("migrate key: grant %s on %s: %w", g.Action, g.Resource, err)
			}
			events = append(events, kernel.Event(a, c.CreatedAt, team, "permission.grant", principal,
				map[string]string{"action": g.Action, "resource": g.Resource}))
		}
		if err := q.SetKeyMigrated(ctx, team, k.ID, c.ID); err != nil {
			return fmt.Errorf("migrate key: %w", err)
		}
		events = append(events, kernel.Event(a, c.CreatedAt, team, "key.migrate", "key:"+k.ID, map[string]string{
			"kind": k.Kind, "owner": owner, "client_id": c.ID,
			"scopes": strings.Join(scopes, " "), "permissions": strconv.Itoa(len(grants)),
		}))
		return q.AppendAudit(ctx, events...)
	})
	if err != nil {
		return store.Client{}, "", err
	}
	s.Clients.Invalidate(store.Change{Team: team, Kind: store.KindClient, Key: c.ID})
	s.invalidate(team, keyID)
	return c, sec, nil
}

// ownerGrants returns the name of a key's owner and the permissions it
// holds now, sorted and without repeats.
func ownerGrants(ctx context.Context, q store.Queries, team string, k store.StaticKey) (string, []authz.Grant, error) {
	var holders []string
	owner := k.Owner
	switch k.Kind {
	case KindUser:
		u, err := q.User(ctx, team, k.Owner)
		if errors.Is(err, store.ErrNotFound) {
			return "", nil, fmt.Errorf("static key %s: its user no longer exists: %w", k.ID, store.ErrNotFound)
		} else if err != nil {
			return "", nil, err
		}
		owner = u.Email
		switch {
		case u.TeamAdmin:
			return "", nil, fmt.Errorf("%w static key %s: %s is a team admin, who holds every permission of the team, and no set of permissions equals that; register a client and grant it what the integration needs by hand", ErrCannotMigrate, k.ID, u.Email)
		case u.Disabled:
			return "", nil, fmt.Errorf("%w static key %s: %s is disabled, so the key reaches nothing", ErrCannotMigrate, k.ID, u.Email)
		}
		holders = append(holders, authz.Principal{Kind: authz.User, Name: u.Email}.String())
		groups, err := q.UserGroups(ctx, team, u.ID)
		if err != nil {
			return "", nil, err
		}
		for _, g := range groups {
			holders = append(holders, authz.Principal{Kind: authz.Group, Name: g}.String())
		}
	case KindApp:
		if _, err := q.App(ctx, team, k.Owner); errors.Is(err, store.ErrNotFound) {
			return "", nil, fmt.Errorf("static key %s: its application no longer exists: %w", k.ID, store.ErrNotFound)
		} else if err != nil {
			return "", nil, err
		}
		holders = append(holders, authz.Principal{Kind: authz.App, Name: k.Owner}.String())
	default:
		return "", nil, fmt.Errorf("static key %s: unknown kind %q", k.ID, k.Kind)
	}
	var grants []authz.Grant
	for _, h := range holders {
		ps, err := q.ListPermissions(ctx, team, h)
		if err != nil {
			return "", nil, err
		}
		for _, p := range ps {
			g := authz.Grant{Action: p.Action, Resource: p.Resource}
			if !slices.Contains(grants, g) {
				grants = append(grants, g)
			}
		}
	}
	slices.SortFunc(grants, func(a, b authz.Grant) int {
		if c := strings.Compare(a.Resource, b.Resource); c != 0 {
			return c
		}
		return strings.Compare(a.Action, b.Action)
	})
	return owner, grants, nil
}

// clientName names a migrated key's client after its owner, within
// client.MaxNameLen characters.
func clientName(kind, owner string) string {
	name := "migrated from AppKey of " + owner
	if kind == KindUser {
		name = "migrated from user API key of " + owner
	}
	if utf8.RuneCountInString(name) > client.MaxNameLen {
		r := []rune(name)
		name = strings.TrimSpace(string(r[:client.MaxNameLen]))
	}
	return name
}

// freeClientName is name, or, when a client of the team has it (another
// key of the same owner was migrated before), name with " (2)", " (3)"...:
// client names are unique in a team.
func freeClientName(ctx context.Context, q store.Queries, team, name string) (string, error) {
	cs, err := q.ListClients(ctx, team)
	if err != nil {
		return "", err
	}
	taken := make(map[string]bool, len(cs))
	for _, c := range cs {
		taken[c.Name] = true
	}
	for i := 1; ; i++ {
		candidate := name
		if i > 1 {
			suffix := " (" + strconv.Itoa(i) + ")"
			r := []rune(name)
			if n := client.MaxNameLen - utf8.RuneCountInString(suffix); len(r) > n {
				r = r[:n]
			}
			candidate = strings.TrimSpace(string(r)) + suffix
		}
		if !taken[candidate] {
			return candidate, nil
		}
	}
}
