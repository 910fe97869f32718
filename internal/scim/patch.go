package scim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	filter "github.com/scim2/filter-parser/v2"
)

// PATCH (RFC 7644 section 3.5.2) on a resource's representation: add,
// replace and remove, with and without a path, paths with value filters
// (emails[type eq "work"].value, members[value eq "..."]), and what
// identity providers send beyond the RFC: operation names in any case
// ("Replace", Microsoft Entra), booleans as strings ("False"), the removal
// of members by a list of values, and an add or replace through a filter
// that matches nothing, which makes the element the filter describes
// (emails[type eq "work"].value of a user without a work address).
// Attributes Gatehouse does not keep (another schema's, or a core one it
// has no place for) are passed over, as they are on POST and PUT.

// maxOperations bounds the operations of one PATCH.
const maxOperations = 1000

// patchRequest is a PatchOp message.
type patchRequest struct {
	Schemas    []string    `json:"schemas"`
	Operations []operation `json:"Operations"`
}

type operation struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value"`
}

// decodePatch reads a PatchOp message.
func decodePatch(raw []byte) (patchRequest, error) {
	var p patchRequest
	if err := json.Unmarshal(raw, &p); err != nil {
		return p, bad(typeInvalidSyntax, "the body is not a PatchOp message: %v", err)
	}
	if len(p.Schemas) > 0 && !containsFold(p.Schemas, PatchSchema) {
		return p, bad(typeInvalidSyntax, "schemas: want %s", PatchSchema)
	}
	switch n := len(p.Operations); {
	case n == 0:
		return p, bad(typeInvalidSyntax, "Operations: at least one operation")
	case n > maxOperations:
		return p, bad(typeTooMany, "Operations: at most %d in one request", maxOperations)
	}
	return p, nil
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// patcher applies operations to a representation of resource type t.
type patcher struct {
	t   resourceType
	res object
}

// apply applies the operations in order; the first that fails stops them.
func (p *patcher) apply(ops []operation) error {
	for i, op := range ops {
		if err := p.one(op); err != nil {
			if pr, ok := err.(*problem); ok {
				pr.detail = fmt.Sprintf("operation %d (%s %s): %s", i+1, op.Op, op.Path, pr.detail)
			}
			return err
		}
	}
	return nil
}

// value decodes an operation's value (numbers as json.Number); absent is
// nil.
func value(raw json.RawMessage) (any, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, bad(typeInvalidSyntax, "value: not JSON")
	}
	return v, nil
}

func (p *patcher) one(op operation) error {
	kind := strings.ToLower(op.Op)
	switch kind {
	case "add", "replace", "remove":
	default:
		return bad(typeInvalidSyntax, "op: want add, replace or remove, got %q", op.Op)
	}
	v, err := value(op.Value)
	if err != nil {
		return err
	}
	path := strings.TrimSpace(op.Path)
	if path == "" {
		if kind == "remove" {
			return bad(typeNoTarget, "remove needs a path")
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return bad(typeInvalidValue, "an %s without a path needs an object of attributes as its value", kind)
		}
		for name, av := range canonical(obj, p.t.Attrs, p.t.Schema) {
			a, _ := find(p.t.Attrs, name)
			if err := p.attribute(kind, a, av); err != nil {
				return err
			}
		}
		return nil
	}
	pp, err := parsePath(path)
	if err != nil {
		return bad(typeInvalidPath, "the path %q does not parse (attribute, attribute.sub-attribute or attribute[filter].sub-attribute)", path)
	}
	if uri := pp.AttributePath.URI(); uri != "" && !strings.EqualFold(uri, p.t.Schema) {
		return nil // another schema's attribute: not kept
	}
	a, ok := find(p.t.Attrs, pp.AttributePath.AttributeName)
	if !ok {
		return nil // an attribute Gatehouse does not keep
	}
	sub := ""
	if pp.AttributePath.SubAttribute != nil {
		sub = *pp.AttributePath.SubAttribute
	}
	if pp.ValueExpression == nil {
		if sub == "" {
			return p.attribute(kind, a, v)
		}
		return p.subAttribute(kind, a, sub, v)
	}
	if pp.AttributePath.SubAttribute != nil || !a.MultiValued {
		return bad(typeInvalidPath, "%s: a value filter needs a multi-valued attribute", path)
	}
	if pp.SubAttribute != nil {
		sub = *pp.SubAttribute
	}
	return p.filtered(kind, a, pp.ValueExpression, sub, v)
}

// parsePath runs the path parser, which must not take the request down
// whatever it is given.
func parsePath(raw string) (pp filter.Path, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("path parser: %v", r)
		}
	}()
	return filter.ParsePath([]byte(raw))
}

