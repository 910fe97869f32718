package oauth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/gatehouse/gatehouse/internal/audittest"
	"github.com/gatehouse/gatehouse/internal/edge"
	"github.com/gatehouse/gatehouse/internal/ratelimit"
	"github.com/gatehouse/gatehouse/internal/store"
)

// fuzzRequest is a POST to path with the fuzzer's content type, body and
// Authorization headers (each non-empty one sent), as the middleware
// passes it on: the body capped at 64 KiB, the request's Info set.
func fuzzRequest(path, contentType, body string, auth ...string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	r.Host = "acme.gatehouse.test"
	r.RemoteAddr = "192.0.2.7:4000"
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	for _, a := range auth {
		if a != "" {
			r.Header.Add("Authorization", a)
		}
	}
	r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 64<<10)
	info := &edge.Info{RequestID: "t", Team: store.Team{Name: "acme"}, TeamURL: "https://acme.gatehouse.test",
		TeamHost: "acme.gatehouse.test", Log: slog.New(slog.DiscardHandler)}
	return r.WithContext(edge.WithInfo(r.Context(), info))
}

func multipartBody(fields ...string) (contentType, body string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.SetBoundary("fuzzboundary")
	for i := 0; i+1 < len(fields); i += 2 {
		mw.WriteField(fields[i], fields[i+1])
	}
	mw.Close()
	return mw.FormDataContentType(), buf.String()
}

// The body of a POST to the token, introspection and revocation
// endpoints: what parseBody accepts holds every parameter once, and is
// exactly what the form says; what it refuses is a 400 (413 when too
// large) invalid_request.
func FuzzParseBody(f *testing.F) {
	f.Add(form, "grant_type=client_credentials&scope=audit.log%3Aread")
	f.Add(form, "a=1&a=2")
	f.Add(form, "%zz=1")
	f.Add(form+"; charset=utf-8", "a=b;c=d")
	f.Add("application/json", `{"grant_type":"client_credentials"}`)
	f.Add("", "grant_type=client_credentials")
	ct, body := multipartBody("client_id", postID, "client_secret", theSecret, "grant_type", "client_credentials")
	f.Add(ct, body)
	f.Add(ct, strings.Replace(body, `name="client_id"`, `name="client_id"; filename="x"`, 1))
	f.Add("multipart/form-data", body)
	f.Fuzz(func(t *testing.T, contentType, body string) {
		r := fuzzRequest("/oauth2/token", contentType, body)
		p, oerr := parseBody(r)
		if oerr != nil {
			if oerr.Code != "invalid_request" || oerr.Status != http.StatusBadRequest && oerr.Status != http.StatusRequestEntityTooLarge {
				t.Fatalf("parseBody(%q, %q): %d %s", contentType, body, oerr.Status, oerr.Code)
			}
			return
		}
		for k, v := range p {
			if len(v) != 1 {
				t.Errorf("parseBody(%q, %q): %s has %d values", contentType, body, k, len(v))
			}
		}
		if mt, _, _ := strings.Cut(contentType, ";"); strings.EqualFold(strings.TrimSpace(mt), form) {
			want, err := url.ParseQuery(body)
			if err != nil {
				t.Fatalf("parseBody accepted %q, which url.ParseQuery refuses: %v", body, err)
			}
			if d := cmp.Diff(url.Values(want), url.Values(p), cmpopts.EquateEmpty()); d != "" {
				t.Errorf("parseBody(%q) (-form +parsed):\n%s", body, d)
			}
		}
	})
}

