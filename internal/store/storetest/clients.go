package storetest

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/internal/store"
)

func testClients(t *testing.T, s store.Store) {
	mkTeam(t, s, "alpha")
	mkTeam(t, s, "beta")
	web := store.Client{
		Team:                   "alpha",
		ID:                     uuid.NewString(),
		Name:                   "web",
		GrantTypes:             []string{"authorization_code"},
		AuthMethod:             "client_secret_post",
		Scopes:                 []string{"audit.log:read", "team.login-history:read", "team.user-group-info:read"},
		RedirectURIs:           []string{"https://web.example.com/cb", "http://127.0.0.1:8080/cb"},
		AccessTokenTTL:         20 * time.Minute,
		IDTokenAlg:             "ES256",
		PostLogoutRedirectURIs: []string{"https://web.example.com/signed-out?x=1", "http://127.0.0.1:8080/bye"},
		CreatedAt:              at(time.Second + 999*time.Microsecond),
	}
	svc := store.Client{
		Team:       "alpha",
		ID:         uuid.NewString(),
		Name:       "svc",
		GrantTypes: []string{"client_credentials"},
		AuthMethod: "client_secret_basic",
		Scopes:     []string{"integration.data-pools:data_push"},
		CreatedAt:  at(2 * time.Second),
	}
	client := func(t *testing.T, want store.Client) {
		t.Helper()
		got, err := s.Client(t.Context(), "alpha", want.ID)
		if wantErr(t, "Client("+want.Name+")", err, nil) {
			diff(t, "Client("+want.Name+")", want, got, opts)
		}
	}

	t.Run("CreateClient", func(t *testing.T) {
		must(t, "create web", s.CreateClient(t.Context(), web))
		must(t, "create svc", s.CreateClient(t.Context(), svc))
		client(t, web)
		client(t, svc)
	})
	t.Run("CreateClient/duplicate", func(t *testing.T) {
		dup := svc
		dup.Name = "dup"
		err := s.CreateClient(t.Context(), dup)
		wantErr(t, "CreateClient(svc's id) again", err, store.ErrAlreadyExists)
		client(t, svc)
	})
	t.Run("CreateClient/duplicateName", func(t *testing.T) {
		// A name is unique within a team, not across teams.
		same := svc
		same.ID = uuid.NewString()
		err := s.CreateClient(t.Context(), same)
		wantErr(t, "CreateClient(another svc in alpha)", err, store.ErrAlreadyExists)
		_, err = s.Client(t.Context(), "alpha", same.ID)
		wantErr(t, "Client(refused svc)", err, store.ErrNotFound)
		other := same
		other.Team = "beta"
		must(t, "CreateClient(svc in beta)", s.CreateClient(t.Context(), other))
		must(t, "DeleteClient(svc in beta)", s.DeleteClient(t.Context(), "beta", other.ID))
	})
	t.Run("CreateClient/withSecrets", func(t *testing.T) {
		c := store.Client{
			Team:         "alpha",
			ID:           uuid.NewString(),
			Name:         "rotating",
			GrantTypes:   []string{"authorization_code", "client_credentials"},
			AuthMethod:   "client_secret_basic",
			Scopes:       []string{"audit.log:read"},
			RedirectURIs: []string{"https://rotating.example.com/cb?a=1,2;b=3"},
			CreatedAt:    at(3 * time.Second),
			Secrets: []store.ClientSecret{
				mkSecret("current"),
				{ID: uuid.NewString(), Hash: []byte{0, 0xff}, CreatedAt: t0, ExpiresAt: ptr(at(time.Hour))},
			},
		}
		must(t, "CreateClient with secrets", s.CreateClient(t.Context(), c))
		client(t, c)
		must(t, "DeleteClient", s.DeleteClient(t.Context(), "alpha", c.ID))
	})
	t.Run("Client/missing", func(t *testing.T) {
		_, err := s.Client(t.Context(), "alpha", uuid.NewString())
		wantErr(t, "Client(unknown)", err, store.ErrNotFound)
	})
	t.Run("AddClientSecret", func(t *testing.T) {
		sec := mkSecret("web")
		must(t, "AddClientSecret(web)", s.AddClientSecret(t.Context(), "alpha", web.ID, sec, nil))
		web.Secrets = []store.ClientSecret{sec}
		client(t, web)
		client(t, svc) // untouched
	})
	t.Run("AddClientSecret/missing", func(t *testing.T) {
		err := s.AddClientSecret(t.Context(), "alpha", uuid.NewString(), mkSecret("ghost"), nil)
		wantErr(t, "AddClientSecret(unknown client)", err, store.ErrNotFound)
	})
	t.Run("ListClients", func(t *testing.T) {
		got, err := s.ListClients(t.Context(), "alpha")
		if wantErr(t, "ListClients(alpha)", err, nil) {
			diff(t, "ListClients(alpha)", []store.Client{web, svc}, got, opts)
		}
		got, err = s.ListClients(t.Context(), "beta")
		if wantErr(t, "ListClients(beta)", err, nil) && len(got) != 0 {
			t.Errorf("ListClients(beta) = %+v, want nothing", got)
		}
	})
	t.Run("UpdateClient", func(t *testing.T) {
		want := web
		want.Name = "web app"
		want.GrantTypes = []string{"authorization_code", "client_credentials"}
		want.AuthMethod = "client_secret_basic"
		want.Scopes = []string{"audit.log:read"}
		want.RedirectURIs = []string{"https://new.example.com/cb"}
		want.AccessTokenTTL = 0
		want.IDTokenAlg = "EdDSA"
		want.PostLogoutRedirectURIs = []string{"https://new.example.com/bye"}
		must(t, "UpdateClient(web)", s.UpdateClient(t.Context(), want))
		client(t, want)
		client(t, svc)
		web = want
	})
	t.Run("UpdateClient/duplicateName", func(t *testing.T) {
		renamed := web
		renamed.Name = svc.Name
		err := s.UpdateClient(t.Context(), renamed)
		wantErr(t, "UpdateClient(web named svc)", err, store.ErrAlreadyExists)
		client(t, web)
	})
	t.Run("UpdateClient/missing", func(t *testing.T) {
		ghost := svc
		ghost.ID = uuid.NewString()
		err := s.UpdateClient(t.Context(), ghost)
		wantErr(t, "UpdateClient(unknown)", err, store.ErrNotFound)
		_, err = s.Client(t.Context(), "alpha", ghost.ID)
		wantErr(t, "Client(unknown) after update", err, store.ErrNotFound)
	})
	t.Run("DeleteClient", func(t *testing.T) {
		must(t, "DeleteClient(web)", s.DeleteClient(t.Context(), "alpha", web.ID))
		_, err := s.Client(t.Context(), "alpha", web.ID)
		wantErr(t, "Client(web) after delete", err, store.ErrNotFound)
		got, err := s.ListClients(t.Context(), "alpha")
		if wantErr(t, "ListClients(alpha)", err, nil) {
			diff(t, "ListClients(alpha) after delete", []store.Client{svc}, got, opts)
		}
		err = s.DeleteClient(t.Context(), "alpha", web.ID)
		wantErr(t, "DeleteClient(web) again", err, store.ErrNotFound)
		// Its secrets went with it: a new client of the same ID starts
		// without any.
		again := web
		again.Secrets = nil
		must(t, "re-create web", s.CreateClient(t.Context(), again))
		client(t, again)
	})
	t.Run("DeleteClient/missing", func(t *testing.T) {
		err := s.DeleteClient(t.Context(), "alpha", uuid.NewString())
		wantErr(t, "DeleteClient(unknown)", err, store.ErrNotFound)
	})
}

