// Package store defines Gatehouse's persistence contract: the records of
// the domain model (docs/ARCHITECTURE.md) and the one Store interface that every backend
// (SQLite, PostgreSQL) implements and the conformance suite in storetest
// checks.
//
// Every method names its team explicitly and every key includes the team:
// nothing of one team can be read, changed or deleted through another.
// Secrets (client secrets, static keys, codes, refresh tokens) are stored
// only as keyed hashes; the store never sees the secret itself.
package store

import (
	"context"
	"errors"
	"time"
)

// Errors every backend returns, wrapped with context; test with errors.Is.
var (
	ErrNotFound      = errors.New("not found")
	ErrAlreadyExists = errors.New("already exists")
	// ErrConflict reports a write that lost a race or violates a rule the
	// store enforces (for example a refresh token that was already spent).
	ErrConflict = errors.New("conflict")
	// ErrInvalid reports an argument the store cannot use, such as a
	// malformed page cursor.
	ErrInvalid = errors.New("invalid argument")
	// ErrTooBroad reports a query (QueryUsers, QueryGroups) whose
	// condition no index narrows to at most MaxExamined records: serving
	// it would read an unbounded part of a table.
	ErrTooBroad = errors.New("the query is too broad to serve")
	// ErrUnavailable is a store that cannot answer now: the database does
	// not answer within the request's budget, refuses connections, is
	// read-only or its disk is full. Callers answer 503 with Retry-After;
	// the error wrapping it names the cause.
	ErrUnavailable = errors.New("database unavailable")
)

// Team is a tenant. Its settings live on the record so that one read gives
// everything a request needs.
type Team struct {
	Name      string
	CreatedAt time.Time
	Settings  TeamSettings
}

// TeamSettings are per-team overrides; zero values mean "use the server's".
type TeamSettings struct {
	AccessTokenTTL time.Duration // 0: server default
	ScopeFormat    string        // "" or "array": JSON array; "string": RFC 9068 space-separated
	SigningAlg     string        // "" : server default (ES384)

	// Static key sunset policy. A nil time
	// means "not set: take the server's".
	StaticKeysDeprecatedSince *time.Time
	StaticKeysSunsetAt        *time.Time
	StaticKeysLink            string
	StaticKeysRefuseNew       bool
}

// User is a person in a team.
type User struct {
	Team         string
	ID           string // UUID
	Email        string // unique in the team, stored lower-cased
	Name         string
	PasswordHash string // argon2id, PHC string form; "" for none (a provisioned user), which no password matches
	TeamAdmin    bool
	Disabled     bool
	CreatedAt    time.Time
	// UpdatedAt is the time of the last change (CreatedAt until one);
	// UpdateUser keeps the stored one when it is zero.
	UpdatedAt time.Time
	// What an identity provider keeps of the user (SCIM 2.0): its own
	// ID for the user, the parts of the name, and the addresses (the
	// sign-in address is Email).
	ExternalID string
	GivenName  string
	FamilyName string
	Emails     []Email
}

// Email is one of a user's addresses as an identity provider lists them
// (SCIM's emails): at most MaxEmails, each value at most 320 bytes.
type Email struct {
	Value   string `json:"value"`
	Type    string `json:"type,omitempty"`
	Primary bool   `json:"primary,omitempty"`
	Display string `json:"display,omitempty"`
}

// MaxEmails bounds User.Emails.
const MaxEmails = 10

// Session is a user's web sign-in (internal/session), stored as the keyed
// hash of its random ID: the ID itself is only in the user's cookie. A
// session lives until ExpiresAt, until it is deleted (sign-out, "sign out
// everywhere"), or until its user's password changes or the user is
// disabled or deleted.
type Session struct {
	Team       string
	Hash       []byte
	UserID     string
	CreatedAt  time.Time
	LastSeenAt time.Time // updated at most once a minute
	ExpiresAt  time.Time
	IP         string // where it was started
	UserAgent  string
}

