package oauth

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/internal/audittest"
	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/edge"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/token"
)

// The token endpoint's own tests: the handler over fakes of the narrow
// interfaces it depends on. Flows with real clients against a real server
// are in internal/server.

const (
	basicID   = "11111111-1111-4111-8111-111111111111"
	postID    = "22222222-2222-4222-8222-222222222222"
	theSecret = "s3cret/with+odd:chars"
)

type fakeClients map[string]store.Client

func (f fakeClients) Authenticate(_ context.Context, team, id, sec string) (store.Client, error) {
	c, ok := f[id]
	if !ok || c.Team != team {
		return store.Client{}, fmt.Errorf("no client %s: %w", id, client.ErrInvalidClient)
	}
	if sec != theSecret {
		return store.Client{}, fmt.Errorf("wrong secret: %w", client.ErrInvalidClient)
	}
	return c, nil
}

type fakeTokens struct{ issued []token.Request }

func (f *fakeTokens) Issue(_ context.Context, req token.Request) (token.Token, error) {
	f.issued = append(f.issued, req)
	return token.Token{Raw: secret.Secret(fmt.Sprintf("jwt-%d", len(f.issued))), JTI: fmt.Sprint(len(f.issued))}, nil
}

type tokenFixture struct {
	e        *Endpoints
	tokens   *fakeTokens
	audit    *audittest.Trail
	refusals *ratelimit.Refusals
}

func newTokenFixture() *tokenFixture {
	now := func() time.Time { return time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC) }
	f := &tokenFixture{tokens: &fakeTokens{}, audit: &audittest.Trail{}}
	f.refusals = ratelimit.NewRefusals(f.audit, time.Minute, now)
	cc := []string{client.GrantClientCredentials}
	f.e = &Endpoints{
		Clients: fakeClients{
			basicID: {Team: "acme", ID: basicID, GrantTypes: cc, AuthMethod: client.AuthSecretBasic, Scopes: []string{"audit.log:read", "team.login-history:read"}},
			postID:  {Team: "acme", ID: postID, GrantTypes: []string{client.GrantAuthorizationCode}, AuthMethod: client.AuthSecretPost, Scopes: []string{"audit.log:read"}},
		},
		Tokens:         f.tokens,
		ClientLimit:    ratelimit.NewBudget(ratelimit.BudgetOptions{Name: "client", Max: 3, Window: time.Minute, Now: now}),
		IPLimit:        ratelimit.NewBudget(ratelimit.BudgetOptions{Name: "client.ip", Max: 100, Window: time.Minute, Now: now}),
		Refusals:       f.refusals,
		Audit:          f.audit,
		Now:            now,
		AccessTokenTTL: 15 * time.Minute,
		SigningAlg:     "ES384",
	}
	return f
}

func basic(id, sec string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(sec)))
}

func (f *tokenFixture) post(method, contentType string, body []byte, header http.Header) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "/oauth2/token", bytes.NewReader(body))
	r.Host = "acme.gatehouse.test"
	r.RemoteAddr = "192.0.2.7:4000"
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	for k, vs := range header {
		r.Header[k] = vs
	}
	info := &edge.Info{RequestID: "t", Team: store.Team{Name: "acme"}, TeamURL: "https://acme.gatehouse.test",
		TeamHost: "acme.gatehouse.test", Log: slog.New(slog.DiscardHandler)}
	r = r.WithContext(edge.WithInfo(r.Context(), info))
	rec := httptest.NewRecorder()
	f.e.ServeToken(rec, r)
	return rec
}

const form = "application/x-www-form-urlencoded"

