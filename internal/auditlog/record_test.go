package auditlog

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/gatehouse/gatehouse/internal/store"
)

func TestRecordRoundTrip(t *testing.T) {
	at := time.Date(2026, 12, 1, 9, 30, 15, 123456000, time.UTC)
	for _, e := range []store.AuditEvent{
		{},
		{Team: "acme", At: at, Actor: "client:c1", Action: "token.issue", Target: "client:c1", IP: "192.0.2.1",
			UserAgent: "curl/8", Detail: map[string]string{"jti": "j1", "scope": "a b", "": "empty key"}},
		{Team: "acme", At: at, Actor: "user:zoë@example.com", Action: "login.failure", Target: strings.Repeat("x", 70_000),
			Detail: map[string]string{}},
		{Team: "acme", At: time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC), Action: "old"},
	} {
		got, err := decode(encode(nil, e))
		if err != nil {
			t.Fatalf("decode(encode(%+v)): %v", e, err)
		}
		if d := cmp.Diff(e, got, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("round trip (-want +got):\n%s", d)
		}
	}
}

func TestRecordMalformed(t *testing.T) {
	good := encode(nil, store.AuditEvent{Team: "acme", Action: "x", Detail: map[string]string{"k": "v"}})
	for name, rec := range map[string][]byte{
		"empty":         nil,
		"other version": append([]byte{9}, good[1:]...),
		"cut":           good[:len(good)-2],
		"trailing":      append(append([]byte(nil), good...), 0),
		"huge length":   {1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"huge count":    {1, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f},
	} {
		if _, err := decode(rec); !errors.Is(err, errRecord) {
			t.Errorf("%s: decode = %v, want errRecord", name, err)
		}
	}
}

// FuzzDecode: decode never panics, and what it reads encodes back to the
// same event.
func FuzzDecode(f *testing.F) {
	f.Add(encode(nil, store.AuditEvent{Team: "acme", Action: "token.issue", Detail: map[string]string{"jti": "1"}}))
	f.Add([]byte{1})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, rec []byte) {
		e, err := decode(rec)
		if err != nil {
			return
		}
		again, err := decode(encode(nil, e))
		if err != nil {
			t.Fatalf("re-encoded event does not decode: %v", err)
		}
		if d := cmp.Diff(e, again, cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("re-encoded event differs:\n%s", d)
		}
	})
}
