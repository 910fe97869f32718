package admin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/denylist"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Provisioning: users and groups as an identity provider keeps them
// (internal/scim, SCIM 2.0). A provisioned user has no password until
// one is set (the admin API, the CLI); groups are found by their ID,
// which outlives renames. The same rules as every other change hold: the
// audit event in the change's transaction, with the provisioning client as
// the actor, and a caller that hands on only what it holds.

// Bounds of what a provider may keep of a user.
const (
	maxExternalID = 256 // characters
	maxNamePart   = 256
	maxEmailType  = 64
	// MaxMembersChange bounds the members one change of a group adds,
	// removes or sets.
	MaxMembersChange = 10_000
)

// NewProvisioned is a user as an identity provider creates it.
type NewProvisioned struct {
	Email      string // the sign-in address (SCIM's userName)
	Name       string // the display name; "" is the email
	ExternalID string
	GivenName  string
	FamilyName string
	Emails     []store.Email
	Disabled   bool
}

// plainText checks a field's text: at most max characters, valid UTF-8,
// no control characters.
func plainText(field, v string, max int) error {
	if !utf8.ValidString(v) || utf8.RuneCountInString(v) > max || strings.ContainsFunc(v, unicode.IsControl) {
		return kernel.InvalidField(field, "%s: want at most %d characters without control characters", field, max)
	}
	return nil
}

// checkEmails checks the addresses a provider keeps of a user.
func checkEmails(es []store.Email) error {
	if len(es) > store.MaxEmails {
		return kernel.InvalidField("emails", "emails: at most %d", store.MaxEmails)
	}
	primaries := 0
	var errs []error
	for _, e := range es {
		if _, err := kernel.NormalizeEmail(e.Value); err != nil {
			errs = append(errs, kernel.AsInvalidField("emails", err))
		}
		errs = append(errs, plainText("emails", e.Type, maxEmailType), plainText("emails", e.Display, maxNamePart))
		if e.Primary {
			primaries++
		}
	}
	if primaries > 1 {
		errs = append(errs, kernel.InvalidField("emails", "emails: at most one is primary"))
	}
	return errors.Join(errs...)
}

// checkProvided checks the fields of a change that a provider keeps; nil
// fields are not changed.
func checkProvided(externalID, given, family *string, emails *[]store.Email) error {
	var errs []error
	if externalID != nil {
		errs = append(errs, plainText("externalId", *externalID, maxExternalID))
	}
	if given != nil {
		errs = append(errs, plainText("name.givenName", *given, maxNamePart))
	}
	if family != nil {
		errs = append(errs, plainText("name.familyName", *family, maxNamePart))
	}
	if emails != nil {
		errs = append(errs, checkEmails(*emails))
	}
	return errors.Join(errs...)
}

// applyProvided sets the provided fields of u and returns the names of
// those that changed.
func applyProvided(u *store.User, externalID, given, family *string, emails *[]store.Email) []string {
	var changed []string
	set := func(name string, to *string, field *string) {
		if to != nil && *to != *field {
			*field, changed = *to, append(changed, name)
		}
	}
	set("external_id", externalID, &u.ExternalID)
	set("given_name", given, &u.GivenName)
	set("family_name", family, &u.FamilyName)
	if emails != nil && !slices.Equal(*emails, u.Emails) {
		u.Emails, changed = slices.Clone(*emails), append(changed, "emails")
	}
	return changed
}

// ProvisionUser creates a user as an identity provider sends it: without
// a password (none matches until one is set), never a team admin.
func (s *Service) ProvisionUser(ctx context.Context, a kernel.Actor, teamName string, in NewProvisioned) (store.User, error) {
	if err := validateTeamName(teamName); err != nil {
		return store.User{}, err
	}
	email, err := kernel.NormalizeEmail(in.Email)
	errs := []error{kernel.AsInvalidField("userName", err),
		checkProvided(&in.ExternalID, &in.GivenName, &in.FamilyName, &in.Emails)}
	if utf8.RuneCountInString(in.Name) > 256 {
		errs = append(errs, kernel.InvalidField("displayName", "displayName: at most 256 characters"))
	}
	if err := errors.Join(errs...); err != nil {
		return store.User{}, err
	}
	id, err := s.Gen.UUID()
	if err != nil {
		return store.User{}, fmt.Errorf("provision user: %w", err)
	}
	name := in.Name
	if name == "" {
		name = email
	}
	now := s.now()
	u := store.User{Team: teamName, ID: id, Email: email, Name: name, Disabled: in.Disabled, CreatedAt: now, UpdatedAt: now,
		ExternalID: in.ExternalID, GivenName: in.GivenName, FamilyName: in.FamilyName, Emails: slices.Clone(in.Emails)}
	ev := s.audit(a, teamName, "user.create", "user:"+u.Email,
		map[string]string{"team_admin": "false", "provisioned": "true", "disabled": fmt.Sprint(u.Disabled)})
	err = s.write(ctx, ev, func(q store.Queries) error { return createUser(ctx, q, u) })
	return u, err
}

