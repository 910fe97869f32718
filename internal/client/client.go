// Package client registers OAuth 2.0 clients (RFC 6749 section 2) and
// authenticates them with their secrets (section 2.3.1): the domain logic
// behind "gatehouse admin client" and the token endpoint's client
// authentication. It knows nothing of HTTP or SQL.
//
// A client's secret carries 256 random bits; it is shown once, when made,
// and stored only as its keyed hash (HMAC-SHA-256, secret.Hasher).
// Regenerating a secret may keep the old one valid for a grace period, so
// that deployments can roll over without downtime.
//
// Authenticate is on the hot path of every token request: warm, it reads
// nothing from the database. Clients are cached in process and dropped when
// a change to them reaches Invalidate, which the server subscribes to the
// change hub.
package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/change"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Grant types (RFC 6749 sections 4.1, 4.4 and 6).
const (
	GrantClientCredentials = "client_credentials"
	GrantAuthorizationCode = "authorization_code"
	// GrantRefreshToken is not registered: a client registered for
	// authorization_code may refresh the tokens it gets.
	GrantRefreshToken = "refresh_token"
)

// Client authentication methods (RFC 7591 section 2, token_endpoint_auth_method).
const (
	AuthSecretBasic = "client_secret_basic" // HTTP Basic, RFC 6749 section 2.3.1
	AuthSecretPost  = "client_secret_post"  // client_id and client_secret in the body
)

// Bounds of a client's own access token lifetime (0: the team's).
const (
	MinAccessTokenTTL = time.Minute
	MaxAccessTokenTTL = 24 * time.Hour
)

// MaxGrace is the longest an old secret may keep working after a new one is
// made.
const MaxGrace = 7 * 24 * time.Hour

// IDTokenAlgs are the algorithms a client may register for its ID tokens
// (OpenID Connect's id_token_signed_response_alg), DefaultIDTokenAlg first:
// RS256, which OpenID Connect requires when a client registers none.
var IDTokenAlgs = []string{signing.RS256, signing.ES256, signing.ES384, signing.EdDSA}

// DefaultIDTokenAlg signs the ID tokens of a client that registered no
// algorithm.
const DefaultIDTokenAlg = signing.RS256

// IDTokenAlg is the algorithm c's ID tokens are signed with.
func IDTokenAlg(c store.Client) string {
	if c.IDTokenAlg == "" {
		return DefaultIDTokenAlg
	}
	return c.IDTokenAlg
}

// ErrInvalidClient reports a client authentication that failed: unknown
// client, wrong team, wrong or expired secret (RFC 6749 section 5.2
// invalid_client). The errors Authenticate returns wrap it with the reason,
// for the log; the client must be told no more than invalid_client.
var ErrInvalidClient = errors.New("invalid client")

