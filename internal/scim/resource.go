package scim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Resources as maps: a user or a group as RFC 7643 writes it, with the
// attribute names of the schema (decoded ones are matched ignoring case
// and put in that spelling), so that one PATCH engine serves both
// resource types and decoding, PATCH and encoding agree.

// object is a JSON object.
type object = map[string]any

// etag is the ETag of a version (a weak one: the representation may be
// trimmed by attributes and excludedAttributes).
func etag(version string) string { return `W/"` + version + `"` }

// stamp formats a time as SCIM's dateTime.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// userObject is u as a SCIM User (without schemas and meta), with the
// groups of ms.
func userObject(base string, u store.User, ms []store.Membership) object {
	o := object{"id": u.ID, "userName": u.Email, "displayName": u.Name, "active": !u.Disabled}
	if u.ExternalID != "" {
		o["externalId"] = u.ExternalID
	}
	if u.GivenName != "" || u.FamilyName != "" {
		name := object{}
		if u.GivenName != "" {
			name["givenName"] = u.GivenName
		}
		if u.FamilyName != "" {
			name["familyName"] = u.FamilyName
		}
		name["formatted"] = strings.TrimSpace(u.GivenName + " " + u.FamilyName)
		o["name"] = name
	}
	emails := []any{}
	for _, e := range u.Emails {
		m := object{"value": e.Value}
		if e.Type != "" {
			m["type"] = e.Type
		}
		if e.Primary {
			m["primary"] = true
		}
		if e.Display != "" {
			m["display"] = e.Display
		}
		emails = append(emails, m)
	}
	if len(u.Emails) == 0 {
		// The sign-in address is the one Gatehouse knows.
		emails = append(emails, object{"value": u.Email, "type": "work", "primary": true})
	}
	o["emails"] = emails
	groups := []any{}
	for _, m := range ms {
		groups = append(groups, object{"value": m.GroupID, "display": m.Group, "type": "direct", "$ref": base + "/Groups/" + m.GroupID})
	}
	o["groups"] = groups
	return o
}

// groupObject is g as a SCIM Group (without schemas and meta).
func groupObject(base string, g store.Group) object {
	o := object{"id": g.ID, "displayName": g.Name}
	if g.ExternalID != "" {
		o["externalId"] = g.ExternalID
	}
	members := make([]any, 0, len(g.Members))
	for _, id := range g.Members {
		members = append(members, object{"value": id, "type": "User", "$ref": base + "/Users/" + id})
	}
	o["members"] = members
	return o
}

// withMeta adds schemas and meta to o for its answer.
func withMeta(o object, schema, resourceType, location, version string, created, modified time.Time) object {
	o["schemas"] = []string{schema}
	o["meta"] = meta{ResourceType: resourceType, Created: stamp(created), LastModified: stamp(modified), Location: location, Version: etag(version)}
	return o
}

// projection is what of a resource an answer shows (RFC 7644 section
// 3.4.2.5): attributes names the only ones to show, excluded those not to
// show; id, schemas and meta always show.
type projection struct {
	only, excluded map[string]bool // lower-cased top-level names
}

// parseProjection reads the attributes and excludedAttributes parameters
// (comma-separated, URN-prefixed names allowed; a sub-attribute selects
// its attribute).
func parseProjection(attributes, excluded, schema string) projection {
	names := func(list string) map[string]bool {
		if strings.TrimSpace(list) == "" {
			return nil
		}
		out := map[string]bool{}
		for n := range strings.SplitSeq(list, ",") {
			n = strings.TrimSpace(n)
			if len(n) > len(schema) && strings.EqualFold(n[:len(schema)+1], schema+":") {
				n = n[len(schema)+1:]
			}
			n, _, _ = strings.Cut(n, ".")
			n, _, _ = strings.Cut(n, "[")
			out[strings.ToLower(n)] = true
		}
		return out
	}
	return projection{only: names(attributes), excluded: names(excluded)}
}

