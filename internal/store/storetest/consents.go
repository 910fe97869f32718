package storetest

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/internal/store"
)

func testConsents(t *testing.T, s store.Store) {
	mkTeam(t, s, "alpha")
	ann := mkUser(t, s, "alpha", "ann@example.com")
	bob := mkUser(t, s, "alpha", "bob@example.com")
	web := mkClient(t, s, "alpha", "web")
	cli := mkClient(t, s, "alpha", "cli")
	annWeb := store.Consent{
		Team:      "alpha",
		UserID:    ann.ID,
		ClientID:  web.ID,
		Scopes:    []string{"audit.log:read"},
		CreatedAt: at(time.Second + 11*time.Microsecond),
		UpdatedAt: at(time.Second + 11*time.Microsecond),
	}
	annCLI := mkConsent(t, s, "alpha", ann.ID, cli.ID, "team.login-history:read")
	bobWeb := mkConsent(t, s, "alpha", bob.ID, web.ID, "audit.log:read", "team.user-group-info:read")

	consent := func(t *testing.T, want store.Consent) {
		t.Helper()
		got, err := s.Consent(t.Context(), "alpha", want.UserID, want.ClientID)
		if wantErr(t, "Consent", err, nil) {
			diff(t, "Consent", want, got, opts)
		}
	}

	t.Run("UpsertConsent/create", func(t *testing.T) {
		must(t, "UpsertConsent", s.UpsertConsent(t.Context(), annWeb))
		consent(t, annWeb)
		consent(t, annCLI)
		consent(t, bobWeb)
	})
	t.Run("UpsertConsent/update", func(t *testing.T) {
		up := annWeb
		up.Scopes = []string{"audit.log:read", "team.user-group-info:read"}
		up.CreatedAt = at(time.Hour) // the first consent's time stays
		up.UpdatedAt = at(time.Hour)
		must(t, "UpsertConsent", s.UpsertConsent(t.Context(), up))
		annWeb.Scopes, annWeb.UpdatedAt = up.Scopes, up.UpdatedAt
		consent(t, annWeb)
		consent(t, annCLI)
		consent(t, bobWeb)
	})
	t.Run("Consent/missing", func(t *testing.T) {
		_, err := s.Consent(t.Context(), "alpha", bob.ID, cli.ID)
		wantErr(t, "Consent(bob, cli)", err, store.ErrNotFound)
		_, err = s.Consent(t.Context(), "alpha", uuid.NewString(), web.ID)
		wantErr(t, "Consent(unknown user)", err, store.ErrNotFound)
	})
	t.Run("ListConsents", func(t *testing.T) {
		tests := []struct {
			name string
			user string
			want []store.Consent
		}{
			{"ann", ann.ID, []store.Consent{annWeb, annCLI}},
			{"bob", bob.ID, []store.Consent{bobWeb}},
			{"unknown", uuid.NewString(), nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.ListConsents(t.Context(), "alpha", tc.user)
				if wantErr(t, "ListConsents", err, nil) {
					diff(t, "ListConsents", tc.want, got, opts)
				}
			})
		}
	})
	t.Run("TouchConsent", func(t *testing.T) {
		must(t, "TouchConsent", s.TouchConsent(t.Context(), "alpha", ann.ID, web.ID, at(2*time.Hour+time.Microsecond)))
		annWeb.LastUsedAt = ptr(at(2*time.Hour + time.Microsecond))
		consent(t, annWeb)
		consent(t, annCLI)
		consent(t, bobWeb)
	})
	t.Run("TouchConsent/missing", func(t *testing.T) {
		err := s.TouchConsent(t.Context(), "alpha", bob.ID, cli.ID, at(2*time.Hour))
		wantErr(t, "TouchConsent(bob, cli)", err, store.ErrNotFound)
		_, err = s.Consent(t.Context(), "alpha", bob.ID, cli.ID)
		wantErr(t, "Consent(bob, cli) after touch", err, store.ErrNotFound)
	})
	t.Run("DeleteConsent", func(t *testing.T) {
		must(t, "DeleteConsent", s.DeleteConsent(t.Context(), "alpha", ann.ID, web.ID))
		_, err := s.Consent(t.Context(), "alpha", ann.ID, web.ID)
		wantErr(t, "Consent after delete", err, store.ErrNotFound)
		got, err := s.ListConsents(t.Context(), "alpha", ann.ID)
		if wantErr(t, "ListConsents(ann)", err, nil) {
			diff(t, "ListConsents(ann) after delete", []store.Consent{annCLI}, got, opts)
		}
		consent(t, bobWeb)
		err = s.DeleteConsent(t.Context(), "alpha", ann.ID, web.ID)
		wantErr(t, "DeleteConsent again", err, store.ErrNotFound)
	})
}
