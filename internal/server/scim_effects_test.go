package server_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/poll"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/statickey"
	"github.com/gatehouse/gatehouse/internal/store"
)

// okta's deactivation: a PATCH without a path.
var deactivate = map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
	"Operations": []any{map[string]any{"op": "replace", "value": map[string]any{"active": false}}}}

var reactivate = map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
	"Operations": []any{map[string]any{"op": "replace", "value": map[string]any{"active": true}}}}

// Deactivation through SCIM ends every credential of the user: the web
// session, the refresh token and the access token, within a second; the
// user's static key too. Activating the user again brings none of them
// back, and the user must sign in anew.
func TestSCIMDeactivationEndsEveryCredential(t *testing.T) {
	t.Parallel()
	e := startFlowEnv(t)
	p := scimOn(t, e.h)
	e.grant(t, "acme", "user:"+e.user.Email, "read", "audit-log")
	b := e.signedIn(t)
	access, refresh := e.tokens(t, b, "audit.log:read")
	cookie := copyCookie(t, b, e.http, e.app)
	_, key := e.h.StaticKey(t, "acme", statickey.KindUser, e.user.Email)
	api := func(auth string) int {
		status, _, _ := e.call(t, "acme", "GET", "/api/team/audit-log", "", auth)
		return status
	}
	poll.Must(t, 10*time.Second, "the user's grant to reach the server", func() bool { return api("Bearer "+access) == 200 })
	if api("Bearer "+key) != 200 || !cookie.profileLoads(t) {
		t.Fatal("the static key or the session does not work before the deactivation")
	}

	p.call(t, "PATCH", "/Users/"+e.user.ID, deactivate).want(t, "deactivate", 200)
	deactivated := time.Now()
	if _, ok := poll.Until(time.Second, func() bool { return api("Bearer "+access) == 401 && api("Bearer "+key) == 401 }); !ok {
		t.Errorf("%v after the deactivation: access token %d, static key %d; want both refused within 1 s",
			time.Since(deactivated), api("Bearer "+access), api("Bearer "+key))
	}
	if cookie.profileLoads(t) {
		t.Error("the session outlives the deactivation")
	}
	if r := e.refresh(t, e.app, refresh, ""); r.status != http.StatusBadRequest || r.body["error"] != "invalid_grant" {
		t.Errorf("refresh after the deactivation: %d %s, want 400 invalid_grant", r.status, r.raw)
	}

	// Active again: what was ended stays ended.
	p.call(t, "PATCH", "/Users/"+e.user.ID, reactivate).want(t, "reactivate", 200)
	e.h.SyncChanges(t)
	if got := api("Bearer " + access); got != 401 {
		t.Errorf("the old access token after reactivation: %d, want 401", got)
	}
	if r := e.refresh(t, e.app, refresh, ""); r.status != http.StatusBadRequest {
		t.Errorf("the old refresh token after reactivation: %d %s, want 400", r.status, r.raw)
	}
	if cookie.profileLoads(t) {
		t.Error("the old session works after reactivation")
	}
	if api("Bearer "+key) != 200 {
		t.Error("the static key (a credential the user holds until it is deleted) does not work after reactivation")
	}
	// A new sign-in, after the cut-off, gives tokens that work.
	e.clock.Advance(time.Second)
	access2, _ := e.tokens(t, e.signedIn(t), "audit.log:read")
	if got := api("Bearer " + access2); got != 200 {
		t.Errorf("a new access token after reactivation: %d, want 200", got)
	}
}

