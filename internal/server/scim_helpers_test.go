package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	// The recorded provider requests of this module's test data
	// (elimity-com/scim, MIT) are read from the module cache: the import
	// keeps the module in go.mod and its files on disk.
	_ "github.com/elimity-com/scim"

	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/scim"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// scimEnv is a running server and a provisioning client of team acme:
// scope user-provisioning.scim, permission manage on users.
type scimEnv struct {
	h      *servertest.Server
	client store.Client
	token  string
}

func startSCIM(t *testing.T, opts ...servertest.Option) *scimEnv {
	t.Helper()
	return scimOn(t, servertest.Start(t, opts...))
}

// scimOn registers the provisioning client on a server already running.
func scimOn(t *testing.T, h *servertest.Server) *scimEnv {
	t.Helper()
	c, sec := h.Client(t, "acme", client.NewClient{Name: "okta-provisioning", Scopes: []string{scim.Scope}})
	h.Grant(t, "acme", "client:"+c.ID, "manage", "users")
	return &scimEnv{h: h, client: c, token: h.Token(t, "acme", c.ID, sec)}
}

// scimAnswer is an answer of a SCIM endpoint.
type scimAnswer struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (a scimAnswer) String() string { return string(a.raw) }

// str reads a string at a path of the body ("meta.location").
func (a scimAnswer) str(path string) string {
	v, _ := dig(a.body, path).(string)
	return v
}

// dig reads a value at a dotted path of nested objects.
func dig(v any, path string) any {
	for p := range strings.SplitSeq(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// call sends a SCIM request to team acme with the env's token (or the
// given Authorization, "" for none) and a body (nil: none; a string is
// sent as it is).
func (e *scimEnv) call(t *testing.T, method, path string, body any, headers ...string) scimAnswer {
	t.Helper()
	return e.callAs(t, "Bearer "+e.token, method, path, body, headers...)
}

func (e *scimEnv) callAs(t *testing.T, auth, method, path string, body any, headers ...string) scimAnswer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, ok := body.(string)
		if !ok {
			b, err := json.Marshal(body)
			if err != nil {
				t.Fatal(err)
			}
			raw = string(b)
		}
		rd = strings.NewReader(raw)
	}
	req, err := http.NewRequest(method, servertest.URL("acme", scim.Prefix+path), rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", scim.MediaType)
	}
	req.Header.Set("Accept", scim.MediaType)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := e.h.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := scimAnswer{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &a.body); err != nil {
			t.Fatalf("%s %s: %d, body not a JSON object: %s", method, path, resp.StatusCode, raw)
		}
		if ct := resp.Header.Get("Content-Type"); ct != scim.MediaType {
			t.Errorf("%s %s: Content-Type %q, want %s", method, path, ct, scim.MediaType)
		}
	}
	return a
}

// want fails t unless a has status; for an error, the body must be an
// RFC 7644 Error with that status and scimType (if given).
func (a scimAnswer) want(t *testing.T, what string, status int, scimType ...string) {
	t.Helper()
	if a.status != status {
		t.Fatalf("%s: %d %s, want %d", what, a.status, a.raw, status)
	}
	if status < 400 {
		return
	}
	schemas, _ := a.body["schemas"].([]any)
	if len(schemas) != 1 || schemas[0] != scim.ErrorSchema || a.str("status") != strconv.Itoa(status) {
		t.Errorf("%s: error body %s, want the Error schema with status %q", what, a.raw, strconv.Itoa(status))
	}
	if len(scimType) > 0 && a.str("scimType") != scimType[0] {
		t.Errorf("%s: scimType %q, want %q (%s)", what, a.str("scimType"), scimType[0], a.raw)
	}
}

// resources are the Resources of a ListResponse.
func (a scimAnswer) resources() []map[string]any {
	var out []map[string]any
	for _, r := range a.body["Resources"].([]any) {
		out = append(out, r.(map[string]any))
	}
	return out
}

// total is a ListResponse's totalResults.
func (a scimAnswer) total() int {
	n, _ := a.body["totalResults"].(float64)
	return int(n)
}

// fixture is one recorded provider exchange of elimity-com/scim's test
// data: the request's method, path and body, and the answer the recording
// shows (whose ids are the recording server's).
type fixture struct {
	Method     string          `json:"method"`
	Path       string          `json:"path"`
	Request    json.RawMessage `json:"request"`
	Response   json.RawMessage `json:"response"`
	StatusCode int             `json:"statusCode"`
}

// providerFixture reads a recorded request of provider ("okta",
// "azuread") from the module cache.
func providerFixture(t *testing.T, provider, name string) fixture {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/elimity-com/scim").Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		t.Fatalf("the module github.com/elimity-com/scim is not in the module cache (go mod download): %v", err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "internal", "idp_test", "testdata", provider, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var f fixture
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatalf("%s/%s: %v", provider, name, err)
	}
	return f
}

// request is the fixture's request body as an object, to adapt to this
// server (its ids, a fresh userName).
func (f fixture) request(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(f.Request, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// auditActors lists the actors of each action of the audit events of team
// acme written in a change's transaction.
func (e *scimEnv) auditActors(t *testing.T) map[string][]string {
	t.Helper()
	evs, _, err := e.h.DB.ListAudit(context.Background(), "acme", store.AuditFilter{}, store.Page{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, ev := range evs {
		if ev.EventID == "" {
			out[ev.Action] = append(out[ev.Action], ev.Actor)
		}
	}
	return out
}