// endCredentials ends what a user disabled in q's transaction may still
// hold beyond their sessions (which the store ends itself): every refresh
// token, revoked, and every access token issued so far, cut off, for each
// client the user consented to; enabling the user again brings none of
// them back. Every node refuses them within a second (the change feed);
// until the cut-offs arrive, the principal check already refuses a
// disabled user's tokens.
func (s *Service) endCredentials(ctx context.Context, q store.Queries, u store.User) error {
	cs, err := q.ListConsents(ctx, u.Team, u.ID)
	if err != nil {
		return fmt.Errorf("end the credentials of %s: %w", u.Email, err)
	}
	now := s.now()
	for _, c := range cs {
		if err := q.RevokeRefreshTokensOf(ctx, u.Team, u.ID, c.ClientID, now); err != nil {
			return fmt.Errorf("end the credentials of %s: %w", u.Email, err)
		}
		if err := q.RevokeGrant(ctx, denylist.GrantCutoff(u.Team, u.ID, c.ClientID, now)); err != nil {
			return fmt.Errorf("end the credentials of %s: %w", u.Email, err)
		}
	}
	return nil
}

// GroupVersion names the state of a group (SCIM's meta.version): its
// name, external ID and members.
func GroupVersion(g store.Group) string {
	members := slices.Clone(g.Members)
	slices.Sort(members)
	// The bytes of fmt's "%q %q %q %q" of the four, written without fmt:
	// a page of groups computes this for every group, over every member.
	joined := strings.Join(members, " ")
	b := make([]byte, 0, len(g.ID)+len(g.Name)+len(g.ExternalID)+len(joined)+16)
	for i, s := range []string{g.ID, g.Name, g.ExternalID, joined} {
		if i > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendQuote(b, s)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:16])
}

// GroupByID reads a group, with its members, by its ID.
func (s *Service) GroupByID(ctx context.Context, teamName, id string) (store.Group, error) {
	return groupByID(ctx, s.Store, teamName, id)
}

func groupByID(ctx context.Context, q store.Queries, teamName, id string) (store.Group, error) {
	if err := teamExists(ctx, q, teamName); err != nil {
		return store.Group{}, err
	}
	g, err := q.GroupByID(ctx, teamName, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Group{}, fmt.Errorf("group %q in team %s: %w", id, teamName, store.ErrNotFound)
	}
	return g, err
}

// NewGroup is a group as an identity provider creates it, with the IDs
// of its members.
type NewGroup struct {
	Name       string
	ExternalID string
	Members    []string
}

// ProvisionGroup creates a group with its members in one transaction.
func (s *Service) ProvisionGroup(ctx context.Context, a kernel.Actor, teamName string, in NewGroup) (store.Group, error) {
	name, err := groupName(in.Name)
	if err != nil {
		return store.Group{}, kernel.AsInvalidField("displayName", err)
	}
	if err := plainText("externalId", in.ExternalID, maxExternalID); err != nil {
		return store.Group{}, err
	}
	id, err := s.Gen.UUID()
	if err != nil {
		return store.Group{}, fmt.Errorf("provision group: %w", err)
	}
	now := s.now()
	g := store.Group{Team: teamName, ID: id, Name: name, ExternalID: in.ExternalID, CreatedAt: now, UpdatedAt: now}
	err = s.Store.Tx(ctx, func(q store.Queries) error {
		if err := teamExists(ctx, q, teamName); err != nil {
			return err
		}
		if err := q.CreateGroup(ctx, g); err != nil {
			if errors.Is(err, store.ErrAlreadyExists) {
				return fmt.Errorf("group %q in team %s: %w", name, teamName, store.ErrAlreadyExists)
			}
			return err
		}
		if err := q.AppendAudit(ctx, s.audit(a, teamName, "group.create", "group:"+name,
			map[string]string{"id": id, "external_id": in.ExternalID})); err != nil {
			return err
		}
		return s.changeMembers(ctx, q, a, &g, in.Members, nil)
	})
	return g, err
}

