package authz

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// A principal ("kind:name") as an administrator writes it in a permission
// and a caller sends it to /api/authz/check: what ParsePrincipal accepts
// prints back as the input (a group's name composed to NFC), and parses
// again to itself.
func FuzzParsePrincipal(f *testing.F) {
	for _, s := range []string{"user:ann@example.com", "group:ops", "app:etl", "client:11111111-1111-4111-8111-111111111111",
		"user:", ":x", "admin:root", "user:a b", "user:a\tb", "user:a:b", "user:\u00a0", "user:\x7f", "User:ann",
		"group:Sales Team", "group:Ventes – Europe", "group:Montre\u0301al", "group: a", "group:a\u202eb", "group:\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePrincipal(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParsePrincipal(%q): %v does not wrap ErrInvalid", s, err)
			}
			return
		}
		want := s
		if p.Kind == Group {
			want = "group:" + norm.NFC.String(strings.TrimPrefix(s, "group:"))
		}
		if p.String() != want {
			t.Errorf("ParsePrincipal(%q) prints as %q, want %q", s, p.String(), want)
		}
		if again, err := ParsePrincipal(p.String()); err != nil || again != p {
			t.Errorf("ParsePrincipal(%q) = %+v, parsed again %+v, %v", s, p, again, err)
		}
		switch p.Kind {
		case User, App, Client:
			if p.Name == "" || strings.ContainsFunc(p.Name, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
				t.Errorf("ParsePrincipal(%q): name %q", s, p.Name)
			}
		case Group:
			if g, err := GroupName(p.Name); err != nil || g != p.Name {
				t.Errorf("ParsePrincipal(%q): group name %q is not its own GroupName (%q, %v)", s, p.Name, g, err)
			}
		default:
			t.Errorf("ParsePrincipal(%q): kind %q", s, p.Kind)
		}
	})
}

// A group's name as GroupName keeps it: valid UTF-8 in NFC, 1 to
// MaxGroupName characters, no space at either end, no control, separator
// or bidirectional control; and GroupName of it is itself.
func FuzzGroupName(f *testing.F) {
	for _, s := range []string{"Sales Team", "Ventes – Europe", "営業", "Montre\u0301al", "", " a", "a ", "a\u00a0", "a\tb",
		"a\u2028b", "a\u202eb", "\ufeffa", "\xff", "👩\u200d💻", strings.Repeat("x", MaxGroupName+1), "e\u0301" + strings.Repeat("x", MaxGroupName-1)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g, err := GroupName(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("GroupName(%q): %v does not wrap ErrInvalid", s, err)
			}
			return
		}
		if !utf8.ValidString(g) || !norm.NFC.IsNormalString(g) {
			t.Errorf("GroupName(%q) = %q: not valid UTF-8 in NFC", s, g)
		}
		if n := utf8.RuneCountInString(g); n < 1 || n > MaxGroupName {
			t.Errorf("GroupName(%q) = %q: %d characters", s, g, n)
		}
		if strings.TrimSpace(g) != g || strings.ContainsFunc(g, func(r rune) bool {
			return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029' || r == '\ufeff'
		}) {
			t.Errorf("GroupName(%q) = %q holds a character it may not", s, g)
		}
		if again, err := GroupName(g); err != nil || again != g {
			t.Errorf("GroupName(%q) = %q, again %q, %v", s, g, again, err)
		}
	})
}

var (
	actionRE  = regexp.MustCompile(`^(\*|[a-z][a-z0-9._:-]{0,63})$`)
	segmentRE = `[A-Za-z0-9.\-_:@]+`
	patternRE = regexp.MustCompile(`^(` + segmentRE + `|\*)(/(` + segmentRE + `|\*))*$`)
)

// An action is a lower-case word or "*".
func FuzzValidateAction(f *testing.F) {
	for _, s := range []string{"read", "*", "push", "Read", "", "a" + strings.Repeat("b", 63), "a" + strings.Repeat("b", 64), "read*", "1read"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, a string) {
		if got, want := ValidateAction(a) == nil, actionRE.MatchString(a); got != want {
			t.Errorf("ValidateAction(%q) accepts: %v, want %v", a, got, want)
		}
	})
}

// matchRE is the meaning of a resource pattern as a regular expression:
// '*' is one segment, a final '*' one or more.
func matchRE(pattern string) *regexp.Regexp {
	segs := strings.Split(pattern, "/")
	var b strings.Builder
	b.WriteString("^")
	for i, s := range segs {
		if i > 0 {
			b.WriteString("/")
		}
		switch {
		case s == "*" && i == len(segs)-1:
			b.WriteString(`[^/]+(/[^/]+)*`)
		case s == "*":
			b.WriteString(`[^/]+`)
		default:
			b.WriteString(regexp.QuoteMeta(s))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// Resources and resource patterns, as permissions hold them and routes
// fill them from paths: ValidateResource accepts exactly the syntax;
// Match(pattern, resource) means what the pattern says (segment by
// segment, '*' one segment, a final '*' one or more); a resource matches
// itself; Overlap is symmetric and holds whenever Match does.
func FuzzResource(f *testing.F) {
	for _, pr := range [][2]string{
		{"data-pools/*", "data-pools/42"}, {"data-pools/*", "data-pools/42/push"}, {"*/42", "data-pools/42"},
		{"data-pools/*/x", "data-pools/42/x"}, {"*", "a/b/c"}, {"audit-log", "audit-log"}, {"a/*", "a"},
		{"a//b", "a//b"}, {"a/", "a/"}, {"", ""}, {"a/*", "a/"}, {"a/*/*", "a/b"}, {"*/*", "*/x"},
		{"packages/../admin", "packages/../admin"}, {"a/b*", "a/bc"},
	} {
		f.Add(pr[0], pr[1])
	}
	f.Fuzz(func(t *testing.T, pattern, resource string) {
		pOK := ValidateResource(pattern) == nil
		if want := len(pattern) <= 512 && patternRE.MatchString(pattern); pOK != want {
			t.Fatalf("ValidateResource(%q) accepts: %v, want %v", pattern, pOK, want)
		}
		rOK := ValidateResource(resource) == nil && !strings.Contains("/"+resource+"/", "/*/")
		if !pOK || !rOK {
			return
		}
		if !Match(resource, resource) {
			t.Errorf("Match(%q, itself) = false", resource)
		}
		got, want := Match(pattern, resource), matchRE(pattern).MatchString(resource)
		if got != want {
			t.Errorf("Match(%q, %q) = %v, want %v", pattern, resource, got, want)
		}
		if Overlap(pattern, resource) != Overlap(resource, pattern) {
			t.Errorf("Overlap(%q, %q) is not symmetric", pattern, resource)
		}
		if got && !Overlap(pattern, resource) {
			t.Errorf("Match(%q, %q) but no Overlap", pattern, resource)
		}
		g := Grants{List: []Grant{{Action: "read", Resource: pattern}}}
		if g.Allows("read", resource) != got || g.Allows("write", resource) {
			t.Errorf("Grants{read %q}.Allows(read/write, %q) disagrees with Match", pattern, resource)
		}
	})
}
