package adminapi

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"
)

// If-Match comes from the caller. It names the version an ETag gave
// (quoted, weak or strong) or nothing ("*", absent), or is refused with
// a 400 naming the header; the ETag of any version reads back as it.
func FuzzIfMatch(f *testing.F) {
	for _, s := range []string{"", "*", `"3f2a"`, `W/"3f2a"`, `"a", "b"`, `"`, `""`, `'x'`, ` "x" `, `"a"b"`} {
		f.Add(s, "3f2a")
	}
	f.Fuzz(func(t *testing.T, header, version string) {
		if version != "" && !strings.ContainsAny(version, "\"\r\n") && utf8.ValidString(version) && strings.TrimSpace(version) == version {
			rec := httptest.NewRecorder()
			setETag(rec, version)
			r := httptest.NewRequest("PATCH", "/", nil)
			r.Header.Set("If-Match", rec.Header().Get("ETag"))
			if got, err := ifMatch(r); err != nil || got != version {
				t.Errorf("ifMatch(ETag of %q) = %q, %v", version, got, err)
			}
		}
		r := httptest.NewRequest("PATCH", "/", nil)
		r.Header["If-Match"] = []string{header}
		got, err := ifMatch(r)
		if err != nil {
			var re *requestError
			if !errors.As(err, &re) || re.p.Status != http.StatusBadRequest || len(re.p.Errors) != 1 || re.p.Errors[0].Field != "If-Match" {
				t.Fatalf("ifMatch(%q): %v, want a 400 naming If-Match", header, err)
			}
			return
		}
		if strings.Contains(got, `"`) {
			t.Errorf("ifMatch(%q) = %q: a version with a quote", header, got)
		}
		if got == "" && strings.TrimSpace(header) != "" && strings.TrimSpace(header) != "*" && strings.Trim(strings.TrimPrefix(strings.TrimSpace(header), "W/"), `"`) != "" {
			t.Errorf("ifMatch(%q) = no version", header)
		}
	})
}

// Every query parameter of the APIs passes plainText before a service or
// a database sees it: what it accepts is UTF-8 without control
// characters, which both databases take in a text parameter.
func FuzzPlainText(f *testing.F) {
	for _, s := range []string{"", "ada", "Ventes – Europe", "a\x00b", "\xff", "\u202e", "a\tb", "\u0085"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ok := plainText(s)
		bad := !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || (r >= 0x7f && r < 0xa0) })
		if ok == bad {
			t.Errorf("plainText(%q) = %v", s, ok)
		}
	})
}