// mutable refuses a change of a read-only attribute; setting it to the
// value it has (as Okta sends the id along) changes nothing and passes.
func (p *patcher) mutable(kind string, a attr, v any) (bool, error) {
	if !a.readOnly() {
		return true, nil
	}
	if kind != "remove" && reflect.DeepEqual(p.res[a.Name], v) {
		return false, nil
	}
	if a.Name == "groups" {
		return false, bad(typeMutability, "groups is read-only: change the group's members instead")
	}
	return false, bad(typeMutability, "%s is read-only", a.Name)
}

// attribute applies an operation to attribute a as a whole.
func (p *patcher) attribute(kind string, a attr, v any) error {
	v = canonicalValue(a, v)
	if ok, err := p.mutable(kind, a, v); !ok {
		return err
	}
	switch {
	case kind == "remove" && a.MultiValued && v != nil:
		// Members removed by a list of values (Microsoft Entra): the
		// elements with those values go, the others stay.
		gone, err := elementsOf(a, v)
		if err != nil {
			return err
		}
		var keep []any
		for _, e := range valuesOf(p.res[a.Name]) {
			if !containsValue(gone, e) {
				keep = append(keep, e)
			}
		}
		p.res[a.Name] = orEmpty(keep)
	case kind == "remove":
		delete(p.res, a.Name)
	case a.MultiValued:
		es, err := elementsOf(a, v)
		if err != nil {
			return err
		}
		if kind == "add" {
			es = append(valuesOf(p.res[a.Name]), es...)
		}
		p.res[a.Name] = orEmpty(es)
	case a.Type == "complex":
		m, ok := v.(map[string]any)
		if !ok {
			return bad(typeInvalidValue, "%s: want an object", a.Name)
		}
		cur, _ := p.res[a.Name].(map[string]any)
		if cur == nil {
			cur = object{}
		}
		for k, sv := range m {
			cur[k] = sv
		}
		p.res[a.Name] = cur
	default:
		p.res[a.Name] = v
	}
	return nil
}

// subAttribute applies an operation to a sub-attribute of a ("name.givenName";
// of a multi-valued attribute, of each of its elements).
func (p *patcher) subAttribute(kind string, a attr, subName string, v any) error {
	sa, ok := a.sub(subName)
	if !ok {
		return nil // a sub-attribute Gatehouse does not keep
	}
	if a.readOnly() {
		return bad(typeMutability, "%s is read-only", a.Name)
	}
	if a.MultiValued {
		es := valuesOf(p.res[a.Name])
		if len(es) == 0 && kind != "remove" {
			es = []any{object{}}
		}
		for _, e := range es {
			if m, ok := e.(map[string]any); ok {
				setSub(m, kind, sa.Name, v)
			}
		}
		p.res[a.Name] = orEmpty(es)
		return nil
	}
	cur, _ := p.res[a.Name].(map[string]any)
	if cur == nil {
		if kind == "remove" {
			return nil
		}
		cur = object{}
	}
	setSub(cur, kind, sa.Name, v)
	p.res[a.Name] = cur
	return nil
}

func setSub(m map[string]any, kind, name string, v any) {
	if kind == "remove" {
		delete(m, name)
		return
	}
	m[name] = v
}

// filtered applies an operation to the elements of a that expr selects,
// or to their sub-attribute sub.
func (p *patcher) filtered(kind string, a attr, expr filter.Expression, sub string, v any) error {
	if a.readOnly() {
		return bad(typeMutability, "%s is read-only", a.Name)
	}
	var sa attr
	if sub != "" {
		var ok bool
		if sa, ok = a.sub(sub); !ok {
			return nil // a sub-attribute Gatehouse does not keep
		}
	}
	es := valuesOf(p.res[a.Name])
	var keep []any
	matched := 0
	for _, e := range es {
		m, ok := e.(map[string]any)
		if !ok {
			keep = append(keep, e)
			continue
		}
		hit, err := matches(a, expr, m)
		if err != nil {
			return err
		}
		if !hit {
			keep = append(keep, e)
			continue
		}
		matched++
		switch {
		case kind == "remove" && sub == "":
			continue // the element goes
		case sub != "":
			setSub(m, kind, sa.Name, v)
		default:
			nv, ok := canonicalValue(a, v).(map[string]any)
			if !ok {
				return bad(typeInvalidValue, "%s: want an object to replace the matching values with", a.Name)
			}
			for k, x := range nv {
				m[k] = x
			}
		}
		keep = append(keep, m)
	}
	if matched == 0 && kind != "remove" {
		// Nothing matches: the element the filter describes is made, if
		// it describes one (type eq "work").
		m, ok := described(a, expr)
		if !ok {
			return bad(typeNoTarget, "no value of %s matches the filter", a.Name)
		}
		if sub != "" {
			m[sa.Name] = v
		} else if nv, ok := canonicalValue(a, v).(map[string]any); ok {
			for k, x := range nv {
				m[k] = x
			}
		}
		keep = append(keep, m)
	}
	p.res[a.Name] = orEmpty(keep)
	return nil
}

