package access

import (
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/edge"
	"github.com/gatehouse/gatehouse/internal/store"
)

// challengeRE is an RFC 6750 section 3 challenge as the guard writes it:
// a scheme, the realm and, with an error, its code and a description of
// characters allowed in a quoted string without escapes.
var challengeRE = regexp.MustCompile(`^(Bearer|AppKey) realm="acme\.gatehouse\.test"(, error="(invalid_request|invalid_token|insufficient_scope)", error_description="[\x20\x21\x23-\x5b\x5d-\x7e]*")?(, scope="[^"\\]*")?$`)

// The Authorization headers of a call to a protected route: the answer is
// 204 (passed) only for the credentials the fakes know and whose grants
// allow the route, else RFC 6750's 400, 401 or 403 with a well-formed
// challenge, or 503; never anything else.
func FuzzAuthorization(f *testing.F) {
	for _, h := range [][2]string{
		{"Bearer " + jwt("client"), ""}, {"bearer  " + jwt("client") + " ", ""}, {"Bearer " + jwt("client"), "Bearer " + jwt("client")},
		{"AppKey good-appkey", ""}, {"AppKey", ""}, {"Bearer", ""}, {"Bearer eyJ..", ""}, {"Basic Zm9vOmJhcg==", ""},
		{"Bearer " + jwt("expired"), ""}, {"Bearer " + jwt("noscope"), ""}, {"AppKey broken", ""}, {"Bearer \"\\\r", ""},
	} {
		f.Add(h[0], h[1])
	}
	f.Fuzz(func(t *testing.T, auth1, auth2 string) {
		g, _, _ := newGuard()
		var headers []string
		for _, a := range []string{auth1, auth2} {
			if a != "" {
				headers = append(headers, a)
			}
		}
		rec := call(g, headers...)
		switch rec.Code {
		case 204:
			scheme, cred, _ := strings.Cut(strings.TrimSpace(headers[0]), " ")
			cred = strings.TrimSpace(cred)
			known := strings.EqualFold(scheme, "Bearer") && slices.Contains([]string{jwt("client"), jwt("in-leeway")}, cred) ||
				strings.EqualFold(scheme, "AppKey") && cred == "good-appkey"
			if len(headers) != 1 || !known {
				t.Fatalf("%q passed", headers)
			}
			return
		case 400, 401, 403:
			if c := rec.Header().Get("WWW-Authenticate"); !challengeRE.MatchString(c) {
				t.Errorf("%q: %d with challenge %q", headers, rec.Code, c)
			}
		case 503:
		default:
			t.Fatalf("%q: status %d %s", headers, rec.Code, rec.Body)
		}
		var body edge.ErrorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error == "" {
			t.Errorf("%q: %d body %q", headers, rec.Code, rec.Body)
		}
		if len(headers) > 1 && rec.Code != 400 {
			t.Errorf("%d Authorization headers: %d, want 400", len(headers), rec.Code)
		}
	})
}

// The body of POST /api/authz/check, sent by a team admin: 200 with a
// decision, or 400 invalid_request; the decision allows only what the
// rule allows.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{
		`{"token":"` + jwt("client") + `","scope":"audit.log:read","action":"read","resource":"audit-log"}`,
		`{"principal":"client:` + clientID + `","scope":"audit.log:read","action":"read","resource":"audit-log"}`,
		`{"principal":"app:etl","scopes":[],"scope":"x","action":"read","resource":"audit-log"}`, `{"principal":"app:etl","action":"read","resource":"audit-log"}`,
		`{"principal":"group:admins","action":"read","resource":"audit-log"}`,
		`{"token":"x","principal":"app:etl","action":"read","resource":"audit-log"}`,
		`{"principal":"app:etl","action":"read","resource":"audit-log","extra":1}`,
		`{"principal":"app:etl","action":"READ","resource":"a//b"}`, `[]`, `{}`, `null`, ``,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		g, _, _ := newGuard()
		// The AppKey of etl, made a team admin.
		g.Checker.(fakeChecker)["app/etl"] = authz.Entry{Principal: authz.Principal{Kind: authz.App, Name: "etl"},
			Grants: authz.Grants{TeamAdmin: true}}
		r := httptest.NewRequest("POST", "/api/authz/check", strings.NewReader(body))
		r.Header.Set("Authorization", "AppKey good-appkey")
		r = r.WithContext(edge.WithInfo(r.Context(), &edge.Info{RequestID: "t", Team: store.Team{Name: "acme"},
			TeamURL: teamURL, TeamHost: teamHost, Log: slog.New(slog.DiscardHandler)}))
		rec := httptest.NewRecorder()
		g.ServeCheck(rec, r)
		switch rec.Code {
		case 200:
			var out checkResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatalf("%s: 200 %q", body, rec.Body)
			}
			if out.Allowed && out.Reason != "" || !out.Allowed && out.Reason == "" {
				t.Errorf("%s: %+v", body, out)
			}
			if out.Allowed && (authz.ValidateAction(out.Action) != nil || authz.ValidateResource(out.Resource) != nil) {
				t.Errorf("%s: allowed %+v", body, out)
			}
		case 400:
			var e edge.ErrorBody
			if json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Error != "invalid_request" || e.Description == "" {
				t.Errorf("%s: 400 %q", body, rec.Body)
			}
		default:
			t.Fatalf("%s: status %d %s", body, rec.Code, rec.Body)
		}
	})
}