func TestTokenEndpoint(t *testing.T) {
	auth := http.Header{"Authorization": {basic(basicID, theSecret)}}
	for _, tc := range []struct {
		name      string
		method    string
		ct        string
		body      string
		header    http.Header
		status    int
		errCode   string // "" on success
		scope     string // of a success
		challenge bool
		audit     string
	}{
		{name: "basic, all scopes", body: "grant_type=client_credentials", header: auth, status: 200,
			scope: "audit.log:read team.login-history:read", audit: "token.issue"},
		{name: "basic, one scope", body: "grant_type=client_credentials&scope=audit.log:read", header: auth, status: 200,
			scope: "audit.log:read", audit: "token.issue"},
		{name: "runs of spaces and repeats", body: "grant_type=client_credentials&scope=audit.log:read++audit.log:read", header: auth,
			status: 200, scope: "audit.log:read", audit: "token.issue"},
		{name: "GET", method: "GET", header: auth, status: 405, errCode: "invalid_request"},
		{name: "no content type", ct: "-", body: "grant_type=client_credentials", header: auth, status: 400, errCode: "invalid_request"},
		{name: "JSON body", ct: "application/json", body: `{"grant_type":"client_credentials"}`, header: auth, status: 400, errCode: "invalid_request"},
		{name: "no grant type", body: "scope=audit.log:read", header: auth, status: 400, errCode: "invalid_request"},
		{name: "unknown grant type", body: "grant_type=password", header: auth, status: 400, errCode: "unsupported_grant_type"},
		{name: "repeated parameter", body: "grant_type=client_credentials&scope=a&scope=b", header: auth, status: 400, errCode: "invalid_request"},
		{name: "no client authentication", body: "grant_type=client_credentials", status: 401, errCode: "invalid_client"},
		{name: "wrong secret, basic: challenge", body: "grant_type=client_credentials",
			header: http.Header{"Authorization": {basic(basicID, "nope")}}, status: 401, errCode: "invalid_client", challenge: true,
			audit: "client.auth.failure"},
		{name: "unknown client", body: "grant_type=client_credentials",
			header: http.Header{"Authorization": {basic("33333333-3333-4333-8333-333333333333", theSecret)}}, status: 401,
			errCode: "invalid_client", challenge: true, audit: "client.auth.failure"},
		{name: "not the Basic scheme", body: "grant_type=client_credentials", header: http.Header{"Authorization": {"Bearer x"}},
			status: 401, errCode: "invalid_client", challenge: true},
		{name: "both header and body", body: "grant_type=client_credentials&client_secret=" + url.QueryEscape(theSecret), header: auth,
			status: 400, errCode: "invalid_request"},
		{name: "registered method is post, used basic", body: "grant_type=client_credentials",
			header: http.Header{"Authorization": {basic(postID, theSecret)}}, status: 401, errCode: "invalid_client", challenge: true,
			audit: "client.auth.failure"},
		{name: "post client not registered for client_credentials",
			body:   "grant_type=client_credentials&client_id=" + postID + "&client_secret=" + url.QueryEscape(theSecret),
			status: 400, errCode: "unauthorized_client"},
		{name: "scope not allowed", body: "grant_type=client_credentials&scope=studio", header: auth, status: 400, errCode: "invalid_scope"},
		{name: "empty scope", body: "grant_type=client_credentials&scope=", header: auth, status: 400, errCode: "invalid_scope"},
		{name: "non-ASCII scope", body: "grant_type=client_credentials&scope=caf%C3%A9", header: auth, status: 400, errCode: "invalid_scope"},
		{name: "credentials in the query are ignored", body: "grant_type=client_credentials", status: 401, errCode: "invalid_client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newTokenFixture()
			method, ct := tc.method, tc.ct
			if method == "" {
				method = "POST"
			}
			switch ct {
			case "":
				ct = form
			case "-":
				ct = ""
			}
			rec := f.post(method, ct, []byte(tc.body), tc.header)
			checkTokenAnswer(t, rec, tc.status, tc.errCode, tc.scope)
			if got := rec.Header().Get("WWW-Authenticate") != ""; got != tc.challenge {
				t.Errorf("WWW-Authenticate present %v, want %v", got, tc.challenge)
			}
			if got := strings.Join(f.audit.Actions(), ","); got != tc.audit {
				t.Errorf("audit %q, want %q", got, tc.audit)
			}
			if tc.status == 200 {
				req := f.tokens.issued[0]
				if req.Team != "acme" || req.ClientID != basicID || req.Subject != basicID || req.TTL != 15*time.Minute ||
					req.IssuerURL != "https://acme.gatehouse.test" || req.Alg != "ES384" {
					t.Errorf("issued %+v", req)
				}
			} else if len(f.tokens.issued) != 0 {
				t.Errorf("a refused request issued a token")
			}
		})
	}
}

