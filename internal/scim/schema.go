package scim

import (
	"strings"
)

// The URNs of RFC 7643 and RFC 7644 that Gatehouse speaks.
const (
	UserSchema         = "urn:ietf:params:scim:schemas:core:2.0:User"
	GroupSchema        = "urn:ietf:params:scim:schemas:core:2.0:Group"
	EnterpriseSchema   = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	ListSchema         = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	PatchSchema        = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	ErrorSchema        = "urn:ietf:params:scim:api:messages:2.0:Error"
	ConfigSchema       = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	ResourceTypeSchema = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	SchemaSchema       = "urn:ietf:params:scim:schemas:core:2.0:Schema"
	// MediaType is the media type of every SCIM body (RFC 7644 section
	// 3.1).
	MediaType = "application/scim+json"
)

// attr describes an attribute as RFC 7643 section 7 does: what the
// Schemas endpoint publishes, and what decoding, filters and PATCH paths
// go by (names are matched ignoring case).
type attr struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	MultiValued bool     `json:"multiValued"`
	Description string   `json:"description"`
	Required    bool     `json:"required"`
	CaseExact   bool     `json:"caseExact"`
	Mutability  string   `json:"mutability"`
	Returned    string   `json:"returned"`
	Uniqueness  string   `json:"uniqueness"`
	Canonical   []string `json:"canonicalValues,omitempty"`
	RefTypes    []string `json:"referenceTypes,omitempty"`
	Sub         []attr   `json:"subAttributes,omitempty"`
}

// sub finds a sub-attribute by name, ignoring case.
func (a attr) sub(name string) (attr, bool) { return find(a.Sub, name) }

func (a attr) readOnly() bool { return a.Mutability == "readOnly" }

// find finds an attribute of attrs by name, ignoring case.
func find(attrs []attr, name string) (attr, bool) {
	for _, a := range attrs {
		if strings.EqualFold(a.Name, name) {
			return a, true
		}
	}
	return attr{}, false
}

func str(name, desc string, mods ...func(*attr)) attr {
	a := attr{Name: name, Type: "string", Description: desc, Mutability: "readWrite", Returned: "default", Uniqueness: "none"}
	for _, m := range mods {
		m(&a)
	}
	return a
}

func boolean(name, desc string) attr {
	return attr{Name: name, Type: "boolean", Description: desc, Mutability: "readWrite", Returned: "default", Uniqueness: "none"}
}

func readOnly(a *attr)  { a.Mutability = "readOnly" }
func required(a *attr)  { a.Required = true }
func caseExact(a *attr) { a.CaseExact = true }
func always(a *attr)    { a.Returned = "always" }

var (
	idAttr = str("id", "Gatehouse's identifier of the resource, which never changes", readOnly, caseExact, always,
		func(a *attr) { a.Uniqueness = "server" })
	externalIDAttr = str("externalId", "The identity provider's own identifier of the resource", caseExact)

	userAttrs = []attr{
		idAttr,
		externalIDAttr,
		str("userName", "The user's sign-in email address, unique in the team; compared ignoring case", required,
			func(a *attr) { a.Uniqueness = "server" }),
		{Name: "name", Type: "complex", Description: "The parts of the user's name", Mutability: "readWrite", Returned: "default", Uniqueness: "none",
			Sub: []attr{
				str("formatted", "The full name: the given and the family name", readOnly),
				str("familyName", "The family name"),
				str("givenName", "The given name"),
			}},
		str("displayName", "The name shown for the user (the user's name in Gatehouse); the userName when not set"),
		boolean("active", "Whether the user may sign in; false ends the user's sessions, refresh tokens and access tokens"),
		{Name: "emails", Type: "complex", MultiValued: true, Description: "The user's addresses (at most 10); the userName when none are set",
			Mutability: "readWrite", Returned: "default", Uniqueness: "none", Sub: []attr{
				str("value", "The address"),
				str("display", "A name for the address"),
				str("type", "The kind of address", func(a *attr) { a.Canonical = []string{"work", "home", "other"} }),
				boolean("primary", "Whether this is the primary address"),
			}},
		{Name: "groups", Type: "complex", MultiValued: true, Description: "The groups the user is a member of; changed through the Groups",
			Mutability: "readOnly", Returned: "default", Uniqueness: "none", Sub: []attr{
				str("value", "The group's id", readOnly),
				{Name: "$ref", Type: "reference", Description: "The group's URI", Mutability: "readOnly", Returned: "default", Uniqueness: "none",
					RefTypes: []string{"Group"}},
				str("display", "The group's displayName", readOnly),
				str("type", "How the user is a member: direct", readOnly, func(a *attr) { a.Canonical = []string{"direct"} }),
			}},
	}

	groupAttrs = []attr{
		idAttr,
		externalIDAttr,
		str("displayName", "The group's name, unique in the team, as the group: principal of a permission names it: spaces and any Unicode",
			required, func(a *attr) { a.Uniqueness = "server" }),
		{Name: "members", Type: "complex", MultiValued: true, Description: "The group's members: users, by id",
			Mutability: "readWrite", Returned: "default", Uniqueness: "none", Sub: []attr{
				str("value", "The member's id", func(a *attr) { a.Mutability = "immutable" }, caseExact),
				{Name: "$ref", Type: "reference", Description: "The member's URI", Mutability: "immutable", Returned: "default", Uniqueness: "none",
					RefTypes: []string{"User"}},
				str("display", "The member's userName", readOnly),
				str("type", "The kind of member: User", func(a *attr) { a.Mutability = "immutable"; a.Canonical = []string{"User"} }),
			}},
	}
)

