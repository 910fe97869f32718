package adminapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/edge"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/statickey"
	"github.com/gatehouse/gatehouse/internal/store"
)

// The profile API: the signed-in user's own profile, API keys and
// consents. It answers the user's web session (the cookie; an unsafe
// method also needs the session's X-CSRF-Token from this origin) or a
// credential of the user: a user API key, or an access token the user
// delegated that carries scope team.admin. Nothing of another user, nor a
// client's or an application's credential, reaches it.

type profileKey struct{}

// profileCaller is who a profile request is for.
type profileCaller struct {
	user  store.User
	csrf  string // the session's token, for a session only
	actor kernel.Actor
}

func callerOf(ctx context.Context) profileCaller {
	c, _ := ctx.Value(profileKey{}).(profileCaller)
	return c
}

// profile authenticates a profile request and serves next with its
// caller, or answers 401, 403 or 503.
func (a *API) profile(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		c, ok := a.profileCaller(w, r)
		if !ok {
			return
		}
		edge.RequestInfo(r).Principal = c.actor.ID
		next(w, r.WithContext(context.WithValue(r.Context(), profileKey{}, c)))
	})
}

func (a *API) profileCaller(w http.ResponseWriter, r *http.Request) (profileCaller, bool) {
	info := edge.RequestInfo(r)
	if len(r.Header.Values("Authorization")) > 0 {
		sub, grants, ok := a.o.Guard.Authenticate(w, r)
		if !ok {
			return profileCaller{}, false
		}
		if sub.Principal.Kind != authz.User {
			problem(w, http.StatusForbidden, "the profile API is a user's own: %s is not a user", sub.Principal)
			return profileCaller{}, false
		}
		if !sub.HasScope(scope.TeamAdmin) {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="%s", error="insufficient_scope", scope="%s"`, info.TeamHost, scope.TeamAdmin))
			edge.JSON(w, http.StatusForbidden, map[string]string{"error": "insufficient_scope",
				"error_description": "this call requires scope " + scope.TeamAdmin, "scope": scope.TeamAdmin})
			return profileCaller{}, false
		}
		u, err := a.o.Admin.User(r.Context(), info.Team.Name, sub.UserID)
		if err != nil {
			fail(w, r, err)
			return profileCaller{}, false
		}
		return profileCaller{user: u, actor: kernel.Actor{ID: sub.Principal.String(), IP: kernel.Clip(sourceAddr(r), kernel.MaxIP),
			UserAgent: r.UserAgent(), Authority: grants}}, true
	}
	u, csrf, err := a.o.Sessions.APISession(r)
	switch {
	case a.o.NoSession != nil && errors.Is(err, a.o.NoSession):
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="%s"`, info.TeamHost))
		problem(w, http.StatusUnauthorized, "sign in at /login first, or send a credential of the user in the Authorization header")
		return profileCaller{}, false
	case a.o.CSRF != nil && errors.Is(err, a.o.CSRF):
		problem(w, http.StatusForbidden, "%s", err)
		return profileCaller{}, false
	case err != nil:
		info.Log.Error("read session", "err", err)
		edge.Unavailable(w, "try again shortly")
		return profileCaller{}, false
	}
	e, err := a.o.Principals.Resolve(r.Context(), info.Team.Name, authz.User, u.ID)
	if err != nil {
		if errors.Is(err, authz.ErrUnknownPrincipal) {
			problem(w, http.StatusUnauthorized, "the signed-in user no longer exists or is disabled")
			return profileCaller{}, false
		}
		fail(w, r, err)
		return profileCaller{}, false
	}
	return profileCaller{user: u, csrf: csrf, actor: kernel.Actor{ID: "user:" + u.Email, IP: kernel.Clip(sourceAddr(r), kernel.MaxIP),
		UserAgent: r.UserAgent(), Authority: e.Grants}}, true
}

func (a *API) getProfile(w http.ResponseWriter, r *http.Request) {
	if _, err := query(r); err != nil {
		fail(w, r, err)
		return
	}
	u := callerOf(r.Context()).user
	reply(w, http.StatusOK, Profile{ID: u.ID, Email: u.Email, Name: u.Name, TeamAdmin: u.TeamAdmin, CreatedAt: u.CreatedAt.UTC()})
}

// ownListing is a listing of the profile API: with the session's CSRF
// token when a session asked, for the unsafe calls that follow.
type ownListing[T any] struct {
	Listing[T]
	CSRFToken string `json:"csrf_token,omitempty"`
}

func (a *API) listOwnKeys(w http.ResponseWriter, r *http.Request) {
	_, p, err := listQuery(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	c := callerOf(r.Context())
	ks, next, err := a.o.Keys.FindOwn(r.Context(), team(r), c.user.ID, p)
	if err != nil {
		fail(w, r, err)
		return
	}
	out := make([]Key, 0, len(ks))
	for _, k := range ks {
		out = append(out, toKey(k))
	}
	reply(w, http.StatusOK, ownListing[Key]{Listing: listing(out, next), CSRFToken: c.csrf})
}

func (a *API) createOwnKey(w http.ResponseWriter, r *http.Request) {
	var expires *time.Time
	if _, err := decode(r, map[string]any{"expires_at": &expires}); err != nil {
		fail(w, r, err)
		return
	}
	c := callerOf(r.Context())
	k, key, err := a.o.Keys.Create(r.Context(), c.actor, team(r), statickey.NewKey{Kind: statickey.KindUser, Owner: c.user.Email, ExpiresAt: expires})
	if err != nil {
		fail(w, r, err)
		return
	}
	created(w, r, "/api/profile/keys/"+k.ID, CreatedKey{Key: toKey(k), Secret: key.Reveal()})
}

func (a *API) deleteOwnKey(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r.Context())
	if err := a.o.Keys.DeleteOwn(r.Context(), c.actor, team(r), c.user.ID, r.PathValue("id")); err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) listConsents(w http.ResponseWriter, r *http.Request) {
	if _, _, err := listQuery(r); err != nil {
		fail(w, r, err)
		return
	}
	c := callerOf(r.Context())
	cs, err := a.o.Consents.List(r.Context(), team(r), c.user.ID)
	if err != nil {
		fail(w, r, err)
		return
	}
	out := make([]Consent, 0, len(cs))
	for _, x := range cs {
		name := x.ClientID
		switch cl, err := a.o.Clients.Get(r.Context(), team(r), x.ClientID); {
		case err == nil:
			name = cl.Name
		case errors.Is(err, store.ErrNotFound):
			// Deleting a client deletes its consents; a race shows the ID.
		default:
			fail(w, r, err)
			return
		}
		out = append(out, Consent{ClientID: x.ClientID, ClientName: name, Scopes: nonNil(x.Scopes), GrantedAt: x.CreatedAt.UTC(),
			UpdatedAt: x.UpdatedAt.UTC(), LastUsedAt: utc(x.LastUsedAt)})
	}
	reply(w, http.StatusOK, ownListing[Consent]{Listing: listing(out, ""), CSRFToken: c.csrf})
}

func (a *API) revokeConsent(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r.Context())
	if err := a.o.Consents.Revoke(r.Context(), c.actor, team(r), c.user.ID, r.PathValue("client_id")); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			problem(w, http.StatusNotFound, "you have no consent to that client")
			return
		}
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