// checkTokenAnswer checks a token endpoint answer: the status, the error
// code or the token response's shape, and no-store either way.
func checkTokenAnswer(t *testing.T, rec *httptest.ResponseRecorder, status int, errCode, scope string) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d: %s", rec.Code, status, rec.Body)
	}
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", rec.Header().Get("Cache-Control"))
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
	if errCode != "" {
		if body["error"] != errCode {
			t.Errorf("error %v, want %s (%v)", body["error"], errCode, body["error_description"])
		}
		return
	}
	want := map[string]any{"access_token": "jwt-1", "scope": scope, "token_type": "Bearer", "expires_in": float64(900)}
	if d := cmp.Diff(want, body); d != "" {
		t.Errorf("token response (-want +got):\n%s", d)
	}
}

// The Celonis guide's curl: multipart, id and secret in the body.
func TestTokenEndpointMultipart(t *testing.T) {
	f := newTokenFixture()
	f.e.Clients.(fakeClients)[postID] = store.Client{Team: "acme", ID: postID, GrantTypes: []string{client.GrantClientCredentials},
		AuthMethod: client.AuthSecretPost, Scopes: []string{"audit.log:read"}}
	for _, tc := range []struct {
		name    string
		fields  map[string]string
		file    bool
		status  int
		errCode string
	}{
		{name: "the guide's form", fields: map[string]string{"client_id": postID, "client_secret": theSecret,
			"grant_type": "client_credentials", "scope": "audit.log:read"}, status: 200},
		{name: "a file part", fields: map[string]string{"client_id": postID, "client_secret": theSecret,
			"grant_type": "client_credentials"}, file: true, status: 400, errCode: "invalid_request"},
		{name: "no secret", fields: map[string]string{"client_id": postID, "grant_type": "client_credentials"},
			status: 401, errCode: "invalid_client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.tokens.issued = nil
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			for k, v := range tc.fields {
				mw.WriteField(k, v)
			}
			if tc.file {
				fw, _ := mw.CreateFormFile("upload", "x.bin")
				fw.Write([]byte("data"))
			}
			mw.Close()
			rec := f.post("POST", mw.FormDataContentType(), buf.Bytes(), nil)
			checkTokenAnswer(t, rec, tc.status, tc.errCode, "audit.log:read")
		})
	}
}

// After the limit of failures for one client, attempts get 429 with
// Retry-After before any secret is checked, and one "blocked" event is
// audited.
func TestTokenEndpointThrottle(t *testing.T) {
	f := newTokenFixture()
	bad := http.Header{"Authorization": {basic(basicID, "nope")}}
	for range 3 {
		if rec := f.post("POST", form, []byte("grant_type=client_credentials"), bad); rec.Code != 401 {
			t.Fatalf("failure answered %d", rec.Code)
		}
	}
	good := http.Header{"Authorization": {basic(basicID, theSecret)}}
	for range 1000 {
		rec := f.post("POST", form, []byte("grant_type=client_credentials"), good)
		if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
			t.Fatalf("after the limit: %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
		}
	}
	// The 1,000 refused attempts are counted, not audited one by one.
	if got, want := strings.Join(f.audit.Actions(), ","), "client.auth.failure,client.auth.failure,client.auth.failure,client.auth.blocked"; got != want {
		t.Errorf("audit %s, want %s", got, want)
	}
	f.refusals.Flush(t.Context())
	if got, want := strings.Join(f.audit.Actions(), ","), "client.auth.failure,client.auth.failure,client.auth.failure,client.auth.blocked,client.auth.throttled"; got != want {
		t.Fatalf("audit after the flush %s, want %s", got, want)
	}
	th := f.audit.Events()[4]
	if th.Target != "client:"+basicID || th.Detail["count"] != "1000" || th.Detail["limit"] != "client" {
		t.Errorf("throttled event %+v, want client:%s counting 1000 by client", th, basicID)
	}
}

