package admin

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/store"
)

// DevTeam and DevAdmin are what Bootstrap creates.
const (
	DevTeam  = "acme"
	DevAdmin = "admin@acme.example"
)

// Bootstrapped says what Bootstrap made; Password is shown once.
type Bootstrapped struct {
	Team, Email, Password string
}

// errNotEmpty stops Bootstrap's transaction when a team exists.
var errNotEmpty = errors.New("a team exists")

// Bootstrap gives an empty installation a team and a team admin with a
// generated password, for development (serve --dev). It changes nothing
// when any team exists, and reports ok=false then. The team, its admin and
// their audit events are written in one transaction: a failure leaves the
// installation empty, so that the next start tries again.
func (s *Service) Bootstrap(ctx context.Context) (b Bootstrapped, ok bool, err error) {
	teams, err := s.Store.ListTeams(ctx)
	if err != nil {
		return b, false, fmt.Errorf("bootstrap: %w", err)
	}
	if len(teams) > 0 {
		return b, false, nil
	}
	pw, err := s.Gen.Token()
	if err != nil {
		return b, false, fmt.Errorf("bootstrap: %w", err)
	}
	a := kernel.Actor{ID: "bootstrap"}
	t := store.Team{Name: DevTeam, CreatedAt: s.now()}
	u, err := s.newUser(DevTeam, NewUser{Email: DevAdmin, Name: "Acme Admin", Password: pw.Reveal(), TeamAdmin: true})
	if err != nil {
		return b, false, fmt.Errorf("bootstrap: %w", err)
	}
	err = s.Store.Tx(ctx, func(q store.Queries) error {
		// Checked again in the transaction: another process may have
		// bootstrapped since.
		if teams, err := q.ListTeams(ctx); err != nil {
			return err
		} else if len(teams) > 0 {
			return errNotEmpty
		}
		if err := createTeam(ctx, q, t); err != nil {
			return err
		}
		if err := createUser(ctx, q, u); err != nil {
			return err
		}
		return q.AppendAudit(ctx, s.teamCreated(a, t), s.userCreated(a, u))
	})
	if errors.Is(err, errNotEmpty) || errors.Is(err, store.ErrAlreadyExists) {
		// Another process bootstrapped first (ErrAlreadyExists: it did
		// after our check, on a database that does not serialize).
		return b, false, nil
	}
	if err != nil {
		return b, false, fmt.Errorf("bootstrap: %w", err)
	}
	return Bootstrapped{Team: DevTeam, Email: DevAdmin, Password: pw.Reveal()}, true, nil
}