// GroupChange says what to change of a group: a nil field keeps its
// value; Members, when set, are all the members the group is to have;
// Add and Remove add and remove members (user IDs), each doing nothing
// for a user already in or already out. IfVersion, when set, must be the
// group's GroupVersion, or nothing changes and the error wraps
// kernel.ErrStale.
type GroupChange struct {
	Name        *string
	ExternalID  *string
	Members     *[]string
	Add, Remove []string
	IfVersion   string
}

// UpdateGroup changes the group with ID id in one transaction: a new name
// takes its members and permissions along; members added need the actor
// to hold what the group holds. Each change is audited: "group.update"
// (naming the fields), "group.member.add" and "group.member.remove".
func (s *Service) UpdateGroup(ctx context.Context, a kernel.Actor, teamName, id string, c GroupChange) (store.Group, error) {
	var name string
	if c.Name != nil {
		var err error
		if name, err = groupName(*c.Name); err != nil {
			return store.Group{}, kernel.AsInvalidField("displayName", err)
		}
	}
	if c.ExternalID != nil {
		if err := plainText("externalId", *c.ExternalID, maxExternalID); err != nil {
			return store.Group{}, err
		}
	}
	var out store.Group
	err := s.Store.Tx(ctx, func(q store.Queries) error {
		g, err := groupByID(ctx, q, teamName, id)
		if err != nil {
			return err
		}
		if c.IfVersion != "" && c.IfVersion != GroupVersion(g) {
			return fmt.Errorf("group %q: %w", g.Name, kernel.ErrStale)
		}
		old := g
		var changed []string
		if c.Name != nil && name != g.Name {
			g.Name, changed = name, append(changed, "name")
		}
		if c.ExternalID != nil && *c.ExternalID != g.ExternalID {
			g.ExternalID, changed = *c.ExternalID, append(changed, "external_id")
		}
		if len(changed) > 0 {
			g.UpdatedAt = s.now()
			if err := q.UpdateGroup(ctx, teamName, old.Name, g); err != nil {
				if errors.Is(err, store.ErrAlreadyExists) {
					return fmt.Errorf("group %q in team %s: %w", g.Name, teamName, store.ErrAlreadyExists)
				}
				return err
			}
			if err := q.AppendAudit(ctx, s.audit(a, teamName, "group.update", "group:"+g.Name,
				map[string]string{"id": g.ID, "changed": strings.Join(changed, " "), "old_name": old.Name})); err != nil {
				return err
			}
		}
		add, remove := c.Add, c.Remove
		if c.Members != nil {
			want := make(map[string]bool, len(*c.Members))
			for _, m := range *c.Members {
				want[m] = true
			}
			add = append(slices.Clone(add), *c.Members...)
			for _, m := range g.Members {
				if !want[m] {
					remove = append(remove, m)
				}
			}
		}
		if err := s.changeMembers(ctx, q, a, &g, add, remove); err != nil {
			return err
		}
		out = g
		return nil
	})
	if err != nil {
		return store.Group{}, err
	}
	return out, nil
}