// DELETE through SCIM removes the user and everything the user owns, in
// one transaction: static keys, consents, refresh tokens, sessions, group
// memberships and permissions; every credential is refused at once.
func TestSCIMDeleteRemovesEverything(t *testing.T) {
	t.Parallel()
	e := startFlowEnv(t)
	p := scimOn(t, e.h)
	ctx := context.Background()
	e.grant(t, "acme", "user:"+e.user.Email, "read", "audit-log")
	e.h.Group(t, "acme", "Sales Team", e.user.Email)
	b := e.signedIn(t)
	access, refresh := e.tokens(t, b, "audit.log:read")
	cookie := copyCookie(t, b, e.http, e.app)
	k, key := e.h.StaticKey(t, "acme", statickey.KindUser, e.user.Email)

	p.call(t, "DELETE", "/Users/"+e.user.ID, nil).want(t, "delete", 204)
	p.call(t, "GET", "/Users/"+e.user.ID, nil).want(t, "the deleted user", 404)
	if _, err := e.h.DB.Key(ctx, "acme", k.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the user's static key: %v, want ErrNotFound", err)
	}
	if cs, err := e.h.DB.ListConsents(ctx, "acme", e.user.ID); err != nil || len(cs) != 0 {
		t.Errorf("the user's consents: %v, %v", cs, err)
	}
	if g, err := e.h.DB.Group(ctx, "acme", "Sales Team"); err != nil || len(g.Members) != 0 {
		t.Errorf("the group after the delete: %+v, %v", g, err)
	}
	if ps, err := e.h.DB.ListPermissions(ctx, "acme", "user:"+e.user.Email); err != nil || len(ps) != 0 {
		t.Errorf("the user's permissions: %v, %v", ps, err)
	}
	poll.Must(t, time.Second, "every credential of the deleted user refused", func() bool {
		s1, _, _ := e.call(t, "acme", "GET", "/api/team/audit-log", "", "Bearer "+access)
		s2, _, _ := e.call(t, "acme", "GET", "/api/team/audit-log", "", "Bearer "+key)
		return s1 == 401 && s2 == 401
	})
	if cookie.profileLoads(t) {
		t.Error("the deleted user's session works")
	}
	if r := e.refresh(t, e.app, refresh, ""); r.status != http.StatusBadRequest {
		t.Errorf("the deleted user's refresh token: %d %s", r.status, r.raw)
	}
	if actors := p.auditActors(t); len(actors["user.delete"]) != 1 || actors["user.delete"][0] != "client:"+p.client.ID {
		t.Errorf("user.delete audited by %v, want the provisioning client", actors["user.delete"])
	}
}

// Two nodes on one PostgreSQL: a user deactivated through SCIM on one node
// has the access token it got on that node refused by both nodes within a
// second, through the change feed.
func TestSCIMDeactivationTwoNodes(t *testing.T) {
	t.Parallel()
	clock := servertest.NewClock(time.Now())
	n1 := servertest.Start(t, servertest.WithPostgres(), servertest.WithClock(clock))
	n2 := servertest.Start(t, servertest.WithPostgresURL(n1.DBURL), servertest.WithClock(clock), servertest.WithTeams())
	e := flowEnvOn(t, n1)
	e.grant(t, "acme", "user:"+e.user.Email, "read", "audit-log")
	access, _ := e.tokens(t, e.signedIn(t), "audit.log:read")
	on := func(n *servertest.Server) int {
		req, err := http.NewRequest("GET", servertest.URL("acme", "/api/team/audit-log"), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+access)
		resp, err := n.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	poll.Must(t, 10*time.Second, "both nodes to take the token", func() bool { return on(n1) == 200 && on(n2) == 200 })

	// Deactivated through node 2, the node that did not issue the token.
	p := scimOn(t, n2)
	p.call(t, "PATCH", "/Users/"+e.user.ID, deactivate).want(t, "deactivate", 200)
	deactivated := time.Now()
	for i, n := range []*servertest.Server{n1, n2} {
		if _, ok := poll.Until(time.Second-time.Since(deactivated), func() bool { return on(n) == 401 }); !ok {
			t.Errorf("node %d still takes the deactivated user's access token %v after the deactivation: %d", i+1, time.Since(deactivated), on(n))
		}
	}
}
