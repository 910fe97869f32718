package outage

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// The methods of store.Queries, in its order: each fails with Err while
// the store is cut, and passes the call on otherwise.

// CreateTeam fails while the store is cut.
func (o *Store) CreateTeam(ctx context.Context, t store.Team) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.CreateTeam(ctx, t)
}

// Team fails while the store is cut.
func (o *Store) Team(ctx context.Context, name string) (store.Team, error) {
	if err := o.down(); err != nil {
		return store.Team{}, err
	}
	return o.Store.Team(ctx, name)
}

// ListTeams fails while the store is cut.
func (o *Store) ListTeams(ctx context.Context) ([]store.Team, error) {
	if err := o.down(); err != nil {
		return nil, err
	}
	return o.Store.ListTeams(ctx)
}

// UpdateTeamSettings fails while the store is cut.
func (o *Store) UpdateTeamSettings(ctx context.Context, name string, s store.TeamSettings) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.UpdateTeamSettings(ctx, name, s)
}

// DeleteTeam fails while the store is cut.
func (o *Store) DeleteTeam(ctx context.Context, name string) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.DeleteTeam(ctx, name)
}

// LockTeam fails while the store is cut.
func (o *Store) LockTeam(ctx context.Context, name string) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.LockTeam(ctx, name)
}

// CreateUser fails while the store is cut.
func (o *Store) CreateUser(ctx context.Context, u store.User) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.CreateUser(ctx, u)
}

// User fails while the store is cut.
func (o *Store) User(ctx context.Context, team, id string) (store.User, error) {
	if err := o.down(); err != nil {
		return store.User{}, err
	}
	return o.Store.User(ctx, team, id)
}

// UserByEmail fails while the store is cut.
func (o *Store) UserByEmail(ctx context.Context, team, email string) (store.User, error) {
	if err := o.down(); err != nil {
		return store.User{}, err
	}
	return o.Store.UserByEmail(ctx, team, email)
}

// ListUsers fails while the store is cut.
func (o *Store) ListUsers(ctx context.Context, team string, p store.Page) ([]store.User, string, error) {
	if err := o.down(); err != nil {
		return nil, "", err
	}
	return o.Store.ListUsers(ctx, team, p)
}

// UpdateUser fails while the store is cut.
func (o *Store) UpdateUser(ctx context.Context, u store.User) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.UpdateUser(ctx, u)
}

// DeleteUser fails while the store is cut.
func (o *Store) DeleteUser(ctx context.Context, team, id string) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.DeleteUser(ctx, team, id)
}

// CreateGroup fails while the store is cut.
func (o *Store) CreateGroup(ctx context.Context, g store.Group) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.CreateGroup(ctx, g)
}

// Group fails while the store is cut.
func (o *Store) Group(ctx context.Context, team, name string) (store.Group, error) {
	if err := o.down(); err != nil {
		return store.Group{}, err
	}
	return o.Store.Group(ctx, team, name)
}

// ListGroups fails while the store is cut.
func (o *Store) ListGroups(ctx context.Context, team string, p store.Page) ([]store.Group, string, error) {
	if err := o.down(); err != nil {
		return nil, "", err
	}
	return o.Store.ListGroups(ctx, team, p)
}

// DeleteGroup fails while the store is cut.
func (o *Store) DeleteGroup(ctx context.Context, team, name string) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.DeleteGroup(ctx, team, name)
}

// AddGroupMember fails while the store is cut.
func (o *Store) AddGroupMember(ctx context.Context, team, group, userID string) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.AddGroupMember(ctx, team, group, userID)
}

// RemoveGroupMember fails while the store is cut.
func (o *Store) RemoveGroupMember(ctx context.Context, team, group, userID string) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.RemoveGroupMember(ctx, team, group, userID)
}

// UserGroups fails while the store is cut.
func (o *Store) UserGroups(ctx context.Context, team, userID string) ([]string, error) {
	if err := o.down(); err != nil {
		return nil, err
	}
	return o.Store.UserGroups(ctx, team, userID)
}

// CreateApp fails while the store is cut.
func (o *Store) CreateApp(ctx context.Context, a store.Application) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.CreateApp(ctx, a)
}

// App fails while the store is cut.
func (o *Store) App(ctx context.Context, team, name string) (store.Application, error) {
	if err := o.down(); err != nil {
		return store.Application{}, err
	}
	return o.Store.App(ctx, team, name)
}

// ListApps fails while the store is cut.
func (o *Store) ListApps(ctx context.Context, team string) ([]store.Application, error) {
	if err := o.down(); err != nil {
		return nil, err
	}
	return o.Store.ListApps(ctx, team)
}

