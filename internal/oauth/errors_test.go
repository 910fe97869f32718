package oauth

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestWriteError(t *testing.T) {
	for _, tc := range []struct {
		name       string
		err        *Error
		status     int
		body       map[string]string
		challenge  string
		retryAfter string
	}{
		{name: "plain", err: invalidRequest("missing grant_type"), status: 400,
			body: map[string]string{"error": "invalid_request", "error_description": "missing grant_type"}},
		{name: "unicode kept", err: invalidScope(`scope "café" is not allowed`), status: 400,
			body: map[string]string{"error": "invalid_scope", "error_description": `scope "café" is not allowed`}},
		{name: "control and markup", err: invalidRequest("a\x00b<script>\\"), status: 400,
			body: map[string]string{"error": "invalid_request", "error_description": "a\x00b<script>\\"}},
		{name: "invalid UTF-8 is replaced, still JSON", err: invalidRequest("bad \xff byte"), status: 400,
			body: map[string]string{"error": "invalid_request", "error_description": "bad \uFFFD byte"}},
		{name: "basic challenge", err: invalidClient("unknown client", true), status: 401,
			body:      map[string]string{"error": "invalid_client", "error_description": "unknown client"},
			challenge: `Basic realm="oauth2", charset="UTF-8"`},
		{name: "no challenge without basic", err: invalidClient("unknown client", false), status: 401,
			body: map[string]string{"error": "invalid_client", "error_description": "unknown client"}},
		{name: "retry after rounds up", err: tooManyFailures(1500 * time.Millisecond), status: 429,
			body:       map[string]string{"error": "temporarily_unavailable", "error_description": "too many failed client authentications; retry later"},
			retryAfter: "2"},
		{name: "no description", err: &Error{Code: "invalid_grant", Status: 400}, status: 400,
			body: map[string]string{"error": "invalid_grant"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			writeError(rec, tc.err)
			if rec.Code != tc.status {
				t.Errorf("status %d, want %d", rec.Code, tc.status)
			}
			var got map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if d := cmp.Diff(tc.body, got); d != "" {
				t.Errorf("body (-want +got):\n%s", d)
			}
			h := rec.Result().Header
			for k, want := range map[string]string{"Cache-Control": "no-store", "Pragma": "no-cache",
				"Content-Type": "application/json;charset=UTF-8", "WWW-Authenticate": tc.challenge, "Retry-After": tc.retryAfter} {
				if got := h.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}