// testClientSecrets walks a client through secret rotations.
func testClientSecrets(t *testing.T, s store.Store) {
	mkTeam(t, s, "alpha")
	c := mkClient(t, s, "alpha", "svc")
	other := mkClient(t, s, "alpha", "other")
	s2, s3, s4, s5 := mkSecret("s2"), mkSecret("s3"), mkSecret("s4"), mkSecret("s5")
	grace1, grace2 := at(24*time.Hour), at(48*time.Hour+5*time.Microsecond)
	s5.ExpiresAt = ptr(at(72 * time.Hour))

	withExpiry := func(s store.ClientSecret, e time.Time) store.ClientSecret {
		s.ExpiresAt = &e
		return s
	}
	steps := []struct {
		name         string
		add          store.ClientSecret
		expireOthers *time.Time
		want         []store.ClientSecret
	}{
		// nil deletes the other secrets (here the first one, from mkClient).
		{"replace", s2, nil, []store.ClientSecret{s2}},
		// The secret without an expiry gets one.
		{"grace", s3, &grace1, []store.ClientSecret{withExpiry(s2, grace1), s3}},
		// A secret that already expires keeps its expiry.
		{"graceAgain", s4, &grace2, []store.ClientSecret{withExpiry(s2, grace1), withExpiry(s3, grace2), s4}},
		// A new secret may carry its own expiry.
		{"withExpiry", s5, &grace2, []store.ClientSecret{withExpiry(s2, grace1), withExpiry(s3, grace2), withExpiry(s4, grace2), s5}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			must(t, "AddClientSecret", s.AddClientSecret(t.Context(), "alpha", c.ID, st.add, st.expireOthers))
			want := c
			want.Secrets = st.want
			got, err := s.Client(t.Context(), "alpha", c.ID)
			if wantErr(t, "Client(svc)", err, nil) {
				diff(t, "Client(svc)", want, got, opts)
			}
			list, err := s.ListClients(t.Context(), "alpha")
			if wantErr(t, "ListClients(alpha)", err, nil) {
				diff(t, "ListClients(alpha)", []store.Client{want, other}, list, opts)
			}
		})
	}
}
