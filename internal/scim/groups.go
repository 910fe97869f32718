package scim

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/store"
)

// groupSort is what Groups may be sorted by.
var groupSort = map[string]store.Field{
	"id": store.FieldGroupID, "displayname": store.FieldGroupName, "externalid": store.FieldGroupExternalID,
	"meta.created": store.FieldGroupCreated, "meta.lastmodified": store.FieldGroupUpdated,
}

// groupResource is g as its answer shows it: its members as structs,
// which encode as their maps do (same keys, same order) in a fraction of
// the time, a page of groups holding up to 100,000 of them.
func groupResource(r *http.Request, g store.Group) object {
	b := base(r)
	o := withMeta(groupObject(b, store.Group{ID: g.ID, Name: g.Name, ExternalID: g.ExternalID}), GroupSchema, "Group",
		b+"/Groups/"+g.ID, admin.GroupVersion(g), g.CreatedAt, g.UpdatedAt)
	members := make([]memberRef, 0, len(g.Members))
	for _, id := range g.Members {
		members = append(members, memberRef{Ref: b + "/Users/" + id, Type: "User", Value: id})
	}
	o["members"] = members
	return o
}

// memberRef is a member of a group in an answer: groupObject's member
// map, as a struct.
type memberRef struct {
	Ref   string `json:"$ref"`
	Type  string `json:"type"`
	Value string `json:"value"`
}

// writeGroup answers g with status, its ETag and, on creation, its
// Location.
func writeGroup(w http.ResponseWriter, r *http.Request, status int, g store.Group) {
	p := parseProjection(r.URL.Query().Get("attributes"), r.URL.Query().Get("excludedAttributes"), GroupSchema)
	w.Header().Set("ETag", etag(admin.GroupVersion(g)))
	if status == http.StatusCreated {
		w.Header().Set("Location", base(r)+"/Groups/"+g.ID)
	}
	reply(w, status, p.apply(groupResource(r, g)))
}

func (a *API) listGroups(w http.ResponseWriter, r *http.Request) {
	p, err := readList(r, groupType, groupSort)
	if err != nil {
		fail(w, r, err)
		return
	}
	if p.filter != "" {
		c, err := parseFilter(groupFilter, p.filter)
		if err != nil {
			fail(w, r, err)
			return
		}
		p.q.Where = &c
	}
	// Members are read only when shown; the version (meta.version) of a
	// group listed without them is not shown either.
	p.q.WithMembers = p.proj.wants("members")
	gs, total, err := a.svc.QueryGroups(r.Context(), team(r), p.q)
	if err != nil {
		fail(w, r, err)
		return
	}
	rs := make([]object, 0, len(gs))
	for _, g := range gs {
		res := groupResource(r, g)
		if !p.q.WithMembers {
			m := res["meta"].(meta)
			m.Version = ""
			res["meta"] = m
		}
		rs = append(rs, p.proj.apply(res))
	}
	reply(w, http.StatusOK, list(total, p.startIndex, rs))
}

func (a *API) group(r *http.Request) (store.Group, error) {
	return a.svc.GroupByID(r.Context(), team(r), r.PathValue("id"))
}

func (a *API) getGroup(w http.ResponseWriter, r *http.Request) {
	g, err := a.group(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	if notModified(w, r, admin.GroupVersion(g)) {
		return
	}
	writeGroup(w, r, http.StatusOK, g)
}

func (a *API) createGroup(w http.ResponseWriter, r *http.Request) {
	raw, err := body(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	o, err := decodeObject(raw, groupAttrs, GroupSchema)
	if err != nil {
		fail(w, r, err)
		return
	}
	s, err := readGroup(o)
	if err != nil {
		fail(w, r, err)
		return
	}
	g, err := a.svc.ProvisionGroup(r.Context(), actor(r), team(r), admin.NewGroup{Name: s.name, ExternalID: s.externalID, Members: s.members})
	if err != nil {
		fail(w, r, err)
		return
	}
	writeGroup(w, r, http.StatusCreated, g)
}

// changeGroup turns g into s: a new name or external ID, and the members
// added and removed; against the version in If-Match.
func (a *API) changeGroup(w http.ResponseWriter, r *http.Request, g store.Group, s groupState) {
	c := admin.GroupChange{IfVersion: ifMatch(r)}
	if s.name != g.Name {
		c.Name = &s.name
	}
	if s.externalID != g.ExternalID {
		c.ExternalID = &s.externalID
	}
	c.Add, c.Remove = memberDelta(g.Members, s.members)
	g, err := a.svc.UpdateGroup(r.Context(), actor(r), team(r), g.ID, c)
	if err != nil {
		fail(w, r, err)
		return
	}
	writeGroup(w, r, http.StatusOK, g)
}

func (a *API) replaceGroup(w http.ResponseWriter, r *http.Request) {
	g, err := a.group(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	raw, err := body(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	o, err := decodeObject(raw, groupAttrs, GroupSchema)
	if err != nil {
		fail(w, r, err)
		return
	}
	if id, ok := o["id"].(string); ok && id != g.ID {
		fail(w, r, bad(typeMutability, "id: %s is not this group's id", quote(id)))
		return
	}
	s, err := readGroup(o)
	if err != nil {
		fail(w, r, err)
		return
	}
	a.changeGroup(w, r, g, s)
}

func (a *API) patchGroup(w http.ResponseWriter, r *http.Request) {
	g, err := a.group(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	raw, err := body(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	req, err := decodePatch(raw)
	if err != nil {
		fail(w, r, err)
		return
	}
	p := patcher{t: groupType, res: groupObject(base(r), g)}
	if err := p.apply(req.Operations); err != nil {
		fail(w, r, err)
		return
	}
	s, err := readGroup(p.res)
	if err != nil {
		fail(w, r, err)
		return
	}
	a.changeGroup(w, r, g, s)
}

func (a *API) deleteGroup(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.DeleteGroupByID(r.Context(), actor(r), team(r), r.PathValue("id"), ifMatch(r)); err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