// Client credentials: HTTP Basic (RFC 6749 section 2.3.1: id and secret
// form-urlencoded, then base64) or client_id and client_secret in the
// body; one credential per request. What is accepted round-trips through
// the encoding a client uses; what is refused is invalid_request (more than
// one credential) or invalid_client, with a Basic challenge when the
// header was used.
func FuzzClientCredentials(f *testing.F) {
	f.Add(basic(basicID, theSecret), "", "")
	f.Add(basic(basicID, theSecret), basic(basicID, "wrong"), "")
	f.Add(basic(basicID, theSecret), "", "client_secret=x")
	f.Add("", "", "client_id="+postID+"&client_secret="+url.QueryEscape(theSecret))
	f.Add("Basic "+base64.StdEncoding.EncodeToString([]byte("a%zz:b")), "", "")
	f.Add("Basic "+base64.StdEncoding.EncodeToString([]byte("no colon")), "", "")
	f.Add("basic   "+base64.StdEncoding.EncodeToString([]byte("a:b"))+"  ", "", "client_id=b")
	f.Add("Bearer x", "", "client_id=a&client_secret=")
	f.Fuzz(func(t *testing.T, auth1, auth2, query string) {
		p, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		r := fuzzRequest("/oauth2/token", form, "", auth1, auth2)
		headers := len(r.Header.Values("Authorization"))
		_, bodySecret := p["client_secret"]
		c, oerr := clientCredentials(r, params(p))
		if oerr != nil {
			switch {
			case oerr.Code == "invalid_request" && oerr.Status == http.StatusBadRequest:
			case oerr.Code == "invalid_client" && oerr.Status == http.StatusUnauthorized:
				if (oerr.challenge != "") != (headers > 0) {
					t.Errorf("invalid_client with challenge %q, %d Authorization headers", oerr.challenge, headers)
				}
			default:
				t.Fatalf("clientCredentials: %d %s", oerr.Status, oerr.Code)
			}
			if headers > 1 && oerr.Code != "invalid_request" {
				t.Errorf("%d Authorization headers: %s, want invalid_request", headers, oerr.Code)
			}
			return
		}
		if headers > 1 || headers == 1 && bodySecret {
			t.Fatalf("accepted %d Authorization headers with a client_secret in the body: %v", headers, bodySecret)
		}
		if headers == 0 {
			if c.basic || c.method != "client_secret_post" || c.id != p.Get("client_id") || c.secret != p.Get("client_secret") || c.id == "" {
				t.Errorf("from the body %q: %+v", query, c)
			}
			return
		}
		if !c.basic || c.method != "client_secret_basic" {
			t.Errorf("from the header: %+v", c)
		}
		if bodyID := p.Get("client_id"); bodyID != "" && bodyID != c.id {
			t.Errorf("accepted client_id %q in the body and %q in the header", bodyID, c.id)
		}
		// What a client would send for the same id and secret reads back
		// the same.
		again, oerr := clientCredentials(fuzzRequest("/oauth2/token", form, "", basic(c.id, c.secret)), nil)
		if oerr != nil || again.id != c.id || again.secret != c.secret {
			t.Errorf("%q read as %q, %q; encoded again it reads %+v, %v", r.Header.Get("Authorization"), c.id, c.secret, again, oerr)
		}
	})
}

// tokenErrors are the error codes the token, introspection and
// revocation endpoints answer with (RFC 6749 section 5.2, RFC 7009
// section 2.2.1).
var tokenErrors = []string{"invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
	"unsupported_grant_type", "invalid_scope", "temporarily_unavailable"}

// checkOAuthAnswer checks what every answer of the OAuth endpoints shares:
// a known status, no-store, and a JSON object; an error is one of
// tokenErrors with a description.
func checkOAuthAnswer(t *testing.T, rec *httptest.ResponseRecorder, ok ...int) map[string]any {
	t.Helper()
	allowed := append([]int{400, 401, 405, 413, 429}, ok...)
	if !slices.Contains(allowed, rec.Code) {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("status %d without no-store", rec.Code)
	}
	if rec.Code == http.StatusOK && rec.Body.Len() == 0 {
		return nil // revocation
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("status %d, body %q: %v", rec.Code, rec.Body, err)
	}
	if rec.Code >= 400 {
		code, _ := body["error"].(string)
		if desc, _ := body["error_description"].(string); !slices.Contains(tokenErrors, code) || desc == "" {
			t.Errorf("status %d with %s", rec.Code, rec.Body)
		}
	}
	return body
}

// checkOneCredential: a request with two Authorization headers is refused
// as invalid_request (or for its body, before credentials are read).
func checkOneCredential(t *testing.T, rec *httptest.ResponseRecorder, auth1, auth2 string) {
	t.Helper()
	if auth1 != "" && auth2 != "" && rec.Code != http.StatusBadRequest && rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("two Authorization headers: status %d %s", rec.Code, rec.Body)
	}
}