// Service registers and authenticates clients.
//
// Store, Hasher and Scopes are required; Gen's zero value draws from
// crypto/rand; Now defaults to time.Now. Set the fields before first use
// and do not change them after: the cache behind Authenticate and Client
// is built on first use. A Service must not be copied after first use.
type Service struct {
	Store  store.Store
	Hasher *secret.Hasher
	Gen    secret.Generator
	Now    func() time.Time
	Scopes *scope.Catalog
	// Caches counts and logs the clients served stale while the store
	// cannot answer (nil: not counted).
	Caches *change.Monitor

	once    sync.Once
	clients *change.Cache[cacheKey, store.Client] // clients, and ids known to have none
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// NewClient is what registering a client takes.
type NewClient struct {
	Name           string
	GrantTypes     []string
	AuthMethod     string
	Scopes         []string
	RedirectURIs   []string
	AccessTokenTTL time.Duration // 0: the team's
	// IDTokenAlg is the client's id_token_signed_response_alg: one of
	// IDTokenAlgs, "" for DefaultIDTokenAlg.
	IDTokenAlg string
	// PostLogoutRedirectURIs are where RP-initiated logout may send the
	// user back (authorization code clients only), each matched exactly.
	PostLogoutRedirectURIs []string
}

// Create registers a client in a team and returns it with its secret,
// which is shown this once: the store keeps only its hash. The client_id
// is a random UUID.
func (s *Service) Create(ctx context.Context, a kernel.Actor, team string, in NewClient) (store.Client, secret.Secret, error) {
	if err := s.validate(in); err != nil {
		return store.Client{}, "", err
	}
	var (
		c   store.Client
		sec secret.Secret
	)
	err := s.Store.Tx(ctx, func(q store.Queries) error {
		var err error
		c, sec, err = s.CreateIn(ctx, q, a, team, in)
		return err
	})
	if err != nil {
		return store.Client{}, "", err
	}
	s.invalidate(team, c.ID) // a cached "missing"
	return c, sec, nil
}

// CreateIn is Create within q, a transaction of a caller that writes more
// in it (the static key migration). After the transaction commits the
// caller should hand store.Change{Team: team, Kind: store.KindClient, Key:
// c.ID} to Invalidate, since a lookup may have cached the client as
// missing.
func (s *Service) CreateIn(ctx context.Context, q store.Queries, a kernel.Actor, team string, in NewClient) (store.Client, secret.Secret, error) {
	if err := s.validate(in); err != nil {
		return store.Client{}, "", err
	}
	id, err := s.Gen.UUID()
	if err != nil {
		return store.Client{}, "", fmt.Errorf("create client: %w", err)
	}
	sec, cs, err := s.newSecret()
	if err != nil {
		return store.Client{}, "", fmt.Errorf("create client: %w", err)
	}
	c := store.Client{
		Team:           team,
		ID:             id,
		Name:           in.Name,
		GrantTypes:     in.GrantTypes,
		AuthMethod:     in.AuthMethod,
		Scopes:         in.Scopes,
		RedirectURIs:   in.RedirectURIs,
		AccessTokenTTL: in.AccessTokenTTL,
		IDTokenAlg:     in.IDTokenAlg,
		CreatedAt:      cs.CreatedAt,
		Secrets:        []store.ClientSecret{cs},

		PostLogoutRedirectURIs: in.PostLogoutRedirectURIs,
	}
	ev := kernel.Event(a, c.CreatedAt, team, "client.create", "client:"+id, map[string]string{
		"name":                         c.Name,
		"grant_types":                  strings.Join(c.GrantTypes, " "),
		"auth_method":                  c.AuthMethod,
		"scopes":                       strings.Join(c.Scopes, " "),
		"id_token_signed_response_alg": c.IDTokenAlg,
		"post_logout_redirect_uris":    strings.Join(c.PostLogoutRedirectURIs, " "),
	})
	if err := kernel.TeamExists(ctx, q, team); err != nil {
		return store.Client{}, "", err
	}
	if err := q.CreateClient(ctx, c); err != nil {
		// The id is random: a conflict is the name, unique in a team (as
		// applications' and groups' are) so that a person telling clients
		// apart by name in a list or on a consent page is not misled.
		if errors.Is(err, store.ErrAlreadyExists) {
			return store.Client{}, "", NameTaken(team, c.Name)
		}
		return store.Client{}, "", fmt.Errorf("create client: %w", err)
	}
	if err := q.AppendAudit(ctx, ev); err != nil {
		return store.Client{}, "", err
	}
	return c, sec, nil
}

// NameTaken is the error for a client name that another client of the team
// has: it is store.ErrAlreadyExists.
func NameTaken(team, name string) error {
	return kernel.Conflict("client name %q already exists in team %s", name, team)
}

// newSecret makes a secret and the record that stores its hash.
func (s *Service) newSecret() (secret.Secret, store.ClientSecret, error) {
	if s.Hasher == nil {
		return "", store.ClientSecret{}, errors.New("client service has no secret hasher")
	}
	sec, err := s.Gen.Token()
	if err != nil {
		return "", store.ClientSecret{}, err
	}
	id, err := s.Gen.UUID()
	if err != nil {
		return "", store.ClientSecret{}, err
	}
	return sec, store.ClientSecret{ID: id, Hash: s.Hasher.Hash(sec.Reveal()), CreatedAt: s.now()}, nil
}

// List lists the team's clients, with their secrets' metadata and hashes.
func (s *Service) List(ctx context.Context, team string) ([]store.Client, error) {
	if err := kernel.TeamExists(ctx, s.Store, team); err != nil {
		return nil, err
	}
	return s.Store.ListClients(ctx, team)
}

// Get reads a client from the store, uncached, with its secrets' metadata
// and hashes. A missing team or client is a wrapped store.ErrNotFound that
// names it.
func (s *Service) Get(ctx context.Context, team, id string) (store.Client, error) {
	return clientIn(ctx, s.Store, team, id)
}

// clientIn reads a client within q, with clear errors.
func clientIn(ctx context.Context, q store.Queries, team, id string) (store.Client, error) {
	if err := kernel.TeamExists(ctx, q, team); err != nil {
		return store.Client{}, err
	}
	if !ValidID(id) {
		return store.Client{}, notFound(team, id)
	}
	c, err := q.Client(ctx, team, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Client{}, notFound(team, id)
	}
	return c, err
}

func notFound(team, id string) error {
	return fmt.Errorf("client %q in team %s: %w", id, team, store.ErrNotFound)
}

// Delete deletes a client with its secrets, consents, codes, refresh
// tokens and permissions.
func (s *Service) Delete(ctx context.Context, a kernel.Actor, team, id string) error {
	ev := kernel.Event(a, s.now(), team, "client.delete", "client:"+id, nil)
	defer s.invalidate(team, id)
	return s.Store.Tx(ctx, func(q store.Queries) error {
		c, err := clientIn(ctx, q, team, id)
		if err != nil {
			return err
		}
		if err := q.DeleteClient(ctx, team, id); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return notFound(team, id)
			}
			return fmt.Errorf("delete client: %w", err)
		}
		ev.Detail = map[string]string{"name": c.Name}
		return q.AppendAudit(ctx, ev)
	})
}