// DeleteApp fails while the store is cut.
func (o *Store) DeleteApp(ctx context.Context, team, name string) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.DeleteApp(ctx, team, name)
}

// CreateClient fails while the store is cut.
func (o *Store) CreateClient(ctx context.Context, c store.Client) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.CreateClient(ctx, c)
}

// Client fails while the store is cut.
func (o *Store) Client(ctx context.Context, team, id string) (store.Client, error) {
	if err := o.down(); err != nil {
		return store.Client{}, err
	}
	return o.Store.Client(ctx, team, id)
}

// ListClients fails while the store is cut.
func (o *Store) ListClients(ctx context.Context, team string) ([]store.Client, error) {
	if err := o.down(); err != nil {
		return nil, err
	}
	return o.Store.ListClients(ctx, team)
}

// UpdateClient fails while the store is cut.
func (o *Store) UpdateClient(ctx context.Context, c store.Client) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.UpdateClient(ctx, c)
}

// DeleteClient fails while the store is cut.
func (o *Store) DeleteClient(ctx context.Context, team, id string) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.DeleteClient(ctx, team, id)
}

// AddClientSecret fails while the store is cut.
func (o *Store) AddClientSecret(ctx context.Context, team, clientID string, s store.ClientSecret, expireOthers *time.Time) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.AddClientSecret(ctx, team, clientID, s, expireOthers)
}

// CreateKey fails while the store is cut.
func (o *Store) CreateKey(ctx context.Context, k store.StaticKey) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.CreateKey(ctx, k)
}

// Key fails while the store is cut.
func (o *Store) Key(ctx context.Context, team, id string) (store.StaticKey, error) {
	if err := o.down(); err != nil {
		return store.StaticKey{}, err
	}
	return o.Store.Key(ctx, team, id)
}

// ListKeys fails while the store is cut.
func (o *Store) ListKeys(ctx context.Context, team string) ([]store.StaticKey, error) {
	if err := o.down(); err != nil {
		return nil, err
	}
	return o.Store.ListKeys(ctx, team)
}

// DeleteKey fails while the store is cut.
func (o *Store) DeleteKey(ctx context.Context, team, id string) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.DeleteKey(ctx, team, id)
}

// RecordKeyUse fails while the store is cut.
func (o *Store) RecordKeyUse(ctx context.Context, team string, uses []store.KeyUse) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.RecordKeyUse(ctx, team, uses)
}

// SetKeyMigrated fails while the store is cut.
func (o *Store) SetKeyMigrated(ctx context.Context, team, id, clientID string) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.SetKeyMigrated(ctx, team, id, clientID)
}

// GrantPermission fails while the store is cut.
func (o *Store) GrantPermission(ctx context.Context, p store.Permission) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.GrantPermission(ctx, p)
}

// RevokePermission fails while the store is cut.
func (o *Store) RevokePermission(ctx context.Context, p store.Permission) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.RevokePermission(ctx, p)
}

// ListPermissions fails while the store is cut.
func (o *Store) ListPermissions(ctx context.Context, team, principal string) ([]store.Permission, error) {
	if err := o.down(); err != nil {
		return nil, err
	}
	return o.Store.ListPermissions(ctx, team, principal)
}

// UpsertConsent fails while the store is cut.
func (o *Store) UpsertConsent(ctx context.Context, c store.Consent) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.UpsertConsent(ctx, c)
}

// Consent fails while the store is cut.
func (o *Store) Consent(ctx context.Context, team, userID, clientID string) (store.Consent, error) {
	if err := o.down(); err != nil {
		return store.Consent{}, err
	}
	return o.Store.Consent(ctx, team, userID, clientID)
}

// ListConsents fails while the store is cut.
func (o *Store) ListConsents(ctx context.Context, team, userID string) ([]store.Consent, error) {
	if err := o.down(); err != nil {
		return nil, err
	}
	return o.Store.ListConsents(ctx, team, userID)
}

// TouchConsent fails while the store is cut.
func (o *Store) TouchConsent(ctx context.Context, team, userID, clientID string, at time.Time) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.TouchConsent(ctx, team, userID, clientID, at)
}

// DeleteConsent fails while the store is cut.
func (o *Store) DeleteConsent(ctx context.Context, team, userID, clientID string) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.DeleteConsent(ctx, team, userID, clientID)
}

// CreateAuthCode fails while the store is cut.
func (o *Store) CreateAuthCode(ctx context.Context, c store.AuthCode) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.CreateAuthCode(ctx, c)
}