// The token endpoint with any body and Authorization headers: an answer in
// RFC 6749's format, and a token only for a client that authenticated
// (the fixture's secret), for scopes it holds.
func FuzzServeToken(f *testing.F) {
	f.Add(form, "grant_type=client_credentials", basic(basicID, theSecret), "")
	f.Add(form, "grant_type=client_credentials&scope=audit.log%3Aread+team.login-history%3Aread", basic(basicID, theSecret), "")
	f.Add(form, "grant_type=client_credentials&scope=studio", basic(basicID, theSecret), "")
	f.Add(form, "grant_type=client_credentials", basic(basicID, theSecret), basic(basicID, "x"))
	f.Add(form, "grant_type=client_credentials&client_id="+postID+"&client_secret="+url.QueryEscape(theSecret), "", "")
	f.Add(form, "grant_type=authorization_code&code=x&code_verifier=y", basic(basicID, theSecret), "")
	f.Add(form, "grant_type=password&username=a&password=b", basic(basicID, theSecret), "")
	ct, body := multipartBody("grant_type", "client_credentials", "client_id", basicID, "client_secret", theSecret)
	f.Add(ct, body, "", "")
	f.Fuzz(func(t *testing.T, contentType, body, auth1, auth2 string) {
		fx := newTokenFixture()
		rec := httptest.NewRecorder()
		fx.e.ServeToken(rec, fuzzRequest("/oauth2/token", contentType, body, auth1, auth2))
		got := checkOAuthAnswer(t, rec, http.StatusOK)
		checkOneCredential(t, rec, auth1, auth2)
		if rec.Code != http.StatusOK {
			if len(fx.tokens.issued) > 0 {
				t.Errorf("status %d, yet a token was issued", rec.Code)
			}
			return
		}
		if len(fx.tokens.issued) != 1 {
			t.Fatalf("200 with %d tokens issued", len(fx.tokens.issued))
		}
		req := fx.tokens.issued[0]
		// The fake authenticates only its clients, with their secret.
		c, ok := fx.e.Clients.(fakeClients)[req.ClientID]
		if !ok || !slices.Contains(c.GrantTypes, "client_credentials") {
			t.Errorf("a token for client %q", req.ClientID)
		}
		for _, s := range req.Scopes {
			if !slices.Contains(c.Scopes, s) {
				t.Errorf("a token with scope %q, which client %s lacks", s, c.ID)
			}
		}
		if got["access_token"] == "" || got["token_type"] != "Bearer" {
			t.Errorf("token answer %v", got)
		}
	})
}

// Introspection and revocation requests: an answer in RFC 6749's format
// (introspection: {"active": bool}), never a 5xx; active only for an
// authenticated client asking about a token the keys verify.
func FuzzServeIntrospect(f *testing.F) {
	f.Add(form, "token=eyJ.x.y", basic(basicID, theSecret), "", false)
	f.Add(form, "token=opaque", basic(basicID, theSecret), "", true)
	f.Add(form, "token=", basic(basicID, theSecret), "", false)
	f.Add(form, "token=eyJ.x.y&token=eyJ.x.y", basic(basicID, theSecret), "", false)
	f.Add(form, "token=eyJ.x.y", basic(basicID, theSecret), basic(basicID, theSecret), true)
	f.Add(form, "token=eyJ.x.y&client_id="+basicID+"&client_secret=x", basic(basicID, theSecret), "", false)
	f.Fuzz(func(t *testing.T, contentType, body, auth1, auth2 string, revoke bool) {
		now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
		d := &downDeps{now: now}
		fx := newTokenFixture()
		e := &Endpoints{Clients: fx.e.Clients, Tokens: d, Keys: d, Denylist: d, Consents: d, Audit: &audittest.Trail{},
			ClientLimit: ratelimit.NewBudget(ratelimit.BudgetOptions{Name: "client", Max: 3, Window: time.Minute, Now: func() time.Time { return now }}),
			IPLimit:     ratelimit.NewBudget(ratelimit.BudgetOptions{Name: "client.ip", Max: 3, Window: time.Minute, Now: func() time.Time { return now }}),
			Now:         func() time.Time { return now }, AccessTokenTTL: time.Minute}
		rec := httptest.NewRecorder()
		if revoke {
			e.ServeRevoke(rec, fuzzRequest("/oauth2/revoke", contentType, body, auth1, auth2))
			checkOAuthAnswer(t, rec, http.StatusOK)
			checkOneCredential(t, rec, auth1, auth2)
			return
		}
		r := fuzzRequest("/oauth2/introspect", contentType, body, auth1, auth2)
		e.ServeIntrospect(rec, r)
		got := checkOAuthAnswer(t, rec, http.StatusOK)
		checkOneCredential(t, rec, auth1, auth2)
		if rec.Code != http.StatusOK {
			return
		}
		active, ok := got["active"].(bool)
		if !ok {
			t.Fatalf("introspection answer %v", got)
		}
		if active && (!strings.HasPrefix(r.PostForm.Get("token"), "eyJ") && !strings.HasPrefix(r.FormValue("token"), "eyJ")) {
			t.Errorf("active for token %q", r.PostForm.Get("token"))
		}
	})
}

