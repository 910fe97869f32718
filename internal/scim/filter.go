package scim

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Filters (RFC 7644 section 3.4.2.2): the whole grammar, parsed by
// github.com/scim2/filter-parser/v2, translated into a store.Cond over the
// attributes Gatehouse keeps. The store serves it within bounds
// (store.Cond): a filter on an attribute Gatehouse does not keep, an
// operator the attribute's type has no meaning for, or a filter no index
// narrows enough is 400 invalidFilter, never a scan of a whole table.

// maxFilter bounds a filter's length, in bytes.
const maxFilter = 4096

// field is how an attribute of a filter maps onto the store.
type field struct {
	store store.Field
	kind  valueKind
	// invert: the attribute is the negation of the store's boolean field
	// (active is "not disabled").
	invert bool
}

type valueKind int

const (
	kindString valueKind = iota
	kindBool
	kindTime
)

// multi is a multi-valued attribute of a filter: the store's field and its
// element's sub-attributes ("" is the attribute itself, its value).
type multi struct {
	store store.Field
	subs  map[string]field
}

// filterAttrs is what a resource type's filters may name.
type filterAttrs struct {
	schema string
	simple map[string]field // lower-cased names, sub-attributes with '.'
	multi  map[string]multi
}

var userFilter = filterAttrs{
	schema: UserSchema,
	simple: map[string]field{
		"id":                {store: store.FieldUserID},
		"username":          {store: store.FieldUserEmail},
		"externalid":        {store: store.FieldUserExternalID},
		"displayname":       {store: store.FieldUserName},
		"name.givenname":    {store: store.FieldUserGivenName},
		"name.familyname":   {store: store.FieldUserFamilyName},
		"active":            {store: store.FieldUserDisabled, kind: kindBool, invert: true},
		"meta.created":      {store: store.FieldUserCreated, kind: kindTime},
		"meta.lastmodified": {store: store.FieldUserUpdated, kind: kindTime},
	},
	multi: map[string]multi{
		"emails": {store: store.FieldUserEmails, subs: map[string]field{
			"value":   {store: store.FieldEmailValue},
			"":        {store: store.FieldEmailValue},
			"type":    {store: store.FieldEmailType},
			"display": {store: store.FieldEmailDisplay},
			"primary": {store: store.FieldEmailPrimary, kind: kindBool},
		}},
	},
}

var groupFilter = filterAttrs{
	schema: GroupSchema,
	simple: map[string]field{
		"id":                {store: store.FieldGroupID},
		"displayname":       {store: store.FieldGroupName},
		"externalid":        {store: store.FieldGroupExternalID},
		"meta.created":      {store: store.FieldGroupCreated, kind: kindTime},
		"meta.lastmodified": {store: store.FieldGroupUpdated, kind: kindTime},
	},
	multi: map[string]multi{
		"members": {store: store.FieldGroupMembers, subs: map[string]field{
			"value": {store: store.FieldMemberValue},
			"":      {store: store.FieldMemberValue},
		}},
	},
}

// parseFilter parses a filter of resource type attrs into a condition of
// the store. Its errors are 400 invalidFilter problems.
func parseFilter(attrs filterAttrs, raw string) (store.Cond, error) {
	raw = strings.TrimSpace(raw)
	if len(raw) > maxFilter {
		return store.Cond{}, bad(typeInvalidFilter, "the filter is over %d bytes", maxFilter)
	}
	if !utf8.ValidString(raw) {
		return store.Cond{}, bad(typeInvalidFilter, "the filter is not valid UTF-8")
	}
	expr, err := parseExpr(raw)
	if err != nil {
		return store.Cond{}, bad(typeInvalidFilter, "the filter %q does not parse (RFC 7644 section 3.4.2.2: attribute, operator, value, such as userName eq \"ada@example.com\")", raw)
	}
	t := translation{attrs: attrs}
	return t.expr(expr)
}

// parseExpr runs the parser, which must not take the request down
// whatever it is given.
func parseExpr(raw string) (e filter.Expression, err error) {
	defer func() {
		if r := recover(); r != nil {
			e, err = nil, fmt.Errorf("filter parser: %v", r)
		}
	}()
	return filter.ParseFilter([]byte(raw))
}