// Group is a named set of users.
type Group struct {
	Team string
	// ID names the group for good, through renames (SCIM's id). An empty
	// ID given to CreateGroup gets a random UUID.
	ID         string
	Name       string
	ExternalID string // an identity provider's own ID for the group
	CreatedAt  time.Time
	UpdatedAt  time.Time // the last change of name or external ID, or of members through UpdateGroup
	Members    []string  // user IDs, filled by ListGroups, Group and the other reads that say so
}

// Membership is a user's membership of a group, with the group's ID.
type Membership struct {
	UserID  string
	GroupID string
	Group   string // its name
}

// Application is a non-person principal that holds AppKeys.
type Application struct {
	Team      string
	Name      string
	CreatedAt time.Time
}

// Client is a registered OAuth 2.0 client.
type Client struct {
	Team           string
	ID             string // UUID client_id
	Name           string
	GrantTypes     []string
	AuthMethod     string
	Scopes         []string
	RedirectURIs   []string
	AccessTokenTTL time.Duration // 0: team default
	// IDTokenAlg is the client's id_token_signed_response_alg (OpenID
	// Connect): RS256, ES256, ES384 or EdDSA; "" means RS256.
	IDTokenAlg string
	// PostLogoutRedirectURIs are where RP-initiated logout may send the
	// user back, each matched exactly.
	PostLogoutRedirectURIs []string
	CreatedAt              time.Time
	Secrets                []ClientSecret // filled by Client and ListClients
}

// ClientSecret is one valid secret of a client, as its keyed hash. A client
// has one current secret and, during a rotation's grace period, the old one
// with an ExpiresAt.
type ClientSecret struct {
	ID        string
	Hash      []byte
	CreatedAt time.Time
	ExpiresAt *time.Time
}

// Static key kinds.
const (
	KeyKindUser = "user" // user API key, sent as Bearer
	KeyKindApp  = "app"  // AppKey, sent as AppKey
)

// StaticKey is a user API key or an AppKey, as its keyed hash.
type StaticKey struct {
	Team       string
	ID         string // UUID, the first part of the key
	Kind       string // KeyKindUser or KeyKindApp
	Owner      string // user ID (user keys) or application name (AppKeys)
	Hash       []byte
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	LastUsedAt *time.Time
	LastUsedIP string
	LastUsedUA string
	MigratedTo string // client_id created by `static-keys migrate`, if any
}

// KeyUse is a batched last-used record.
type KeyUse struct {
	ID        string
	At        time.Time
	IP        string
	UserAgent string
}

// Permission says a principal may do an action on a resource pattern.
type Permission struct {
	Team      string
	Principal string // user:<email>, group:<name>, app:<name>, client:<client_id>
	Action    string
	Resource  string
	CreatedAt time.Time
}

// Consent is a user's grant of scopes to a client.
type Consent struct {
	Team       string
	UserID     string
	ClientID   string
	Scopes     []string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	LastUsedAt *time.Time
}