// wants reports whether the answer shows attribute name.
func (p projection) wants(name string) bool {
	switch n := strings.ToLower(name); {
	case n == "id" || n == "schemas" || n == "meta":
		return true
	case p.only != nil:
		return p.only[n]
	default:
		return !p.excluded[n]
	}
}

// apply trims o to what p shows.
func (p projection) apply(o object) object {
	for k := range o {
		if !p.wants(k) {
			delete(o, k)
		}
	}
	return o
}

// decodeObject decodes a JSON object body into the attributes of attrs,
// named as the schema names them; attributes Gatehouse does not keep
// (another schema's, a core one it has no place for) are left out, as
// RFC 7643 lets a service provider do. Attributes given under the
// resource's schema URN count as given at the top.
func decodeObject(raw []byte, attrs []attr, schema string) (object, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var in map[string]any
	if err := dec.Decode(&in); err != nil || in == nil {
		return nil, bad(typeInvalidSyntax, "the body is not a JSON object")
	}
	if dec.More() {
		return nil, bad(typeInvalidSyntax, "the body holds more than one JSON value")
	}
	return canonical(in, attrs, schema), nil
}

// canonical keeps the attributes of attrs in in, under their schema names.
func canonical(in map[string]any, attrs []attr, schema string) object {
	out := object{}
	for k, v := range in {
		if strings.EqualFold(k, schema) {
			if m, ok := v.(map[string]any); ok {
				for k, v := range canonical(m, attrs, "") {
					out[k] = v
				}
			}
			continue
		}
		if a, ok := find(attrs, k); ok {
			out[a.Name] = canonicalValue(a, v)
		}
	}
	return out
}

// canonicalValue names the sub-attributes of a complex value as a does.
func canonicalValue(a attr, v any) any {
	if a.Type != "complex" {
		return v
	}
	switch v := v.(type) {
	case map[string]any:
		return canonical(v, a.Sub, "")
	case []any:
		out := make([]any, 0, len(v))
		for _, e := range v {
			out = append(out, canonicalValue(a, e))
		}
		return out
	}
	return v
}

// text reads a string attribute of o: absent and null are "".
func text(o object, name string) (string, error) {
	switch v := o[name].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	}
	return "", bad(typeInvalidValue, "%s: want a string", name)
}

// truth reads a boolean attribute of o, also as "True" or "false" (as
// Microsoft Entra sends them); absent and null are def.
func truth(o object, name string, def bool) (bool, error) {
	switch v := o[name].(type) {
	case nil:
		return def, nil
	case bool:
		return v, nil
	case string:
		switch strings.ToLower(v) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, bad(typeInvalidValue, "%s: want true or false", name)
}

// elements reads a multi-valued complex attribute: a list of objects (a
// single object counts as a list of one).
func elements(o object, name string) ([]object, error) {
	var list []any
	switch v := o[name].(type) {
	case nil:
		return nil, nil
	case []any:
		list = v
	case map[string]any:
		list = []any{v}
	default:
		return nil, bad(typeInvalidValue, "%s: want a list of objects", name)
	}
	out := make([]object, 0, len(list))
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, bad(typeInvalidValue, "%s: want a list of objects", name)
		}
		out = append(out, m)
	}
	return out, nil
}

// userState is what a User representation sets of a Gatehouse user.
type userState struct {
	userName, displayName, externalID, given, family string
	active                                           bool
	emails                                           []store.Email
}