type translation struct {
	attrs filterAttrs
	depth int
	// in is the multi-valued attribute whose value filter this is.
	in *multi
}

// maxDepth bounds the nesting of a filter.
const maxDepth = 32

func (t *translation) expr(e filter.Expression) (store.Cond, error) {
	if t.depth++; t.depth > maxDepth {
		return store.Cond{}, bad(typeInvalidFilter, "the filter is nested more than %d deep", maxDepth)
	}
	defer func() { t.depth-- }()
	switch e := e.(type) {
	case *filter.LogicalExpression:
		l, err := t.expr(e.Left)
		if err != nil {
			return store.Cond{}, err
		}
		r, err := t.expr(e.Right)
		if err != nil {
			return store.Cond{}, err
		}
		op := store.OpAnd
		if strings.EqualFold(string(e.Operator), "or") {
			op = store.OpOr
		}
		return store.Cond{Op: op, Of: []store.Cond{l, r}}, nil
	case *filter.NotExpression:
		c, err := t.expr(e.Expression)
		if err != nil {
			return store.Cond{}, err
		}
		return store.Cond{Op: store.OpNot, Of: []store.Cond{c}}, nil
	case *filter.ValuePath:
		if t.in != nil {
			return store.Cond{}, bad(typeInvalidFilter, "a value filter within a value filter: %s", e)
		}
		name, err := t.name(e.AttributePath)
		if err != nil {
			return store.Cond{}, err
		}
		m, ok := t.attrs.multi[name]
		if !ok || e.AttributePath.SubAttribute != nil {
			return store.Cond{}, bad(typeInvalidFilter, "%s has no values to filter: filter on %s", e.AttributePath, t.names())
		}
		in := translation{attrs: t.attrs, depth: t.depth, in: &m}
		c, err := in.expr(e.ValueFilter)
		if err != nil {
			return store.Cond{}, err
		}
		return store.Cond{Op: store.OpAny, Field: m.store, Of: []store.Cond{c}}, nil
	case *filter.AttributeExpression:
		return t.compare(e)
	}
	return store.Cond{}, bad(typeInvalidFilter, "unknown filter expression %v", e)
}

// name is the lower-cased name of an attribute path (with its
// sub-attribute after '.'), the resource's schema URN allowed first.
func (t *translation) name(p filter.AttributePath) (string, error) {
	if uri := p.URI(); uri != "" && !strings.EqualFold(uri, t.attrs.schema) {
		return "", bad(typeInvalidFilter, "%s: attributes of %s cannot be filtered: filter on %s", p, uri, t.names())
	}
	name := strings.ToLower(p.AttributeName)
	if p.SubAttribute != nil {
		name += "." + strings.ToLower(*p.SubAttribute)
	}
	return name, nil
}

// names lists what may be filtered, for errors.
func (t *translation) names() string {
	if t.attrs.schema == GroupSchema {
		return "id, displayName, externalId, meta.created, meta.lastModified or members"
	}
	return "id, userName, externalId, displayName, name.givenName, name.familyName, active, emails, meta.created or meta.lastModified"
}

func (t *translation) compare(e *filter.AttributeExpression) (store.Cond, error) {
	name, err := t.name(e.AttributePath)
	if err != nil {
		return store.Cond{}, err
	}
	var f field
	var ok bool
	switch {
	case t.in != nil:
		// Within emails[...]: the element's sub-attributes.
		f, ok = t.in.subs[name]
		if !ok || name == "" {
			return store.Cond{}, bad(typeInvalidFilter, "%s is no sub-attribute here", e.AttributePath)
		}
		return t.leaf(f, e)
	default:
		if f, ok = t.attrs.simple[name]; ok {
			return t.leaf(f, e)
		}
		// A multi-valued attribute, or one of its sub-attributes, outside
		// brackets: some value of it.
		base, sub, _ := strings.Cut(name, ".")
		m, ok := t.attrs.multi[base]
		if !ok {
			return store.Cond{}, bad(typeInvalidFilter, "%s cannot be filtered: filter on %s", e.AttributePath, t.names())
		}
		f, ok = m.subs[sub]
		if !ok {
			return store.Cond{}, bad(typeInvalidFilter, "%s has no sub-attribute %q", base, sub)
		}
		c, err := t.leaf(f, e)
		if err != nil {
			return store.Cond{}, err
		}
		return store.Cond{Op: store.OpAny, Field: m.store, Of: []store.Cond{c}}, nil
	}
}