// RegenerateSecret gives a client a new secret and returns it, shown this
// once. With grace 0 every older secret stops working at once; with
// 0 < grace <= MaxGrace the secrets that had no expiry keep working until
// now+grace (those already in a grace period keep theirs).
func (s *Service) RegenerateSecret(ctx context.Context, a kernel.Actor, team, id string, grace time.Duration) (secret.Secret, error) {
	r, err := s.Rotate(ctx, a, team, id, grace)
	return r.Secret, err
}

// Rotate is RegenerateSecret, also saying until when the old secrets work.
// Whoever gets the new secret can act as the client, so an actor must hold
// every permission of the client (kernel.Actor.MayHandOn).
func (s *Service) Rotate(ctx context.Context, a kernel.Actor, team, id string, grace time.Duration) (Rotation, error) {
	if grace < 0 || grace > MaxGrace {
		return Rotation{}, kernel.InvalidField("grace", "grace %s: want 0 (old secrets stop at once) up to %s", grace, MaxGrace)
	}
	sec, cs, err := s.newSecret()
	if err != nil {
		return Rotation{}, fmt.Errorf("regenerate client secret: %w", err)
	}
	var expireOthers *time.Time
	if grace > 0 {
		t := cs.CreatedAt.Add(grace)
		expireOthers = &t
	}
	ev := kernel.Event(a, cs.CreatedAt, team, "client.secret.regenerate", "client:"+id, map[string]string{"grace": grace.String()})
	err = s.Store.Tx(ctx, func(q store.Queries) error {
		if _, err := clientIn(ctx, q, team, id); err != nil {
			return err
		}
		if a.Authority != nil {
			held, err := authz.HeldIn(ctx, q, team, authz.Principal{Kind: authz.Client, Name: id}.String())
			if err != nil {
				return err
			}
			if err := a.MayHandOn("a new secret of client "+id, held.TeamAdmin, held.Grants); err != nil {
				return err
			}
		}
		if err := q.AddClientSecret(ctx, team, id, cs, expireOthers); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return notFound(team, id)
			}
			return fmt.Errorf("regenerate client secret: %w", err)
		}
		return q.AppendAudit(ctx, ev)
	})
	s.invalidate(team, id)
	if err != nil {
		return Rotation{}, err
	}
	return Rotation{Secret: sec, PreviousExpiresAt: expireOthers}, nil
}