// UseAuthCode fails while the store is cut.
func (o *Store) UseAuthCode(ctx context.Context, team, clientID string, hash []byte, at time.Time) (store.AuthCode, error) {
	if err := o.down(); err != nil {
		return store.AuthCode{}, err
	}
	return o.Store.UseAuthCode(ctx, team, clientID, hash, at)
}

// CreateRefreshToken fails while the store is cut.
func (o *Store) CreateRefreshToken(ctx context.Context, t store.RefreshToken) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.CreateRefreshToken(ctx, t)
}

// RefreshToken fails while the store is cut.
func (o *Store) RefreshToken(ctx context.Context, team string, hash []byte) (store.RefreshToken, error) {
	if err := o.down(); err != nil {
		return store.RefreshToken{}, err
	}
	return o.Store.RefreshToken(ctx, team, hash)
}

// UseRefreshToken fails while the store is cut.
func (o *Store) UseRefreshToken(ctx context.Context, team string, hash []byte, at time.Time) (store.RefreshToken, error) {
	if err := o.down(); err != nil {
		return store.RefreshToken{}, err
	}
	return o.Store.UseRefreshToken(ctx, team, hash, at)
}

// RevokeRefreshFamily fails while the store is cut.
func (o *Store) RevokeRefreshFamily(ctx context.Context, team, familyID string, at time.Time) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.RevokeRefreshFamily(ctx, team, familyID, at)
}

// RevokeRefreshTokensOf fails while the store is cut.
func (o *Store) RevokeRefreshTokensOf(ctx context.Context, team, userID, clientID string, at time.Time) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.RevokeRefreshTokensOf(ctx, team, userID, clientID, at)
}

// CreateSigningKey fails while the store is cut.
func (o *Store) CreateSigningKey(ctx context.Context, k store.SigningKey) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.CreateSigningKey(ctx, k)
}

// ListSigningKeys fails while the store is cut.
func (o *Store) ListSigningKeys(ctx context.Context, team string) ([]store.SigningKey, error) {
	if err := o.down(); err != nil {
		return nil, err
	}
	return o.Store.ListSigningKeys(ctx, team)
}

// RetireSigningKey fails while the store is cut.
func (o *Store) RetireSigningKey(ctx context.Context, team, id string, retiredAt, deleteAfter time.Time) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.RetireSigningKey(ctx, team, id, retiredAt, deleteAfter)
}

// DeleteSigningKey fails while the store is cut.
func (o *Store) DeleteSigningKey(ctx context.Context, team, id string) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.DeleteSigningKey(ctx, team, id)
}

// RevokeToken fails while the store is cut.
func (o *Store) RevokeToken(ctx context.Context, r store.RevokedToken) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.RevokeToken(ctx, r)
}

// ListRevokedTokens fails while the store is cut.
func (o *Store) ListRevokedTokens(ctx context.Context, team string, now time.Time) ([]store.RevokedToken, error) {
	if err := o.down(); err != nil {
		return nil, err
	}
	return o.Store.ListRevokedTokens(ctx, team, now)
}

// RevokeGrant fails while the store is cut.
func (o *Store) RevokeGrant(ctx context.Context, r store.GrantRevocation) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.RevokeGrant(ctx, r)
}

// ListGrantRevocations fails while the store is cut.
func (o *Store) ListGrantRevocations(ctx context.Context, team string, now time.Time) ([]store.GrantRevocation, error) {
	if err := o.down(); err != nil {
		return nil, err
	}
	return o.Store.ListGrantRevocations(ctx, team, now)
}

// GrantRevocation fails while the store is cut.
func (o *Store) GrantRevocation(ctx context.Context, team, userID, clientID string, now time.Time) (store.GrantRevocation, error) {
	if err := o.down(); err != nil {
		return store.GrantRevocation{}, err
	}
	return o.Store.GrantRevocation(ctx, team, userID, clientID, now)
}

// AppendAudit fails while the store is cut.
func (o *Store) AppendAudit(ctx context.Context, events ...store.AuditEvent) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.AppendAudit(ctx, events...)
}

// ListAudit fails while the store is cut.
func (o *Store) ListAudit(ctx context.Context, team string, f store.AuditFilter, p store.Page) ([]store.AuditEvent, string, error) {
	if err := o.down(); err != nil {
		return nil, "", err
	}
	return o.Store.ListAudit(ctx, team, f, p)
}

// AppendLogin fails while the store is cut.
func (o *Store) AppendLogin(ctx context.Context, e store.LoginEvent) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.AppendLogin(ctx, e)
}

