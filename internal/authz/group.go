package authz

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxGroupName is the longest group name, in characters: identity
// providers allow 255 or 256 (Okta, Microsoft Entra).
const MaxGroupName = 256

// GroupName returns name as Gatehouse stores and compares a group's name,
// or an error wrapping ErrInvalid. Groups are named as identity providers
// name them ("Sales Team", "Ventes – Europe", "営業"): any Unicode text of 1
// to MaxGroupName characters, spaces inside included, in Unicode
// normalization form C (what is sent in another form is composed, so that
// "é" typed either way names one group). Refused: invalid UTF-8, control
// characters, line and paragraph separators, the invisible characters that
// reorder text (bidirectional controls, which could make one name look
// like another) and the byte-order mark, and white space at either end.
func GroupName(name string) (string, error) {
	if !utf8.ValidString(name) {
		return "", fmt.Errorf("%w group name %q: not valid UTF-8", ErrInvalid, name)
	}
	name = norm.NFC.String(name)
	if n := utf8.RuneCountInString(name); n == 0 || n > MaxGroupName {
		return "", fmt.Errorf("%w group name %q: want 1 to %d characters", ErrInvalid, name, MaxGroupName)
	}
	if strings.TrimFunc(name, unicode.IsSpace) != name {
		return "", fmt.Errorf("%w group name %q: white space at either end", ErrInvalid, name)
	}
	if i := strings.IndexFunc(name, badInGroupName); i >= 0 {
		r, _ := utf8.DecodeRuneInString(name[i:])
		return "", fmt.Errorf("%w group name %q: character %U is not allowed (control, separator or bidirectional control)", ErrInvalid, name, r)
	}
	return name, nil
}

// badInGroupName reports the characters a group name may not hold.
func badInGroupName(r rune) bool {
	switch {
	case unicode.IsControl(r), r == '\u2028', r == '\u2029', r == '\uFEFF':
		return true
	}
	return unicode.Is(unicode.Bidi_Control, r)
}