// The userinfo endpoint with any method, body and Authorization headers:
// the claims only for a token the keys verify, sent one way (a Bearer
// header or the access_token field of a form POST); every refusal is RFC
// 6750's, a 400, 401 or 403 with a Bearer challenge for the team; never a
// 5xx.
func FuzzServeUserInfo(f *testing.F) {
	f.Add(false, "", "", "Bearer eyJ.x.y", "")
	f.Add(true, form, "access_token=eyJ.x.y", "", "")
	f.Add(true, form, "access_token=eyJ.x.y", "Bearer eyJ.x.y", "")
	f.Add(true, form, "access_token=eyJ.x.y&access_token=eyJ.x.y", "", "")
	f.Add(true, form, "access_token=", "", "")
	f.Add(false, "", "", "Bearer eyJ.x.y", "Bearer eyJ.x.y")
	f.Add(false, "", "", "Bearer ", "")
	f.Add(false, "", "", "Basic eyJ", "")
	f.Add(false, "", "", "bearer opaque", "")
	ct, body := multipartBody("access_token", "eyJ.x.y")
	f.Add(true, ct, body, "", "")
	f.Fuzz(func(t *testing.T, post bool, contentType, body, auth1, auth2 string) {
		now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
		d := &downDeps{now: now, openid: true}
		e := &Endpoints{Keys: d, Denylist: d, Users: downUsers{d}, IDTokens: downIDTokens{d}, Now: func() time.Time { return now }}
		r := fuzzRequest("/oauth2/userinfo", contentType, body, auth1, auth2)
		if !post {
			r.Method = http.MethodGet
		}
		rec := httptest.NewRecorder()
		e.ServeUserInfo(rec, r)
		challenge := rec.Header().Get("WWW-Authenticate")
		switch rec.Code {
		case http.StatusOK:
			var claims map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &claims); err != nil || claims["sub"] != "u1" {
				t.Fatalf("200 with %s (%v)", rec.Body, err)
			}
			// Exactly one credential, a token the fake verifies.
			header := strings.HasPrefix(strings.ToLower(strings.TrimSpace(auth1)), "bearer ")
			if auth2 != "" && auth1 != "" || header && r.PostForm.Get("access_token") != "" {
				t.Errorf("claims for a request with two credentials: %q %q %q", auth1, auth2, body)
			}
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden:
			if !strings.HasPrefix(challenge, `Bearer realm="acme.gatehouse.test"`) {
				t.Errorf("%d with WWW-Authenticate %q", rec.Code, challenge)
			}
			var refusal struct{ Error string }
			if err := json.Unmarshal(rec.Body.Bytes(), &refusal); err != nil || refusal.Error == "" {
				t.Errorf("%d with body %s", rec.Code, rec.Body)
			}
		default:
			t.Errorf("status %d: %s", rec.Code, rec.Body)
		}
	})
}
