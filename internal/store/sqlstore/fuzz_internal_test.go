package sqlstore

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Cursors come back from callers of the listings. A history cursor the
// store made reads back as the (time, id) it was made of; any other
// string is either a position (a positive id) that encodes back to itself
// when read again, or store.ErrInvalid, never another error.
func FuzzHistoryCursor(f *testing.F) {
	f.Add("", int64(0), int64(1))
	f.Add(encodeHistoryCursor(fromTS(1_767_225_600_000_000), 42), int64(1_767_225_600_000_000), int64(42))
	for _, c := range []string{"!!", "LTEuLTE", "MS4w", "MS4x", "Li4", "OTIyMzM3MjAzNjg1NDc3NTgwNy45MjIzMzcyMDM2ODU0Nzc1ODA3",
		"KzEuKzE", "MS4xLjE", "MS4xAA", "MS4x=", "MS4x\n"} {
		f.Add(c, int64(-1), int64(-1))
	}
	f.Fuzz(func(t *testing.T, cursor string, at, id int64) {
		if id > 0 {
			c := encodeHistoryCursor(fromTS(at), id)
			gotAt, gotID, err := historyCursor(store.Page{Cursor: c})
			if err != nil || gotAt != at || gotID != id {
				t.Errorf("historyCursor(encode(%d, %d)) = %d, %d, %v", at, id, gotAt, gotID, err)
			}
		}
		a, i, err := historyCursor(store.Page{Cursor: cursor})
		if err != nil {
			if !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("historyCursor(%q): %v does not wrap store.ErrInvalid", cursor, err)
			}
			return
		}
		if cursor == "" {
			if a != 0 || i != 0 {
				t.Errorf("historyCursor(\"\") = %d, %d", a, i)
			}
			return
		}
		if i <= 0 {
			t.Errorf("historyCursor(%q) = %d, %d: id not positive", cursor, a, i)
		}
		a2, i2, err := historyCursor(store.Page{Cursor: encodeHistoryCursor(fromTS(a), i)})
		if err != nil || a2 != a || i2 != i {
			t.Errorf("historyCursor(%q) = %d, %d, which encodes to %d, %d, %v", cursor, a, i, a2, i2, err)
		}
		if _, err := decodeCursor(cursor); err != nil {
			t.Errorf("historyCursor(%q) accepted what decodeCursor refuses", cursor)
		}
	})
}

// A listing's cursor comes back from the caller. Whatever it is, reading
// it gives the keys the store encoded (for a cursor it made) or
// store.ErrInvalid, never keys a database would refuse (invalid UTF-8, a
// NUL inside a key) and never another error.
func FuzzListingCursor(f *testing.F) {
	f.Add("", "ada@example.com", "read", 1)
	f.Add(encodeCursor("client:x\x00read\x00audit-log"), "user:a", "push", 3)
	for _, c := range []string{"!!", "_w", "AA", "YQBi", "Yf9i", "YQD_AGM", "YWJj=", "YWJj\n", "4pyT"} {
		f.Add(c, "", "", 1)
	}
	f.Fuzz(func(t *testing.T, cursor, a, b string, n int) {
		n = 1 + (n%3+3)%3
		keys := []string{a, b, a + b}[:n]
		valid := true
		for _, k := range keys {
			valid = valid && utf8.ValidString(k) && !strings.Contains(k, "\x00")
		}
		if valid && strings.Join(keys, "") != "" {
			got, err := decodeCursorParts(encodeCursor(strings.Join(keys, "\x00")), n)
			if err != nil || !slices.Equal(got, keys) {
				t.Errorf("decode(encode(%q)) = %q, %v", keys, got, err)
			}
		}
		parts, err := decodeCursorParts(cursor, n)
		if err != nil {
			if !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("decodeCursorParts(%q): %v does not wrap store.ErrInvalid", cursor, err)
			}
			return
		}
		if len(parts) != n {
			t.Fatalf("decodeCursorParts(%q, %d) = %d parts", cursor, n, len(parts))
		}
		for _, p := range parts {
			if !utf8.ValidString(p) || strings.Contains(p, "\x00") {
				t.Errorf("decodeCursorParts(%q) = %q: a key no database takes", cursor, parts)
			}
		}
		if cursor != "" {
			again, err := decodeCursorParts(encodeCursor(strings.Join(parts, "\x00")), n)
			if err != nil || !slices.Equal(again, parts) {
				t.Errorf("decodeCursorParts(%q) = %q, which does not read back: %q, %v", cursor, parts, again, err)
			}
		}
	})
}