// readUser reads a User representation.
func readUser(o object) (userState, error) {
	var s userState
	var err error
	if s.userName, err = text(o, "userName"); err != nil {
		return s, err
	}
	if s.userName == "" {
		return s, bad(typeInvalidValue, "userName: required: the user's sign-in email address")
	}
	if s.displayName, err = text(o, "displayName"); err != nil {
		return s, err
	}
	if s.externalID, err = text(o, "externalId"); err != nil {
		return s, err
	}
	if s.active, err = truth(o, "active", true); err != nil {
		return s, err
	}
	switch name := o["name"].(type) {
	case nil:
	case map[string]any:
		if s.given, err = text(name, "givenName"); err != nil {
			return s, err
		}
		if s.family, err = text(name, "familyName"); err != nil {
			return s, err
		}
	default:
		return s, bad(typeInvalidValue, "name: want an object")
	}
	es, err := elements(o, "emails")
	if err != nil {
		return s, err
	}
	for _, e := range es {
		var em store.Email
		if em.Value, err = text(e, "value"); err != nil {
			return s, err
		}
		if em.Type, err = text(e, "type"); err != nil {
			return s, err
		}
		if em.Display, err = text(e, "display"); err != nil {
			return s, err
		}
		if em.Primary, err = truth(e, "primary", false); err != nil {
			return s, err
		}
		if em.Value == "" {
			continue // an element without an address says nothing
		}
		s.emails = append(s.emails, em)
	}
	if len(s.emails) == 1 && s.emails[0] == (store.Email{Value: s.userName, Type: "work", Primary: true}) {
		s.emails = nil // the address Gatehouse shows for a user without any
	}
	return s, nil
}

// userChange is what turns u into s: the fields that differ.
func userChange(u store.User, s userState) admin.UserChange {
	var c admin.UserChange
	if !strings.EqualFold(s.userName, u.Email) {
		c.Email = &s.userName
	}
	name := s.displayName
	if name == "" {
		name = strings.ToLower(s.userName)
	}
	if name != u.Name {
		c.Name = &name
	}
	if s.externalID != u.ExternalID {
		c.ExternalID = &s.externalID
	}
	if s.given != u.GivenName {
		c.GivenName = &s.given
	}
	if s.family != u.FamilyName {
		c.FamilyName = &s.family
	}
	if !slices.Equal(s.emails, u.Emails) {
		es := s.emails
		c.Emails = &es
	}
	if disabled := !s.active; disabled != u.Disabled {
		c.Disabled = &disabled
	}
	return c
}

// groupState is what a Group representation sets of a Gatehouse group.
type groupState struct {
	name, externalID string
	members          []string
}

// readGroup reads a Group representation.
func readGroup(o object) (groupState, error) {
	var s groupState
	var err error
	if s.name, err = text(o, "displayName"); err != nil {
		return s, err
	}
	if s.name == "" {
		return s, bad(typeInvalidValue, "displayName: required: the group's name")
	}
	if s.externalID, err = text(o, "externalId"); err != nil {
		return s, err
	}
	ms, err := elements(o, "members")
	if err != nil {
		return s, err
	}
	seen := make(map[string]bool, len(ms))
	for _, m := range ms {
		id, err := text(m, "value")
		if err != nil {
			return s, err
		}
		if id == "" {
			return s, bad(typeInvalidValue, "members: each needs a value, a user's id")
		}
		if t, _ := text(m, "type"); t != "" && !strings.EqualFold(t, "User") {
			return s, bad(typeInvalidValue, "members: %s: only users can be members, not %q", id, t)
		}
		if !seen[id] {
			seen[id] = true
			s.members = append(s.members, id)
		}
	}
	return s, nil
}

// memberDelta is what turns the members before into after: the IDs to add
// and to remove, so that a change made meanwhile by another request is
// neither undone nor lost.
func memberDelta(before, after []string) (add, remove []string) {
	was, is := set(before), set(after)
	for _, m := range after {
		if !was[m] {
			add = append(add, m)
		}
	}
	for _, m := range before {
		if !is[m] {
			remove = append(remove, m)
		}
	}
	return add, remove
}

func set(ids []string) map[string]bool {
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out
}

// quote formats a value for a detail message.
func quote(v any) string { return fmt.Sprintf("%q", fmt.Sprint(v)) }