// changeMembers adds and removes members of g (user IDs) within q, each
// with its audit event, and keeps g.Members and g.UpdatedAt current.
// Adding a user already in, or removing one already out, does nothing.
func (s *Service) changeMembers(ctx context.Context, q store.Queries, a kernel.Actor, g *store.Group, add, remove []string) error {
	if len(add) > MaxMembersChange || len(remove) > MaxMembersChange {
		return kernel.InvalidField("members", "members: at most %d in one change", MaxMembersChange)
	}
	in := make(map[string]bool, len(g.Members))
	for _, m := range g.Members {
		in[m] = true
	}
	var adding, removing []string
	for _, m := range add {
		if !in[m] && !slices.Contains(adding, m) {
			adding = append(adding, m)
		}
	}
	for _, m := range remove {
		if in[m] && !slices.Contains(removing, m) && !slices.Contains(adding, m) {
			removing = append(removing, m)
		}
	}
	if len(adding) == 0 && len(removing) == 0 {
		return nil
	}
	emails := make(map[string]string, len(adding)+len(removing))
	for ids := range slices.Chunk(append(slices.Clone(adding), removing...), 1000) {
		us, err := q.UsersByID(ctx, g.Team, ids)
		if err != nil {
			return err
		}
		for _, u := range us {
			emails[u.ID] = u.Email
		}
	}
	var missing []string
	for _, m := range adding {
		if emails[m] == "" {
			missing = append(missing, m)
		}
	}
	if len(missing) > 0 {
		return kernel.InvalidField("members", "members: no user has the ID %s", strings.Join(missing, ", "))
	}
	if len(adding) > 0 && a.Authority != nil {
		// A member gets the group's permissions: the actor must hold them.
		held, err := authz.HeldIn(ctx, q, g.Team, authz.Principal{Kind: authz.Group, Name: g.Name}.String())
		if err != nil {
			return err
		}
		if err := a.MayHandOn("adding a member to group "+g.Name, false, held.Grants); err != nil {
			return err
		}
	}
	for _, m := range adding {
		if err := q.AddGroupMember(ctx, g.Team, g.Name, m); err != nil {
			return err
		}
		if err := q.AppendAudit(ctx, s.audit(a, g.Team, "group.member.add", "group:"+g.Name, map[string]string{"user": emails[m]})); err != nil {
			return err
		}
		g.Members = append(g.Members, m)
	}
	for _, m := range removing {
		if err := q.RemoveGroupMember(ctx, g.Team, g.Name, m); err != nil {
			return err
		}
		if err := q.AppendAudit(ctx, s.audit(a, g.Team, "group.member.remove", "group:"+g.Name, map[string]string{"user": emails[m]})); err != nil {
			return err
		}
		g.Members = slices.DeleteFunc(g.Members, func(x string) bool { return x == m })
	}
	slices.Sort(g.Members)
	g.UpdatedAt = s.now()
	return q.UpdateGroup(ctx, g.Team, g.Name, *g)
}

// DeleteGroupByID deletes the group with ID id, its memberships and its
// permissions; with ifVersion set, only if it is still that version.
func (s *Service) DeleteGroupByID(ctx context.Context, a kernel.Actor, teamName, id, ifVersion string) error {
	return s.Store.Tx(ctx, func(q store.Queries) error {
		g, err := groupByID(ctx, q, teamName, id)
		if err != nil {
			return err
		}
		if ifVersion != "" && ifVersion != GroupVersion(g) {
			return fmt.Errorf("group %q: %w", g.Name, kernel.ErrStale)
		}
		if err := q.DeleteGroup(ctx, teamName, g.Name); err != nil {
			return err
		}
		return q.AppendAudit(ctx, s.audit(a, teamName, "group.delete", "group:"+g.Name, map[string]string{"id": g.ID}))
	})
}

// DeleteUserVersion deletes a user, found by ID or email, with everything
// the user owns (DeleteUser); with ifVersion set, only if the user is
// still that version (UserVersion).
func (s *Service) DeleteUserVersion(ctx context.Context, a kernel.Actor, teamName, ref, ifVersion string) error {
	return s.Store.Tx(ctx, func(q store.Queries) error {
		u, err := userByRef(ctx, q, teamName, ref)
		if err != nil {
			return err
		}
		if ifVersion != "" && ifVersion != UserVersion(u) {
			return fmt.Errorf("user %s: %w", u.Email, kernel.ErrStale)
		}
		if err := mayActOn(a, u, "deleting the account"); err != nil {
			return err
		}
		if err := q.DeleteUser(ctx, teamName, u.ID); err != nil {
			return err
		}
		return q.AppendAudit(ctx, s.audit(a, teamName, "user.delete", "user:"+u.Email, nil))
	})
}

// Memberships lists the groups of the users of ids, for their SCIM
// records.
func (s *Service) Memberships(ctx context.Context, teamName string, ids []string) ([]store.Membership, error) {
	return s.Store.Memberships(ctx, teamName, ids)
}

// QueryUsers and QueryGroups serve the directory queries of a team
// (store.Query).
func (s *Service) QueryUsers(ctx context.Context, teamName string, q store.Query) ([]store.User, int, error) {
	if err := teamExists(ctx, s.Store, teamName); err != nil {
		return nil, 0, err
	}
	return s.Store.QueryUsers(ctx, teamName, q)
}

func (s *Service) QueryGroups(ctx context.Context, teamName string, q store.Query) ([]store.Group, int, error) {
	if err := teamExists(ctx, s.Store, teamName); err != nil {
		return nil, 0, err
	}
	return s.Store.QueryGroups(ctx, teamName, q)
}
