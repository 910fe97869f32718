package webui

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// browserish is how a browser reads a Location or a link before resolving
// it (the WHATWG URL parser): leading and trailing C0 controls and spaces
// go, tabs and newlines anywhere go, and '\' is '/' in special URLs.
func browserish(s string) string {
	s = strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
	s = strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(s)
	return strings.ReplaceAll(s, `\`, "/")
}

// return_to comes from the query or the sign-in form. What safeReturn
// keeps is the input itself, and only if it is a path on this host: as a
// browser reads it, as Go resolves it, and as the redirect after sign-in
// sends it, it stays on the team's origin; and it survives the trip
// through the sign-in page's URL (loginURL).
func FuzzSafeReturn(f *testing.F) {
	for _, s := range []string{"/profile", "/oauth2/authorize?client_id=x&state=y", "//evil.example", "/\\evil.example",
		"\\/evil.example", "/\t/evil.example", "https://evil.example/", "/%2F%2Fevil.example", "/.//evil.example",
		"/..//evil.example", "/a?b=//evil", "/#//evil", " /x", "/x\x00", "javascript:alert(1)", "/\u3002/evil",
		"/@evil.example", "/:@evil.example", ""} {
		f.Add(s)
	}
	base, _ := url.Parse("https://acme.gatehouse.test/login?return_to=x")
	f.Fuzz(func(t *testing.T, s string) {
		got := safeReturn(s)
		if got == "" {
			return
		}
		if got != s {
			t.Fatalf("safeReturn(%q) = %q: neither the input nor empty", s, got)
		}
		sameOrigin := func(how, ref string) {
			u, err := url.Parse(ref)
			if err != nil {
				return // a browser would not follow it at all
			}
			if r := base.ResolveReference(u); r.Scheme != "https" || r.Host != base.Host || r.User != nil {
				t.Errorf("safeReturn kept %q, which %s leaves the origin: %s", s, how, r)
			}
		}
		sameOrigin("as Go resolves it,", s)
		sameOrigin("as a browser reads it,", browserish(s))
		if strings.HasPrefix(browserish(s), "//") {
			t.Errorf("safeReturn kept %q, which a browser reads as a network-path reference", s)
		}
		rec := httptest.NewRecorder()
		redirect(rec, httptest.NewRequest(http.MethodPost, "https://acme.gatehouse.test/login", nil), orProfile(got))
		loc := rec.Header().Get("Location")
		sameOrigin("as the redirect after sign-in sends it,", loc)
		sameOrigin("as a browser reads the redirect,", browserish(loc))
		u, err := url.Parse(loginURL(got))
		if err != nil || u.Path != "/login" || u.Query().Get("return_to") != got {
			t.Errorf("loginURL(%q) = %q, which does not carry it back", got, loginURL(got))
		}
	})
}
