package kernel_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/store"
)

func TestNormalizeEmail(t *testing.T) {
	for _, c := range []struct {
		in, want string
		invalid  bool
	}{
		{in: "ada@example.com", want: "ada@example.com"},
		{in: "Ada@Example.COM", want: "ada@example.com"},
		{in: "ada.lovelace+gatehouse@example.co.uk", want: "ada.lovelace+gatehouse@example.co.uk"},
		{in: "", invalid: true},
		{in: "ada", invalid: true},
		{in: "Ada <ada@example.com>", invalid: true},
		{in: " ada@example.com", invalid: true},
		{in: strings.Repeat("a", 308) + "@example.com", want: strings.Repeat("a", 308) + "@example.com"}, // 320 bytes
		{in: strings.Repeat("a", 309) + "@example.com", invalid: true},
	} {
		got, err := kernel.NormalizeEmail(c.in)
		if c.invalid {
			if !errors.Is(err, kernel.ErrInvalid) {
				t.Errorf("NormalizeEmail(%q) = %q, %v; want ErrInvalid", c.in, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestInvalid(t *testing.T) {
	err := kernel.Invalid("name %q: too long", "x")
	if !errors.Is(err, kernel.ErrInvalid) || err.Error() != `invalid name "x": too long` {
		t.Errorf("Invalid = %v", err)
	}
	own := errors.New("bad principal")
	err = kernel.AsInvalid(own)
	if !errors.Is(err, kernel.ErrInvalid) || !errors.Is(err, own) || err.Error() != "bad principal" {
		t.Errorf("AsInvalid = %v: want both sentinels and the message kept", err)
	}
	if kernel.AsInvalid(nil) != nil {
		t.Error("AsInvalid(nil) != nil")
	}
}

func TestEvent(t *testing.T) {
	at := time.Unix(1700000000, 0)
	a := kernel.Actor{ID: "user:ada@example.com", IP: "192.0.2.1", UserAgent: "curl"}
	got := kernel.Event(a, at, "acme", "client.create", "client:x", map[string]string{"k": "v"})
	want := store.AuditEvent{Team: "acme", At: at, Actor: "user:ada@example.com", Action: "client.create",
		Target: "client:x", IP: "192.0.2.1", UserAgent: "curl", Detail: map[string]string{"k": "v"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Event (-want +got):\n%s", d)
	}
}

type teams map[string]bool

func (ts teams) Team(_ context.Context, name string) (store.Team, error) {
	if name == "broken" {
		return store.Team{}, errors.New("connection refused")
	}
	if !ts[name] {
		return store.Team{}, store.ErrNotFound
	}
	return store.Team{Name: name}, nil
}

func TestTeamExists(t *testing.T) {
	q := teams{"acme": true}
	for _, c := range []struct {
		name string
		want error
	}{
		{"acme", nil},
		{"globex", store.ErrNotFound},
		{"Not A Label", kernel.ErrInvalid},
	} {
		err := kernel.TeamExists(context.Background(), q, c.name)
		if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("TeamExists(%q) = %v, want %v", c.name, err, c.want)
		}
	}
	if err := kernel.TeamExists(context.Background(), q, "broken"); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("a store failure must be neither nil nor not-found: %v", err)
	}
}
