package admin

import (
	"context"
	"fmt"
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

// Bootstrap gives an empty installation a team and a team admin with a
// generated password, for development (serve --dev). It changes nothing
// when any team exists, and reports ok=false then.
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
	a := Actor{ID: "bootstrap"}
	if _, err := s.CreateTeam(ctx, a, DevTeam); err != nil {
		return b, false, fmt.Errorf("bootstrap: %w", err)
	}
	if _, err := s.CreateUser(ctx, a, DevTeam, NewUser{Email: DevAdmin, Name: "Acme Admin", Password: pw.Reveal(), TeamAdmin: true}); err != nil {
		return b, false, fmt.Errorf("bootstrap: %w", err)
	}
	return Bootstrapped{Team: DevTeam, Email: DevAdmin, Password: pw.Reveal()}, true, nil
}
