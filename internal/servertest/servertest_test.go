package servertest_test

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/statickey"
)

// The harness serves every team host, makes what a test needs, and gets a
// token through the real token endpoint, on SQLite and on PostgreSQL.
func TestStart(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts []servertest.Option
	}{
		{"sqlite", nil},
		{"postgres", []servertest.Option{servertest.WithPostgres()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := servertest.Start(t, append(tc.opts, servertest.WithConfig(func(c *config.Config) { c.AccessTokenTTL = 7 * time.Minute }))...)
			if s.Config.AccessTokenTTL != 7*time.Minute || s.Config.Domain != servertest.Domain {
				t.Errorf("config %v %q", s.Config.AccessTokenTTL, s.Config.Domain)
			}
			s.User(t, "acme", admin.NewUser{Email: "ada@example.com"})
			s.Group(t, "acme", "ops", "ada@example.com")
			s.App(t, "acme", "etl")
			s.Grant(t, "acme", "app:etl", "read", "audit-log")
			if _, raw := s.StaticKey(t, "acme", statickey.KindApp, "etl"); raw == "" {
				t.Error("no static key")
			}
			c, sec := s.Client(t, "beta", client.NewClient{Scopes: []string{"audit.log:read"}})
			if tok := s.Token(t, "beta", c.ID, sec, "audit.log:read"); tok == "" {
				t.Error("no token")
			}
			for host, want := range map[string]int{"acme": 200, "beta": 200, "nobody": 404} {
				resp, err := s.HTTP.Get(servertest.URL(host, "/oauth2/jwks"))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != want {
					t.Errorf("%s: %d, want %d", host, resp.StatusCode, want)
				}
			}
			s.SyncChanges(t)
		})
	}
}

func TestClock(t *testing.T) {
	t.Parallel()
	var c servertest.Clock
	if d := c.Now().Sub(time.Now()); d < -time.Second || d > time.Second {
		t.Errorf("the zero clock is %v off the wall clock", d)
	}
	c.Advance(time.Hour)
	if d := c.Now().Sub(time.Now()); d < 59*time.Minute {
		t.Errorf("advanced an hour, the clock is %v ahead", d)
	}
	at := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	c.Set(at)
	c.Advance(time.Second)
	if got := c.Now(); !got.Equal(at.Add(time.Second)) {
		t.Errorf("Now = %v, want %v", got, at.Add(time.Second))
	}
	if got := servertest.NewClock(at).Now(); !got.Equal(at) {
		t.Errorf("NewClock(at).Now = %v", got)
	}
}