// resourceType is one of the two kinds of resource Gatehouse serves.
type resourceType struct {
	Name     string // "User", "Group"
	Endpoint string // "/Users"
	Schema   string
	Attrs    []attr
	Desc     string
}

var (
	userType  = resourceType{Name: "User", Endpoint: "/Users", Schema: UserSchema, Attrs: userAttrs, Desc: "A person of the team"}
	groupType = resourceType{Name: "Group", Endpoint: "/Groups", Schema: GroupSchema, Attrs: groupAttrs,
		Desc: "A named set of users of the team, whose members hold the group's permissions"}
)

// meta is a resource's meta attribute (RFC 7643 section 3.1).
type meta struct {
	ResourceType string `json:"resourceType"`
	Created      string `json:"created,omitempty"`
	LastModified string `json:"lastModified,omitempty"`
	Location     string `json:"location"`
	Version      string `json:"version,omitempty"`
}

// serviceProviderConfig is the document of /ServiceProviderConfig: what
// Gatehouse supports, exactly.
func serviceProviderConfig(base string) map[string]any {
	return map[string]any{
		"schemas":        []string{ConfigSchema},
		"patch":          map[string]any{"supported": true},
		"bulk":           map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":         map[string]any{"supported": true, "maxResults": maxCount},
		"changePassword": map[string]any{"supported": false},
		"sort":           map[string]any{"supported": true},
		"etag":           map[string]any{"supported": true},
		"authenticationSchemes": []map[string]any{{
			"type": "oauthbearertoken", "name": "OAuth Bearer Token", "primary": true,
			"description": "An access token (RFC 6750) of a client with scope user-provisioning.scim whose principal holds manage on users",
			"specUri":     "https://www.rfc-editor.org/rfc/rfc6750",
		}},
		"meta": meta{ResourceType: "ServiceProviderConfig", Location: base + "/ServiceProviderConfig"},
	}
}

// resourceTypeDoc is the /ResourceTypes document of t.
func resourceTypeDoc(base string, t resourceType) map[string]any {
	return map[string]any{
		"schemas":     []string{ResourceTypeSchema},
		"id":          t.Name,
		"name":        t.Name,
		"endpoint":    t.Endpoint,
		"description": t.Desc,
		"schema":      t.Schema,
		"meta":        meta{ResourceType: "ResourceType", Location: base + "/ResourceTypes/" + t.Name},
	}
}

// schemaDoc is the /Schemas document of t.
func schemaDoc(base string, t resourceType) map[string]any {
	return map[string]any{
		"schemas":     []string{SchemaSchema},
		"id":          t.Schema,
		"name":        t.Name,
		"description": t.Desc,
		"attributes":  t.Attrs,
		"meta":        meta{ResourceType: "Schema", Location: base + "/Schemas/" + t.Schema},
	}
}
