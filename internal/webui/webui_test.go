package webui

import "testing"

func TestSafeReturn(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/profile", "/profile"},
		{"/oauth2/authorize?client_id=x&scope=a+b", "/oauth2/authorize?client_id=x&scope=a+b"},
		{"/", "/"},
		{"", ""},
		{"profile", ""},
		{"//evil.example", ""},
		{"///evil.example", ""},
		{"/\\evil.example", ""},
		{"\\\\evil.example", ""},
		{"https://evil.example/", ""},
		{"http:/evil.example", ""},
		{"javascript:alert(1)", ""},
		{"/\t/evil.example", ""},
		{"/\r\nSet-Cookie: x", ""},
		{"/a\x7f", ""},
		{"/%2F%2Fevil.example", "/%2F%2Fevil.example"}, // a path on this host
	} {
		if got := safeReturn(tc.in); got != tc.want {
			t.Errorf("safeReturn(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