// A client_id that this server cannot have issued (not a canonical UUID)
// is refused with invalid_client before the limits count it and before
// anything is audited, whatever its size.
func TestTokenEndpointMalformedClientID(t *testing.T) {
	huge := strings.Repeat("A", 1<<20)
	for _, tc := range []struct {
		name   string
		header http.Header
		body   string
		basic  bool
	}{
		{name: "1 MB, basic", header: http.Header{"Authorization": {basic(huge, theSecret)}}, basic: true},
		{name: "1 MB, post", body: "&client_id=" + huge + "&client_secret=x"},
		{name: "not a UUID", header: http.Header{"Authorization": {basic("my-client", theSecret)}}, basic: true},
		{name: "upper-case UUID", header: http.Header{"Authorization": {basic("6F1C2E0A-8D1B-4C3E-9F2A-1B2C3D4E5F60", theSecret)}}, basic: true},
		{name: "braced UUID", body: "&client_id={" + basicID + "}&client_secret=x"},
		{name: "UUID with a NUL", body: "&client_id=" + basicID + "%00&client_secret=x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newTokenFixture()
			for range 200 { // more than the IP limit allows failures
				rec := f.post("POST", form, []byte("grant_type=client_credentials"+tc.body), tc.header)
				checkTokenAnswer(t, rec, http.StatusUnauthorized, "invalid_client", "")
				if got := rec.Header().Get("WWW-Authenticate") != ""; got != tc.basic {
					t.Fatalf("WWW-Authenticate present %v, want %v", got, tc.basic)
				}
				if len(rec.Body.Bytes()) > 512 {
					t.Fatalf("answer of %d bytes: the client_id came back", rec.Body.Len())
				}
			}
			if got := strings.Join(f.audit.Actions(), ","); got != "" {
				t.Errorf("audit %q, want nothing", got)
			}
			f.refusals.Flush(t.Context())
			if got := strings.Join(f.audit.Actions(), ","); got != "" {
				t.Errorf("audit after the flush %q, want nothing", got)
			}
			// The limits counted none of it: a real client from the same
			// address still gets its token.
			rec := f.post("POST", form, []byte("grant_type=client_credentials"), http.Header{"Authorization": {basic(basicID, theSecret)}})
			checkTokenAnswer(t, rec, 200, "", "audit.log:read team.login-history:read")
		})
	}
}

// When the audit trail cannot take the event an answer depends on, the
// answer is 503 temporarily_unavailable with Retry-After: no token leaves
// unaudited, and a failed authentication is not answered as one.
func TestTokenEndpointAuditFails(t *testing.T) {
	for _, tc := range []struct {
		name   string
		header http.Header
	}{
		{"issuance", http.Header{"Authorization": {basic(basicID, theSecret)}}},
		{"failed client authentication", http.Header{"Authorization": {basic(basicID, "nope")}}},
		{"unknown client", http.Header{"Authorization": {basic("33333333-3333-4333-8333-333333333333", theSecret)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newTokenFixture()
			f.audit.SetFail(true)
			rec := f.post("POST", form, []byte("grant_type=client_credentials"), tc.header)
			checkTokenAnswer(t, rec, http.StatusServiceUnavailable, "temporarily_unavailable", "")
			if ra := rec.Header().Get("Retry-After"); ra == "" {
				t.Error("no Retry-After")
			}
			if strings.Contains(rec.Body.String(), "jwt-") {
				t.Errorf("the answer carries a token: %s", rec.Body)
			}
			if got := strings.Join(f.audit.Actions(), ","); got != "" {
				t.Errorf("events recorded: %s", got)
			}
		})
	}
}
