package kernel_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/kernel"
)

func TestClip(t *testing.T) {
	mb := strings.Repeat("a", 1<<20)
	for _, tc := range []struct {
		name string
		in   string
		n    int
		want string
	}{
		{"empty", "", 4, ""},
		{"within", "curl/8.5", 256, "curl/8.5"},
		{"exactly", "abcd", 4, "abcd"},
		{"over", "abcdef", 4, "abcd"},
		{"1 MB", mb, kernel.MaxUserAgent, mb[:kernel.MaxUserAgent]},
		{"character not split", "abcé", 4, "abc"}, // é is two bytes
		{"character kept whole", "abé", 4, "abé"},
		{"four-byte character", "a😀b", 4, "a"},
		{"invalid byte", "a\xffb", 8, "a\uFFFDb"},
		{"invalid byte at the cut", "ab\xff", 3, "ab"}, // U+FFFD is three bytes: it does not fit
		{"truncated character", "ab\xc3", 8, "ab\uFFFD"},
		{"NUL", "a\x00b", 8, "a\uFFFDb"},
		{"invalid past the bound", "abcd\xff\xff", 4, "abcd"},
		{"zero bound", "abc", 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := kernel.Clip(tc.in, tc.n); got != tc.want {
				t.Errorf("Clip(%.40q, %d) = %.40q, want %.40q", tc.in, tc.n, got, tc.want)
			}
		})
	}
}

// FuzzClip checks Clip's promises on any input: within the bound, valid
// UTF-8, no NUL, and input that already keeps them comes back unchanged.
func FuzzClip(f *testing.F) {
	for _, s := range []string{"", "Mozilla/5.0", "abcé", "a\xffb", "a\x00b", "😀😀😀", "\xed\xa0\x80"} {
		f.Add(s, 4)
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n < 0 || n > 1<<16 {
			return
		}
		got := kernel.Clip(s, n)
		if len(got) > n || !utf8.ValidString(got) || strings.IndexByte(got, 0) >= 0 {
			t.Fatalf("Clip(%q, %d) = %q: over the bound, invalid UTF-8 or NUL", s, n, got)
		}
		if len(s) <= n && utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 && got != s {
			t.Fatalf("Clip(%q, %d) = %q: changed a string within the bounds", s, n, got)
		}
	})
}

func TestEventClips(t *testing.T) {
	huge := strings.Repeat("x", 1<<20)
	a := kernel.Actor{ID: "client:" + huge, IP: huge, UserAgent: huge + "\xff"}
	detail := map[string]string{"reason": "fine", "path": "/" + huge}
	e := kernel.Event(a, time.Unix(0, 0), "alpha", "access.deny", "res:"+huge, detail)
	for _, f := range []struct {
		name string
		v    string
		max  int
	}{
		{"actor", e.Actor, kernel.MaxName}, {"target", e.Target, kernel.MaxName}, {"ip", e.IP, kernel.MaxIP},
		{"user agent", e.UserAgent, kernel.MaxUserAgent}, {"detail path", e.Detail["path"], kernel.MaxDetail},
	} {
		if len(f.v) != f.max || !utf8.ValidString(f.v) {
			t.Errorf("%s: %d bytes (valid UTF-8: %v), want %d", f.name, len(f.v), utf8.ValidString(f.v), f.max)
		}
	}
	if e.Detail["reason"] != "fine" {
		t.Errorf("detail reason = %q, want it unchanged", e.Detail["reason"])
	}
	if len(detail["path"]) != 1<<20+1 {
		t.Error("Event changed the caller's detail map")
	}
	// Bounded input is kept as it is, the map too.
	small := map[string]string{"grant_type": "client_credentials"}
	e = kernel.Event(kernel.Actor{ID: "client:c", IP: "192.0.2.1", UserAgent: "curl/8.5"}, time.Unix(0, 0), "alpha", "token.issue", "client:c", small)
	if e.Actor != "client:c" || e.IP != "192.0.2.1" || e.UserAgent != "curl/8.5" || e.Target != "client:c" {
		t.Errorf("Event changed bounded strings: %+v", e)
	}
	small["grant_type"] = "changed"
	if e.Detail["grant_type"] != "changed" {
		t.Error("Event copied a detail map that needed no clipping")
	}
}

func BenchmarkEvent(b *testing.B) {
	a := kernel.Actor{ID: "client:6f1c2e0a-8d1b-4c3e-9f2a-1b2c3d4e5f60", IP: "192.0.2.1", UserAgent: "Go-http-client/1.1"}
	at := time.Unix(0, 0)
	for b.Loop() {
		kernel.Event(a, at, "alpha", "token.issue", "client:6f1c2e0a-8d1b-4c3e-9f2a-1b2c3d4e5f60",
			map[string]string{"grant_type": "client_credentials", "jti": "x", "sub": "client:c", "scope": "a b c"})
	}
}
