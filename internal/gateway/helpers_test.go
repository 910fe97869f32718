package gateway_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/edge"
	"github.com/gatehouse/gatehouse/internal/gateway"
	"github.com/gatehouse/gatehouse/internal/scope"
	"github.com/gatehouse/gatehouse/internal/store"
)

// catalog is the built-in scope catalog.
func catalog(t testing.TB) *scope.Catalog {
	t.Helper()
	c, err := scope.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// writeRoutes writes a route file into dir (a new temporary directory if
// "") and returns its path.
func writeRoutes(t testing.TB, dir, content string) string {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	path := filepath.Join(dir, "routes.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// authCall is what an Authorizer was asked.
type authCall struct {
	Scope, Action, Resource string
}

// fakeAuth is an Authorizer that records its calls and allows, as subj,
// or denies with 403.
type fakeAuth struct {
	subj authz.Subject

	mu    sync.Mutex
	deny  bool
	calls []authCall
}

func (f *fakeAuth) Authorize(w http.ResponseWriter, r *http.Request, scope, action, resource string) (authz.Subject, bool) {
	f.mu.Lock()
	f.calls = append(f.calls, authCall{scope, action, resource})
	deny := f.deny
	f.mu.Unlock()
	if deny {
		edge.Error(w, http.StatusForbidden, "insufficient_permission", "no "+action+" on "+resource)
		return authz.Subject{}, false
	}
	return f.subj, true
}

func (f *fakeAuth) Calls() []authCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]authCall(nil), f.calls...)
}

// allowAll is a fakeAuth that lets a client with two scopes through.
func allowAll() *fakeAuth {
	return &fakeAuth{subj: authz.Subject{
		Team:       "acme",
		Principal:  authz.Principal{Kind: authz.Client, Name: "3f2c9a70-6f7e-4d0a-9d51-7c6f0e2b1a11"},
		ClientID:   "3f2c9a70-6f7e-4d0a-9d51-7c6f0e2b1a11",
		Scopes:     []string{"integration.data-pools:data_push", "integration.data-pools"},
		Credential: "access_token",
	}}
}

// teamInfo plays the server's middleware: it marks every request as one
// for team acme, served at https://acme.example.com.
func teamInfo(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := &edge.Info{
			RequestID: "req-1",
			Team:      store.Team{Name: "acme"},
			TeamURL:   "https://acme.example.com",
			TeamHost:  "acme.example.com",
			Log:       edge.RequestInfo(r).Log,
		}
		h.ServeHTTP(w, r.WithContext(edge.WithInfo(r.Context(), info)))
	})
}

// seen is a request as an upstream received it.
type seen struct {
	Method, Host, Path, RawPath, Query string
	Header                             http.Header
	Body                               string
}

// recorder is an upstream that records what it receives and answers
// "upstream" plus its name.
type recorder struct {
	*httptest.Server
	hits atomic.Int64

	mu   sync.Mutex
	last seen
}

func newRecorder(t testing.TB, name string) *recorder {
	t.Helper()
	u := &recorder{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.last = seen{Method: r.Method, Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath,
			Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: string(body)}
		u.mu.Unlock()
		u.hits.Add(1)
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "upstream "+name)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *recorder) Last() seen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.last
}

// newGateway loads a route file and serves it, behind teamInfo, at a test
// server.
func newGateway(t testing.TB, routes string, auth gateway.Authorizer) (*gateway.Gateway, *httptest.Server) {
	t.Helper()
	g, err := gateway.New(gateway.Options{Path: writeRoutes(t, "", routes), Scopes: catalog(t), Auth: auth})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(teamInfo(g))
	t.Cleanup(srv.Close)
	return g, srv
}

// errorBody decodes a JSON error answer.
func errorBody(t testing.TB, resp *http.Response) edge.ErrorBody {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var e edge.ErrorBody
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
		t.Fatalf("decode error body: %v", err)
	}
	return e
}