// described is the element that a filter of eq comparisons joined by and
// describes (type eq "work" and primary eq true), if it is one.
func described(a attr, expr filter.Expression) (object, bool) {
	out := object{}
	var walk func(e filter.Expression) bool
	walk = func(e filter.Expression) bool {
		switch e := e.(type) {
		case *filter.LogicalExpression:
			return strings.EqualFold(string(e.Operator), "and") && walk(e.Left) && walk(e.Right)
		case *filter.AttributeExpression:
			sa, ok := a.sub(e.AttributePath.AttributeName)
			if !ok || e.AttributePath.SubAttribute != nil || !strings.EqualFold(string(e.Operator), "eq") || e.CompareValue == nil {
				return false
			}
			v := e.CompareValue
			if s, ok := v.(string); ok {
				if v, ok = unquote(s); !ok {
					return false
				}
			}
			out[sa.Name] = v
			return true
		}
		return false
	}
	return out, walk(expr)
}

// matches evaluates a value filter on an element m of attribute a.
func matches(a attr, expr filter.Expression, m map[string]any) (bool, error) {
	switch e := expr.(type) {
	case *filter.LogicalExpression:
		l, err := matches(a, e.Left, m)
		if err != nil {
			return false, err
		}
		r, err := matches(a, e.Right, m)
		if err != nil {
			return false, err
		}
		if strings.EqualFold(string(e.Operator), "or") {
			return l || r, nil
		}
		return l && r, nil
	case *filter.NotExpression:
		x, err := matches(a, e.Expression, m)
		return !x, err
	case *filter.AttributeExpression:
		sa, ok := a.sub(e.AttributePath.AttributeName)
		if !ok || e.AttributePath.SubAttribute != nil {
			return false, bad(typeInvalidFilter, "%s has no sub-attribute %s", a.Name, e.AttributePath)
		}
		return compareValue(sa, strings.ToLower(string(e.Operator)), m[sa.Name], e.CompareValue)
	}
	return false, bad(typeInvalidFilter, "%s: a value filter within a value filter", a.Name)
}

// compareValue compares an element's value got with want by op, as the
// sub-attribute's type and case rule say.
func compareValue(sa attr, op string, got, want any) (bool, error) {
	if op == "pr" {
		return got != nil && got != "", nil
	}
	if sa.Type == "boolean" {
		g, _ := truthOf(got)
		w, ok := truthOf(want)
		if !ok || (op != "eq" && op != "ne") {
			return false, bad(typeInvalidFilter, "%s: compare true or false with eq or ne", sa.Name)
		}
		return (g == w) == (op == "eq"), nil
	}
	ws, ok := want.(string)
	if !ok {
		if want == nil {
			return (got == nil || got == "") == (op == "eq"), nil
		}
		return false, bad(typeInvalidFilter, "%s: want a string to compare with", sa.Name)
	}
	if ws, ok = unquote(ws); !ok {
		return false, bad(typeInvalidFilter, "%s: a string with a bad escape", sa.Name)
	}
	gs, _ := got.(string)
	if !sa.CaseExact {
		gs, ws = strings.ToLower(gs), strings.ToLower(ws)
	}
	switch op {
	case "eq":
		return gs == ws, nil
	case "ne":
		return gs != ws, nil
	case "co":
		return strings.Contains(gs, ws), nil
	case "sw":
		return strings.HasPrefix(gs, ws), nil
	case "ew":
		return strings.HasSuffix(gs, ws), nil
	case "gt":
		return gs > ws, nil
	case "ge":
		return gs >= ws, nil
	case "lt":
		return gs < ws, nil
	case "le":
		return gs <= ws, nil
	}
	return false, bad(typeInvalidFilter, "unknown operator %q", op)
}

// truthOf reads a boolean as truth does.
func truthOf(v any) (bool, bool) {
	switch v := v.(type) {
	case nil:
		return false, true
	case bool:
		return v, true
	case string:
		switch strings.ToLower(v) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

// elementsOf reads the value of an operation on a multi-valued attribute:
// a list of values, or one.
func elementsOf(a attr, v any) ([]any, error) {
	switch v := canonicalValue(a, v).(type) {
	case nil:
		return nil, nil
	case []any:
		return v, nil
	case map[string]any:
		return []any{v}, nil
	}
	return nil, bad(typeInvalidValue, "%s: want a list of objects", a.Name)
}

// containsValue reports whether an element of gone has e's value.
func containsValue(gone []any, e any) bool {
	m, ok := e.(map[string]any)
	if !ok {
		return false
	}
	for _, g := range gone {
		if gm, ok := g.(map[string]any); ok && gm["value"] != nil && fmt.Sprint(gm["value"]) == fmt.Sprint(m["value"]) {
			return true
		}
	}
	return false
}

func valuesOf(v any) []any {
	l, _ := v.([]any)
	return l
}

func orEmpty(l []any) []any {
	if l == nil {
		return []any{}
	}
	return l
}