// Version names the state of a client's registration and secrets: it
// changes with every change of either, so that an update can be made only
// against the state its caller read (an HTTP ETag).
func Version(c store.Client) string {
	h := sha256.New()
	fmt.Fprintf(h, "%q %q %q %q %q %q %d %q %q\n", c.ID, c.Name, c.GrantTypes, c.AuthMethod, c.Scopes, c.RedirectURIs, c.AccessTokenTTL,
		c.IDTokenAlg, c.PostLogoutRedirectURIs)
	for _, s := range c.Secrets {
		exp := int64(0)
		if s.ExpiresAt != nil {
			exp = s.ExpiresAt.UnixMicro()
		}
		fmt.Fprintf(h, "%q %d\n", s.ID, exp)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Change says what to change of a client's registration: a nil field
// keeps its value. IfVersion, when set, must be the client's Version, or
// nothing changes and the error wraps kernel.ErrStale.
type Change struct {
	Name           *string
	Scopes         *[]string
	RedirectURIs   *[]string
	AccessTokenTTL *time.Duration
	// IDTokenAlg and PostLogoutRedirectURIs change the client's OpenID
	// Connect registration.
	IDTokenAlg             *string
	PostLogoutRedirectURIs *[]string
	IfVersion              string
}

// Update changes a client's name, scopes, redirect URIs, token lifetime,
// ID token algorithm or post-logout redirect URIs, validated as a
// registration is; the grant types and the authentication method stay. The
// audit event is "client.update", naming the fields changed.
func (s *Service) Update(ctx context.Context, a kernel.Actor, team, id string, ch Change) (store.Client, error) {
	var out store.Client
	err := s.Store.Tx(ctx, func(q store.Queries) error {
		c, err := clientIn(ctx, q, team, id)
		if err != nil {
			return err
		}
		if ch.IfVersion != "" && ch.IfVersion != Version(c) {
			return fmt.Errorf("client %s: %w", id, kernel.ErrStale)
		}
		var changed []string
		if ch.Name != nil && *ch.Name != c.Name {
			c.Name, changed = *ch.Name, append(changed, "name")
		}
		if ch.Scopes != nil {
			c.Scopes, changed = *ch.Scopes, append(changed, "scopes")
		}
		if ch.RedirectURIs != nil {
			c.RedirectURIs, changed = *ch.RedirectURIs, append(changed, "redirect_uris")
		}
		if ch.AccessTokenTTL != nil {
			c.AccessTokenTTL, changed = *ch.AccessTokenTTL, append(changed, "access_token_ttl")
		}
		if ch.IDTokenAlg != nil {
			c.IDTokenAlg, changed = *ch.IDTokenAlg, append(changed, "id_token_signed_response_alg")
		}
		if ch.PostLogoutRedirectURIs != nil {
			c.PostLogoutRedirectURIs, changed = *ch.PostLogoutRedirectURIs, append(changed, "post_logout_redirect_uris")
		}
		if err := s.validate(NewClient{Name: c.Name, GrantTypes: c.GrantTypes, AuthMethod: c.AuthMethod, Scopes: c.Scopes,
			RedirectURIs: c.RedirectURIs, AccessTokenTTL: c.AccessTokenTTL, IDTokenAlg: c.IDTokenAlg,
			PostLogoutRedirectURIs: c.PostLogoutRedirectURIs}); err != nil {
			return err
		}
		out = c
		if len(changed) == 0 {
			return nil
		}
		if err := q.UpdateClient(ctx, c); err != nil {
			if errors.Is(err, store.ErrAlreadyExists) {
				return NameTaken(team, c.Name)
			}
			return fmt.Errorf("update client: %w", err)
		}
		return q.AppendAudit(ctx, kernel.Event(a, s.now(), team, "client.update", "client:"+id, map[string]string{
			"changed": strings.Join(changed, " "), "name": c.Name, "scopes": strings.Join(c.Scopes, " "),
			"redirect_uris": strings.Join(c.RedirectURIs, " "), "access_token_ttl": c.AccessTokenTTL.String(),
			"id_token_signed_response_alg": c.IDTokenAlg, "post_logout_redirect_uris": strings.Join(c.PostLogoutRedirectURIs, " "),
		}))
	})
	s.invalidate(team, id)
	if err != nil {
		return store.Client{}, err
	}
	return out, nil
}

// Find lists a page of the team's clients that f selects, by name.
func (s *Service) Find(ctx context.Context, team string, f store.ClientFilter, p store.Page) ([]store.Client, string, error) {
	if err := kernel.TeamExists(ctx, s.Store, team); err != nil {
		return nil, "", err
	}
	return s.Store.FindClients(ctx, team, f, p)
}

// Rotation is a new secret, shown once, and when the old ones stop working
// (nil: at once).
type Rotation struct {
	Secret            secret.Secret
	PreviousExpiresAt *time.Time
}

// IDTokenAlgsInUse lists the algorithms that the team's clients which may
// get ID tokens (the authorization_code grant and the openid scope) sign
// them with: the keys the signing manager keeps rotated
// (signing.Options.InUse). It reads the store.
func (s *Service) IDTokenAlgsInUse(ctx context.Context, team string) ([]string, error) {
	cs, err := s.Store.ListClients(ctx, team)
	if err != nil {
		return nil, fmt.Errorf("ID token algorithms in use: %w", err)
	}
	var out []string
	for _, c := range cs {
		if !slices.Contains(c.GrantTypes, GrantAuthorizationCode) || !slices.Contains(c.Scopes, scope.OpenID) {
			continue
		}
		if alg := IDTokenAlg(c); !slices.Contains(out, alg) {
			out = append(out, alg)
		}
	}
	return out, nil
}