// ListLogins fails while the store is cut.
func (o *Store) ListLogins(ctx context.Context, team string, f store.LoginFilter, p store.Page) ([]store.LoginEvent, string, error) {
	if err := o.down(); err != nil {
		return nil, "", err
	}
	return o.Store.ListLogins(ctx, team, f, p)
}

// CountFailure fails while the store is cut.
func (o *Store) CountFailure(ctx context.Context, team, key string, at time.Time, window time.Duration, max int) (store.Failures, bool, error) {
	if err := o.down(); err != nil {
		return store.Failures{}, false, err
	}
	return o.Store.CountFailure(ctx, team, key, at, window, max)
}

// UncountFailure fails while the store is cut.
func (o *Store) UncountFailure(ctx context.Context, team, key string, started time.Time) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.UncountFailure(ctx, team, key, started)
}

// Failures fails while the store is cut.
func (o *Store) Failures(ctx context.Context, team, key string, at time.Time) (store.Failures, error) {
	if err := o.down(); err != nil {
		return store.Failures{}, err
	}
	return o.Store.Failures(ctx, team, key, at)
}

// FindUsers fails while the store is cut.
func (o *Store) FindUsers(ctx context.Context, team string, f store.UserFilter, p store.Page) ([]store.User, string, error) {
	if err := o.down(); err != nil {
		return nil, "", err
	}
	return o.Store.FindUsers(ctx, team, f, p)
}

// FindGroups fails while the store is cut.
func (o *Store) FindGroups(ctx context.Context, team string, f store.NameFilter, p store.Page) ([]store.Group, string, error) {
	if err := o.down(); err != nil {
		return nil, "", err
	}
	return o.Store.FindGroups(ctx, team, f, p)
}

// FindApps fails while the store is cut.
func (o *Store) FindApps(ctx context.Context, team string, f store.NameFilter, p store.Page) ([]store.Application, string, error) {
	if err := o.down(); err != nil {
		return nil, "", err
	}
	return o.Store.FindApps(ctx, team, f, p)
}

// FindClients fails while the store is cut.
func (o *Store) FindClients(ctx context.Context, team string, f store.ClientFilter, p store.Page) ([]store.Client, string, error) {
	if err := o.down(); err != nil {
		return nil, "", err
	}
	return o.Store.FindClients(ctx, team, f, p)
}

// FindKeys fails while the store is cut.
func (o *Store) FindKeys(ctx context.Context, team string, f store.KeyFilter, p store.Page) ([]store.StaticKey, string, error) {
	if err := o.down(); err != nil {
		return nil, "", err
	}
	return o.Store.FindKeys(ctx, team, f, p)
}

// FindPermissions fails while the store is cut.
func (o *Store) FindPermissions(ctx context.Context, team string, f store.PermissionFilter, p store.Page) ([]store.Permission, string, error) {
	if err := o.down(); err != nil {
		return nil, "", err
	}
	return o.Store.FindPermissions(ctx, team, f, p)
}

// UsersByID fails while the store is cut.
func (o *Store) UsersByID(ctx context.Context, team string, ids []string) ([]store.User, error) {
	if err := o.down(); err != nil {
		return nil, err
	}
	return o.Store.UsersByID(ctx, team, ids)
}

// GroupByID fails while the store is cut.
func (o *Store) GroupByID(ctx context.Context, team, id string) (store.Group, error) {
	if err := o.down(); err != nil {
		return store.Group{}, err
	}
	return o.Store.GroupByID(ctx, team, id)
}

// UpdateGroup fails while the store is cut.
func (o *Store) UpdateGroup(ctx context.Context, team, name string, g store.Group) error {
	if err := o.down(); err != nil {
		return err
	}
	return o.Store.UpdateGroup(ctx, team, name, g)
}

// Memberships fails while the store is cut.
func (o *Store) Memberships(ctx context.Context, team string, userIDs []string) ([]store.Membership, error) {
	if err := o.down(); err != nil {
		return nil, err
	}
	return o.Store.Memberships(ctx, team, userIDs)
}

// QueryUsers fails while the store is cut.
func (o *Store) QueryUsers(ctx context.Context, team string, q store.Query) ([]store.User, int, error) {
	if err := o.down(); err != nil {
		return nil, 0, err
	}
	return o.Store.QueryUsers(ctx, team, q)
}

// QueryGroups fails while the store is cut.
func (o *Store) QueryGroups(ctx context.Context, team string, q store.Query) ([]store.Group, int, error) {
	if err := o.down(); err != nil {
		return nil, 0, err
	}
	return o.Store.QueryGroups(ctx, team, q)
}