// AuthCode is an authorization code, stored as its keyed hash.
type AuthCode struct {
	Team                string
	Hash                []byte
	ClientID            string
	UserID              string
	RedirectURI         string
	Scopes              []string
	CodeChallenge       string
	CodeChallengeMethod string
	// Nonce is the OpenID Connect nonce of the authorization request, ""
	// when none was sent; the code's ID token echoes it.
	Nonce string
	// AuthTime is when the user signed in to the session that approved
	// the code (the ID token's auth_time); zero when unknown.
	AuthTime  time.Time
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// RefreshToken is one refresh token of a family, stored as its keyed hash.
type RefreshToken struct {
	Team     string
	Hash     []byte
	FamilyID string
	ClientID string
	UserID   string
	Scopes   []string
	// AuthTime is the AuthTime of the code that started the family, which
	// every ID token of the family carries; zero when unknown.
	AuthTime        time.Time
	CreatedAt       time.Time
	ExpiresAt       time.Time // idle expiry of this token
	FamilyExpiresAt time.Time // absolute expiry of the family
	UsedAt          *time.Time
	RevokedAt       *time.Time
}

// SigningKey is a team's token signing key; the private part is sealed with
// the master key.
type SigningKey struct {
	Team          string
	ID            string // kid
	Alg           string
	PublicJWK     []byte // JSON
	PrivateSealed []byte
	CreatedAt     time.Time
	ActivateAt    time.Time  // published from CreatedAt, signs from ActivateAt
	RetiredAt     *time.Time // stops signing
	DeleteAfter   *time.Time // leaves the JWKS (every token it signed has expired)
}

// AuditEvent is an append-only record of a security-relevant change or
// decision.
type AuditEvent struct {
	Team string
	ID   int64 // assigned by the store
	// EventID, when not empty, names the event uniquely in its team:
	// AppendAudit stores an event whose EventID the team's log holds
	// already no second time, so that a writer may send it again after a
	// failure without making a duplicate (internal/auditlog gives every
	// hot-path event one). Events written in a transaction with their
	// change leave it empty.
	EventID   string
	At        time.Time
	Actor     string // "cli", "user:<email>", "client:<id>", ...
	Action    string // "user.create", "client.secret.regenerate", ...
	Target    string
	IP        string
	UserAgent string
	Detail    map[string]string
}

// LoginEvent is one login attempt.
type LoginEvent struct {
	Team      string
	ID        int64
	At        time.Time
	Email     string
	UserID    string // empty when no such user
	Success   bool
	Reason    string
	IP        string
	UserAgent string
}

// RevokedToken is an entry of the access-token denylist.
type RevokedToken struct {
	Team      string
	JTI       string
	ExpiresAt time.Time
}

// GrantRevocation cuts off the access tokens a user delegated to a client
// (authorization code flow): every token of (UserID, ClientID) issued at or
// before RevokedAt is refused. Access tokens are JWTs that no store holds,
// so this cut-off is how consent revocation and code or refresh-token
// replay reach the ones already issued. It is kept until ExpiresAt, by
// which time every such token has expired.
type GrantRevocation struct {
	Team      string
	UserID    string
	ClientID  string
	RevokedAt time.Time
	ExpiresAt time.Time
}

// Failures is one key's count of failed attempts in its current window,
// kept for every node (internal/ratelimit's failure budgets). A window
// opens with the key's first failure and lasts the window the caller
// names then; a key whose window has ended counts from zero again.
type Failures struct {
	// Team is "" for a key of the whole server (an address), whose
	// failures every team's attempts add to.
	Team      string
	Key       string
	Count     int
	StartedAt time.Time
	ExpiresAt time.Time
}

// Page selects a page of a listing: at most Limit records after the opaque
// Cursor returned by the previous page.
type Page struct {
	Limit  int
	Cursor string
}

// AuditFilter narrows an audit log listing; zero fields match everything.
type AuditFilter struct {
	Since, Until time.Time
	Actor        string
	Action       string
	Target       string
}

// LoginFilter narrows a login history listing.
type LoginFilter struct {
	Since, Until time.Time
	Email        string
	Result       string // "", "success", "failure"
}

// The filters of the admin listings (the Find methods). Query matches the
// start of a name (and of a user's email), ignoring the case of ASCII
// letters; zero fields match everything.
type (
	// UserFilter narrows FindUsers: Query matches the start of the email
	// or of the name.
	UserFilter struct{ Query string }
	// NameFilter narrows FindGroups and FindApps: Query matches the start
	// of the name.
	NameFilter struct{ Query string }
	// ClientFilter narrows FindClients: Query matches the start of the
	// name; GrantType and Scope name one the client must have.
	ClientFilter struct{ Query, GrantType, Scope string }
	// KeyFilter narrows FindKeys: Kind and Owner (a user ID or an
	// application name) select an owner's keys; UsedBefore selects keys
	// not used since (never used included), UsedSince keys used since.
	KeyFilter struct {
		Kind, Owner           string
		UsedBefore, UsedSince *time.Time
	}
	// PermissionFilter narrows FindPermissions to one principal's.
	PermissionFilter struct{ Principal string }
)

// The directory queries (QueryUsers, QueryGroups): SCIM filters as the
// store serves them. A Cond is a comparison of a Field with a value, the
// And or Or of two or more conditions (Of), the Not of one, or Any: that
// some element of a multi-valued field (Field: FieldUserEmails,
// FieldGroupMembers) meets Of[0], a condition on its element fields.
//
// How each field compares: the user's email (SCIM's userName) and the
// emails' values and types ignore case; names (a user's display name and
// a group's) ignore the case of ASCII letters; IDs and external IDs are
// exact; times compare in microseconds. FieldUserDisabled takes Eq and Ne
// of a bool; times and strings take every comparison; Pr is "has a
// non-empty value". Members take only Eq of a user ID.
//
// A query is served only within bounds: the part of the condition that
// indexes serve (equality, prefixes and ranges of IDs, emails, external
// IDs, names and times) must narrow the records to at most MaxExamined
// before the rest (contains, ends-with, not, other fields) is tested on
// them; otherwise the query fails with ErrTooBroad, reading no more than
// MaxExamined index entries to find out.
type (
	Op    string
	Field string
	Cond  struct {
		Op    Op
		Field Field
		Value any // string, bool or time.Time
		Of    []Cond
	}
	// Query selects a page of records: those Where selects (nil: all),
	// sorted by SortBy (by ID when empty; ID breaks ties) ascending or
	// Desc, skipping Offset, at most Limit (0: none, only the count;
	// at most 1000). WithMembers reads groups' members too.
	Query struct {
		Where       *Cond
		SortBy      Field
		Desc        bool
		Offset      int
		Limit       int
		WithMembers bool
	}
)

// Operators of a Cond.
const (
	OpAnd Op = "and"
	OpOr  Op = "or"
	OpNot Op = "not"
	OpAny Op = "any"
	OpEq  Op = "eq"
	OpNe  Op = "ne"
	OpCo  Op = "co"
	OpSw  Op = "sw"
	OpEw  Op = "ew"
	OpPr  Op = "pr"
	OpGt  Op = "gt"
	OpGe  Op = "ge"
	OpLt  Op = "lt"
	OpLe  Op = "le"
)

// Fields of users and groups, and of their multi-valued fields' elements.
const (
	FieldUserID         Field = "user.id"
	FieldUserEmail      Field = "user.email"
	FieldUserName       Field = "user.name"
	FieldUserExternalID Field = "user.external_id"
	FieldUserGivenName  Field = "user.given_name"
	FieldUserFamilyName Field = "user.family_name"
	FieldUserDisabled   Field = "user.disabled"
	FieldUserCreated    Field = "user.created"
	FieldUserUpdated    Field = "user.updated"
	FieldUserEmails     Field = "user.emails"
	FieldEmailValue     Field = "email.value"
	FieldEmailType      Field = "email.type"
	FieldEmailPrimary   Field = "email.primary"
	FieldEmailDisplay   Field = "email.display"

	FieldGroupID         Field = "group.id"
	FieldGroupName       Field = "group.name"
	FieldGroupExternalID Field = "group.external_id"
	FieldGroupCreated    Field = "group.created"
	FieldGroupUpdated    Field = "group.updated"
	FieldGroupMembers    Field = "group.members"
	FieldMemberValue     Field = "member.value"
)

// MaxExamined is how many records a query may test beyond what its
// indexes select.
const MaxExamined = 10_000

// Change names what a write touched, so that caches on every node can drop
// it. An empty field widens it: an empty Key means every record of the kind
// in the team, an empty Kind every kind, an empty Team every team (a
// watcher sends Change{} when it cannot tell what it missed).
type Change struct {
	Team string
	Kind string
	Key  string
}

// Change kinds.
const (
	KindTeam       = "team"
	KindUser       = "user"
	KindGroup      = "group"
	KindApp        = "app"
	KindClient     = "client"
	KindKey        = "key"
	KindPermission = "permission"
	KindConsent    = "consent"
	KindSigningKey = "signing-key"
	KindRevoked    = "revoked"
	KindRefresh    = "refresh"
	// KindGrantRevoked is a GrantRevocation; its key is
	// "<user id>/<client id>".
	KindGrantRevoked = "grant-revoked"
	// KindSession is the deletion of web sessions; its key is the user
	// ID.
	KindSession = "session"
	// KindFailures is a key's count of failures (Failures); its team is
	// "" for a key of the whole server.
	KindFailures = "failures"
)

// PurgeKind is a kind of record that Store.Purge deletes once it has
// expired: the record's own expiry for most kinds, its age for the
// histories, whose cut-off is now minus their retention.
type PurgeKind string

// The kinds Purge deletes, and what "expired before t" means for each.
const (
	// PurgeAuthCodes: codes whose ExpiresAt is before t. A used code is
	// kept until then, so that its replay is still recognised.
	PurgeAuthCodes PurgeKind = "auth_codes"
	// PurgeRefreshTokens: tokens whose family's FamilyExpiresAt is before
	// t. A spent token is kept until then, so that its replay still
	// revokes the family.
	PurgeRefreshTokens PurgeKind = "refresh_tokens"
	// PurgeRevokedTokens: denylist entries whose ExpiresAt is before t.
	PurgeRevokedTokens PurgeKind = "revoked_tokens"
	// PurgeGrantRevocations: grant cut-offs whose ExpiresAt is before t.
	PurgeGrantRevocations PurgeKind = "grant_revocations"
	// PurgeClientSecrets: client secrets whose grace period (ExpiresAt)
	// ended before t.
	PurgeClientSecrets PurgeKind = "client_secrets"
	// PurgeSigningKeys: retired signing keys whose DeleteAfter is before t.
	PurgeSigningKeys PurgeKind = "signing_keys"
	// PurgeAuditEvents: audit events of every team, the server-wide ones
	// included, that happened (At) before t.
	PurgeAuditEvents PurgeKind = "audit_events"
	// PurgeLoginEvents: login history of every team from before t.
	PurgeLoginEvents PurgeKind = "login_events"
	// PurgeChanges: records of the backend's change log written before t,
	// if it keeps one; a purge passes now minus ChangeLogRetention.
	PurgeChanges PurgeKind = "changes"
	// PurgeSessions: web sessions whose ExpiresAt is before t.
	PurgeSessions PurgeKind = "sessions"
	// PurgeFailures: failure counts whose window ended (ExpiresAt) before
	// t, of every team and of the whole server.
	PurgeFailures PurgeKind = "failures"
)

// PurgeKinds lists every PurgeKind.
var PurgeKinds = []PurgeKind{PurgeAuthCodes, PurgeRefreshTokens, PurgeRevokedTokens, PurgeGrantRevocations,
	PurgeClientSecrets, PurgeSigningKeys, PurgeAuditEvents, PurgeLoginEvents, PurgeChanges, PurgeSessions, PurgeFailures}

// ChangeLogRetention is how long a change log keeps its records: far
// longer than any watcher takes to read them.
const ChangeLogRetention = time.Hour

// Queries is every read and write. Within Store.Tx they run in one
// transaction; on the Store itself each runs on its own. Every write also
// records a Change, delivered to every node's watchers after commit, except
// the bookkeeping that no cache depends on (RecordKeyUse, TouchConsent,
// AppendAudit, AppendLogin, CreateAuthCode, CreateRefreshToken,
// CreateSession that evicts nothing, TouchSession).
//
// Deleting a principal (user, group, application, client) deletes its
// permissions, and deleting a user or an application its static keys, so a
// later principal of the same name inherits nothing; changing a user's
// email renames its user:<email> permissions. Deleting a user, changing
// their password hash or disabling them deletes their sessions in the same
// transaction, so that no session outlives the credentials it was made
// with.
type Queries interface {
	// Teams.
	CreateTeam(ctx context.Context, t Team) error
	Team(ctx context.Context, name string) (Team, error)
	ListTeams(ctx context.Context) ([]Team, error)
	UpdateTeamSettings(ctx context.Context, name string, s TeamSettings) error
	DeleteTeam(ctx context.Context, name string) error
	// LockTeam holds the team's row locked until the transaction ends, so
	// that read-then-write steps of several nodes on one team (making the
	// team's first signing key, rotating it) run one after the other.
	// Outside Tx it is useless. It records no change.
	LockTeam(ctx context.Context, name string) error

	// Users.
	CreateUser(ctx context.Context, u User) error
	User(ctx context.Context, team, id string) (User, error)
	UserByEmail(ctx context.Context, team, email string) (User, error)
	ListUsers(ctx context.Context, team string, p Page) ([]User, string, error)
	UpdateUser(ctx context.Context, u User) error
	DeleteUser(ctx context.Context, team, id string) error
	// UsersByID reads the team's users of ids (at most 1000), in no
	// particular order; an ID that names no user is left out.
	UsersByID(ctx context.Context, team string, ids []string) ([]User, error)
	// FindUsers pages through the team's users that f selects, by email.
	FindUsers(ctx context.Context, team string, f UserFilter, p Page) ([]User, string, error)

	// Sessions. A session's key is the keyed hash of its ID; every
	// deletion records a KindSession change keyed by the user's ID.
	//
	// CreateSession stores s and then deletes the user's oldest sessions
	// (by CreatedAt) so that at most keep remain; keep < 1 keeps all. A
	// user that does not exist is ErrNotFound.
	CreateSession(ctx context.Context, s Session, keep int) error
	Session(ctx context.Context, team string, hash []byte) (Session, error)
	// ListSessions lists the user's sessions, expired ones included,
	// newest first.
	ListSessions(ctx context.Context, team, userID string) ([]Session, error)
	// TouchSession sets the session's LastSeenAt; it records no change.
	TouchSession(ctx context.Context, team string, hash []byte, at time.Time) error
	// DeleteSession deletes one session; one that does not exist is
	// ErrNotFound.
	DeleteSession(ctx context.Context, team string, hash []byte) error
	// DeleteUserSessions deletes every session of the user and returns
	// how many there were (0 for a user without any, or unknown).
	DeleteUserSessions(ctx context.Context, team, userID string) (int, error)

	// Groups.
	CreateGroup(ctx context.Context, g Group) error
	Group(ctx context.Context, team, name string) (Group, error)
	ListGroups(ctx context.Context, team string, p Page) ([]Group, string, error)
	DeleteGroup(ctx context.Context, team, name string) error
	AddGroupMember(ctx context.Context, team, group, userID string) error
	RemoveGroupMember(ctx context.Context, team, group, userID string) error
	UserGroups(ctx context.Context, team, userID string) ([]string, error)
	// FindGroups pages through the team's groups that f selects, by name,
	// with their members.
	FindGroups(ctx context.Context, team string, f NameFilter, p Page) ([]Group, string, error)
	// GroupByID reads a group, with its members, by its ID.
	GroupByID(ctx context.Context, team, id string) (Group, error)
	// UpdateGroup writes g's Name, ExternalID and UpdatedAt to the group
	// now named name. A new name takes the memberships and the
	// group:<name> permissions along; a name another group has is
	// ErrAlreadyExists.
	UpdateGroup(ctx context.Context, team, name string, g Group) error
	// Memberships lists the groups of the users of userIDs (at most
	// 1000), by user, then group name.
	Memberships(ctx context.Context, team string, userIDs []string) ([]Membership, error)
	// QueryUsers and QueryGroups return the page of the team's users or
	// groups that q selects and how many it selects in all (see Cond);
	// a condition no index narrows enough is ErrTooBroad, a field or
	// operator they cannot compare ErrInvalid.
	QueryUsers(ctx context.Context, team string, q Query) ([]User, int, error)
	QueryGroups(ctx context.Context, team string, q Query) ([]Group, int, error)

	// Applications.
	CreateApp(ctx context.Context, a Application) error
	App(ctx context.Context, team, name string) (Application, error)
	ListApps(ctx context.Context, team string) ([]Application, error)
	DeleteApp(ctx context.Context, team, name string) error
	// FindApps pages through the team's applications that f selects, by
	// name.
	FindApps(ctx context.Context, team string, f NameFilter, p Page) ([]Application, string, error)

	// OAuth clients and their secrets.
	CreateClient(ctx context.Context, c Client) error
	Client(ctx context.Context, team, id string) (Client, error)
	ListClients(ctx context.Context, team string) ([]Client, error)
	UpdateClient(ctx context.Context, c Client) error
	DeleteClient(ctx context.Context, team, id string) error
	// AddClientSecret adds s. With expireOthers nil every other secret of
	// the client is deleted; otherwise every other secret without an expiry
	// gets expireOthers (a rotation's grace period).
	AddClientSecret(ctx context.Context, team, clientID string, s ClientSecret, expireOthers *time.Time) error
	// FindClients pages through the team's clients that f selects, by
	// name, with their secrets.
	FindClients(ctx context.Context, team string, f ClientFilter, p Page) ([]Client, string, error)

	// Static keys.
	CreateKey(ctx context.Context, k StaticKey) error
	Key(ctx context.Context, team, id string) (StaticKey, error)
	ListKeys(ctx context.Context, team string) ([]StaticKey, error)
	DeleteKey(ctx context.Context, team, id string) error
	RecordKeyUse(ctx context.Context, team string, uses []KeyUse) error
	SetKeyMigrated(ctx context.Context, team, id, clientID string) error
	// FindKeys pages through the team's static keys that f selects, in
	// the order they were made (creation time, then id).
	FindKeys(ctx context.Context, team string, f KeyFilter, p Page) ([]StaticKey, string, error)

	// Permissions.
	GrantPermission(ctx context.Context, p Permission) error
	RevokePermission(ctx context.Context, p Permission) error
	ListPermissions(ctx context.Context, team, principal string) ([]Permission, error)
	// FindPermissions pages through the team's permissions that f
	// selects, by principal, action and resource.
	FindPermissions(ctx context.Context, team string, f PermissionFilter, p Page) ([]Permission, string, error)

	// Consents.
	UpsertConsent(ctx context.Context, c Consent) error
	Consent(ctx context.Context, team, userID, clientID string) (Consent, error)
	ListConsents(ctx context.Context, team, userID string) ([]Consent, error)
	TouchConsent(ctx context.Context, team, userID, clientID string, at time.Time) error
	DeleteConsent(ctx context.Context, team, userID, clientID string) error

	// Authorization codes.
	CreateAuthCode(ctx context.Context, c AuthCode) error
	// UseAuthCode marks the code of clientID used at `at` and returns it
	// as it was before; a code already used comes back with UsedAt set and
	// ErrConflict. A code of another client is ErrNotFound and stays as it
	// is: only the client it was issued to can spend it.
	UseAuthCode(ctx context.Context, team, clientID string, hash []byte, at time.Time) (AuthCode, error)

	// Refresh tokens.
	CreateRefreshToken(ctx context.Context, t RefreshToken) error
	RefreshToken(ctx context.Context, team string, hash []byte) (RefreshToken, error)
	// UseRefreshToken marks the token used; a token already used or revoked
	// comes back with ErrConflict.
	UseRefreshToken(ctx context.Context, team string, hash []byte, at time.Time) (RefreshToken, error)
	RevokeRefreshFamily(ctx context.Context, team, familyID string, at time.Time) error
	RevokeRefreshTokensOf(ctx context.Context, team, userID, clientID string, at time.Time) error

	// Signing keys.
	CreateSigningKey(ctx context.Context, k SigningKey) error
	ListSigningKeys(ctx context.Context, team string) ([]SigningKey, error)
	RetireSigningKey(ctx context.Context, team, id string, retiredAt, deleteAfter time.Time) error
	DeleteSigningKey(ctx context.Context, team, id string) error

	// Access-token denylist.
	RevokeToken(ctx context.Context, r RevokedToken) error
	ListRevokedTokens(ctx context.Context, team string, now time.Time) ([]RevokedToken, error)
	// RevokeGrant records a cut-off of a (user, client) pair's access
	// tokens. A pair cut off before keeps the later RevokedAt and the later
	// ExpiresAt of the two.
	RevokeGrant(ctx context.Context, r GrantRevocation) error
	// ListGrantRevocations lists the team's cut-offs still unexpired at now.
	ListGrantRevocations(ctx context.Context, team string, now time.Time) ([]GrantRevocation, error)
	// GrantRevocation returns the cut-off of one user's grant to one
	// client if it is still unexpired at now, else ErrNotFound.
	GrantRevocation(ctx context.Context, team, userID, clientID string, now time.Time) (GrantRevocation, error)

	// Audit and login history, append-only. AppendAudit writes the
	// events in one transaction, in order, skipping those whose EventID
	// their team's log holds already.
	AppendAudit(ctx context.Context, events ...AuditEvent) error
	ListAudit(ctx context.Context, team string, f AuditFilter, p Page) ([]AuditEvent, string, error)
	AppendLogin(ctx context.Context, e LoginEvent) error
	ListLogins(ctx context.Context, team string, f LoginFilter, p Page) ([]LoginEvent, string, error)

	// Failure budgets, counted for every node. team is "" for a key of the
	// whole server. Each call that changes a count records a change of
	// KindFailures naming the key.
	//
	// CountFailure adds one to key's count at `at`: to its window if one
	// is open at `at`, else to a new window [at, at+window). With max > 0
	// it adds only while the count is below max (a reservation that no
	// other node can overtake), and added says whether it did. It returns
	// the window as it is afterwards (as it was found, when not added).
	CountFailure(ctx context.Context, team, key string, at time.Time, window time.Duration, max int) (f Failures, added bool, err error)
	// UncountFailure takes one back from key's window that started at
	// started (a reservation given back), if that window is still the
	// key's and its count is above zero; otherwise it does nothing.
	UncountFailure(ctx context.Context, team, key string, started time.Time) error
	// Failures returns key's window open at `at`, or ErrNotFound when it
	// has none.
	Failures(ctx context.Context, team, key string, at time.Time) (Failures, error)
}

// Store is a backend: Queries plus transactions, change watching and
// housekeeping.
type Store interface {
	Queries
	// Tx runs fn in one transaction, committed if fn returns nil.
	Tx(ctx context.Context, fn func(q Queries) error) error
	// Watch calls fn for every change committed by any process, in commit
	// order, until ctx ends. Its first delivery is Change{}, once it has
	// its position: what committed before that is not delivered, and may
	// already be in a cache. Changes are delivered within one second. While
	// the database cannot be reached Watch keeps trying; once it can, it
	// delivers what changed meanwhile (a change may come twice), or
	// Change{} if it cannot tell.
	Watch(ctx context.Context, fn func(Change)) error
	// Purge deletes, in one short transaction, at most limit records of
	// kind that expired before `before` (see PurgeKind), of every team,
	// and returns how many it deleted: fewer than limit means that no
	// more are left. A purge calls it again, after a pause, while it
	// deletes limit: other writers get the database between batches, so
	// that no purge holds the write lock for long. A kind the backend does
	// not keep (the change log on PostgreSQL) deletes nothing.
	Purge(ctx context.Context, kind PurgeKind, before time.Time, limit int) (int, error)
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Probe checks that the database accepts writes now: it rewrites one
	// tiny row (and, on SQLite, checks the free space of the database's
	// file system, from a connection of its own). An error whose cause is
	// the database's state (read-only, disk full, unreachable) wraps
	// ErrUnavailable and names the cause. Readiness calls it every few
	// seconds, not per request.
	Probe(ctx context.Context) error
	// Check runs the backend's integrity check.
	Check(ctx context.Context) error
	Dialect() string
	Close() error
}
