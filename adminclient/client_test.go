package adminclient_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse/gatehouse/adminclient"
	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/servertest"
)

// The client against a real server: it gets its own team.admin token,
// registers, reads, changes (with the ETag) and rotates a client, and
// reports the API's errors as *Error.
func TestClient(t *testing.T) {
	h := servertest.Start(t, servertest.WithWallClock())
	c, sec := h.Client(t, "acme", client.NewClient{Name: "provisioner", Scopes: []string{scope.TeamAdmin}})
	h.Grant(t, "acme", "client:"+c.ID, "*", "*")
	ac, err := adminclient.New(servertest.URL("acme", ""), adminclient.WithClientCredentials(c.ID, sec), adminclient.WithHTTPClient(h.HTTP))
	if err != nil {
		t.Fatal(err)
	}
	if ac.Team() != "acme" {
		t.Errorf("Team() = %q", ac.Team())
	}
	ctx := context.Background()
	created, err := ac.CreateClient(ctx, adminclient.NewClient{Name: "etl", GrantTypes: []string{"client_credentials"},
		AuthMethod: "client_secret_basic", Scopes: []string{"audit.log:read"}})
	if err != nil || created.ClientSecret == "" {
		t.Fatalf("CreateClient: %+v, %v", created, err)
	}
	h.Token(t, "acme", created.ClientID, created.ClientSecret) // the secret works

	got, tag, err := ac.GetClient(ctx, created.ClientID)
	if err != nil || got.Name != "etl" || tag == "" {
		t.Fatalf("GetClient: %+v %q %v", got, tag, err)
	}
	name := "etl-2"
	if _, _, err := ac.UpdateClient(ctx, created.ClientID, adminclient.ClientChange{Name: &name}, tag); err != nil {
		t.Fatalf("UpdateClient: %v", err)
	}
	var apiErr *adminclient.Error
	if _, _, err := ac.UpdateClient(ctx, created.ClientID, adminclient.ClientChange{Name: &name}, tag); !errors.As(err, &apiErr) || apiErr.Status != 412 {
		t.Errorf("UpdateClient with a stale ETag: %v", err)
	}
	if _, err := ac.CreateClient(ctx, adminclient.NewClient{Name: "", GrantTypes: []string{"client_credentials"},
		AuthMethod: "client_secret_basic", Scopes: []string{"audit.log:read"}}); !errors.As(err, &apiErr) || apiErr.Status != 422 ||
		len(apiErr.Fields) != 1 || apiErr.Fields[0].Field != "name" {
		t.Errorf("CreateClient without a name: %#v", err)
	}
	rot, err := ac.RotateSecret(ctx, created.ClientID, 0)
	if err != nil || rot.ClientSecret == "" {
		t.Fatalf("RotateSecret: %v", err)
	}
	if _, err := ac.CreateApp(ctx, "pusher"); err != nil {
		t.Fatal(err)
	}
	if _, err := ac.Grant(ctx, "app:pusher", "read", "audit-log"); err != nil {
		t.Fatal(err)
	}
	perms, err := adminclient.All(ctx, func(ctx context.Context, p adminclient.Page) (adminclient.List[adminclient.Permission], error) {
		return ac.ListPermissions(ctx, "app:pusher", p)
	})
	if err != nil || len(perms) != 1 || perms[0].Resource != "audit-log" {
		t.Errorf("ListPermissions: %+v %v", perms, err)
	}
	if err := ac.DeleteClient(ctx, created.ClientID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ac.GetClient(ctx, created.ClientID); !errors.As(err, &apiErr) || apiErr.Status != 404 {
		t.Errorf("GetClient after delete: %v", err)
	}

	// A credential without team.admin is refused with the RFC 6750 error.
	other, sec2 := h.Client(t, "acme", client.NewClient{Name: "reader", Scopes: []string{"audit.log:read"}})
	tok := h.Token(t, "acme", other.ID, sec2)
	bad, _ := adminclient.New(servertest.URL("acme", ""), adminclient.WithToken(tok), adminclient.WithHTTPClient(h.HTTP))
	if _, err := bad.Scopes(ctx); !errors.As(err, &apiErr) || apiErr.Status != 403 || apiErr.Code != "insufficient_scope" {
		t.Errorf("without team.admin: %v", err)
	}
}

// Hosts under .localhost are dialed on loopback.
func TestLoopbackTransport(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(r.Host)) }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	resp, err := (&http.Client{Transport: adminclient.LoopbackTransport()}).Get("http://acme.localhost:" + port + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status %d", resp.StatusCode)
	}
}