// leaf is the comparison e of field f.
func (t *translation) leaf(f field, e *filter.AttributeExpression) (store.Cond, error) {
	op := store.Op(strings.ToLower(string(e.Operator)))
	switch op {
	case store.OpEq, store.OpNe, store.OpCo, store.OpSw, store.OpEw, store.OpGt, store.OpGe, store.OpLt, store.OpLe:
	case store.OpPr:
		return store.Cond{Op: store.OpPr, Field: f.store}, nil
	default:
		return store.Cond{}, bad(typeInvalidFilter, "unknown operator %q", e.Operator)
	}
	if e.CompareValue == nil {
		// "eq null" is "not present", "ne null" present (RFC 7644
		// section 3.4.2.2: null compares as unassigned).
		pr := store.Cond{Op: store.OpPr, Field: f.store}
		switch op {
		case store.OpEq:
			return store.Cond{Op: store.OpNot, Of: []store.Cond{pr}}, nil
		case store.OpNe:
			return pr, nil
		}
		return store.Cond{}, bad(typeInvalidFilter, "%s: null compares only with eq and ne", e.AttributePath)
	}
	v, err := filterValue(f, e)
	if err != nil {
		return store.Cond{}, err
	}
	if f.kind == kindBool {
		if op != store.OpEq && op != store.OpNe {
			return store.Cond{}, bad(typeInvalidFilter, "%s is true or false: compare it with eq or ne", e.AttributePath)
		}
		if f.invert {
			v = !v.(bool)
		}
	}
	if f.kind == kindTime && (op == store.OpCo || op == store.OpSw || op == store.OpEw) {
		return store.Cond{}, bad(typeInvalidFilter, "%s is a time: compare it with eq, ne, gt, ge, lt or le", e.AttributePath)
	}
	return store.Cond{Op: op, Field: f.store, Value: v}, nil
}

// filterValue is e's value as field f takes it.
func filterValue(f field, e *filter.AttributeExpression) (any, error) {
	switch f.kind {
	case kindBool:
		switch v := e.CompareValue.(type) {
		case bool:
			return v, nil
		case string:
			// Lenient as providers are: "True", "false".
			switch strings.ToLower(v) {
			case "true":
				return true, nil
			case "false":
				return false, nil
			}
		}
		return nil, bad(typeInvalidFilter, "%s: want true or false, got %v", e.AttributePath, e.CompareValue)
	case kindTime:
		s, ok := e.CompareValue.(string)
		if ok {
			if s, ok = unquote(s); ok {
				if tm, err := time.Parse(time.RFC3339Nano, s); err == nil {
					return tm, nil
				}
			}
		}
		return nil, bad(typeInvalidFilter, "%s: want a time such as \"2026-01-02T15:04:05Z\", got %v", e.AttributePath, e.CompareValue)
	}
	s, ok := e.CompareValue.(string)
	if !ok {
		return nil, bad(typeInvalidFilter, "%s: want a string, got %v", e.AttributePath, e.CompareValue)
	}
	if s, ok = unquote(s); !ok {
		return nil, bad(typeInvalidFilter, "%s: the string %q has a bad escape", e.AttributePath, e.CompareValue)
	}
	return s, nil
}

// unquote resolves the JSON escapes of a string the parser returns as
// written between its quotes.
func unquote(s string) (string, bool) {
	if !strings.Contains(s, `\`) {
		return s, true
	}
	var out string
	if err := json.Unmarshal([]byte(`"`+s+`"`), &out); err != nil {
		return "", false
	}
	return out, true
}
