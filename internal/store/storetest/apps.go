package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func testApps(t *testing.T, s store.Store) {
	mkTeam(t, s, "alpha")
	mkTeam(t, s, "beta")
	billing := store.Application{Team: "alpha", Name: "billing", CreatedAt: at(time.Second + 42*time.Microsecond)}
	deploy := store.Application{Team: "alpha", Name: "deploy", CreatedAt: at(2 * time.Second)}

	t.Run("CreateApp", func(t *testing.T) {
		must(t, "create billing", s.CreateApp(t.Context(), billing))
		must(t, "create deploy", s.CreateApp(t.Context(), deploy))
	})
	t.Run("CreateApp/duplicate", func(t *testing.T) {
		err := s.CreateApp(t.Context(), store.Application{Team: "alpha", Name: "billing", CreatedAt: at(time.Hour)})
		wantErr(t, "CreateApp(billing) again", err, store.ErrAlreadyExists)
		got, err := s.App(t.Context(), "alpha", "billing")
		if wantErr(t, "App(billing)", err, nil) {
			diff(t, "App(billing) after duplicate create", billing, got, opts)
		}
	})
	t.Run("CreateApp/sameNameOtherTeam", func(t *testing.T) {
		a := mkApp(t, s, "beta", "billing")
		got, err := s.App(t.Context(), "beta", "billing")
		if wantErr(t, "App(beta, billing)", err, nil) {
			diff(t, "App(beta, billing)", a, got, opts)
		}
	})
	t.Run("App", func(t *testing.T) {
		for _, want := range []store.Application{billing, deploy} {
			got, err := s.App(t.Context(), "alpha", want.Name)
			if wantErr(t, "App("+want.Name+")", err, nil) {
				diff(t, "App("+want.Name+")", want, got, opts)
			}
		}
	})
	t.Run("App/missing", func(t *testing.T) {
		_, err := s.App(t.Context(), "alpha", "nope")
		wantErr(t, "App(nope)", err, store.ErrNotFound)
	})
	t.Run("ListApps", func(t *testing.T) {
		got, err := s.ListApps(t.Context(), "alpha")
		if wantErr(t, "ListApps(alpha)", err, nil) {
			diff(t, "ListApps(alpha)", []store.Application{billing, deploy}, got, opts)
		}
	})
	t.Run("DeleteApp", func(t *testing.T) {
		must(t, "DeleteApp(deploy)", s.DeleteApp(t.Context(), "alpha", "deploy"))
		_, err := s.App(t.Context(), "alpha", "deploy")
		wantErr(t, "App(deploy) after delete", err, store.ErrNotFound)
		got, err := s.ListApps(t.Context(), "alpha")
		if wantErr(t, "ListApps(alpha)", err, nil) {
			diff(t, "ListApps(alpha) after delete", []store.Application{billing}, got, opts)
		}
		err = s.DeleteApp(t.Context(), "alpha", "deploy")
		wantErr(t, "DeleteApp(deploy) again", err, store.ErrNotFound)
		mkApp(t, s, "alpha", "deploy") // the name is free again
	})
	t.Run("DeleteApp/missing", func(t *testing.T) {
		err := s.DeleteApp(t.Context(), "alpha", "nope")
		wantErr(t, "DeleteApp(nope)", err, store.ErrNotFound)
	})
}
