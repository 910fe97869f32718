package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/internal/store"
)

func testAuthCodes(t *testing.T, s store.Store) {
	mkTeam(t, s, "alpha")
	ann := mkUser(t, s, "alpha", "ann@example.com")
	web := mkClient(t, s, "alpha", "web")
	code := store.AuthCode{
		Team:                "alpha",
		Hash:                []byte{0x00, 0x9f, 0x86, 0xd0, 0x81, 0x88, 0x4c, 0x7d},
		ClientID:            web.ID,
		UserID:              ann.ID,
		RedirectURI:         "https://web.example.com/cb?x=1",
		Scopes:              []string{"audit.log:read", "team.user-group-info:read"},
		CodeChallenge:       "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256",
		// A nonce is the client's string, whatever it holds.
		Nonce:     "n-0S6_WzA2Mj ünï \"code\" 'x'",
		AuthTime:  at(500*time.Millisecond + 3*time.Microsecond),
		CreatedAt: at(time.Second + 1*time.Microsecond),
		ExpiresAt: at(time.Second + time.Minute),
	}
	other := mkAuthCode(t, s, "alpha", web.ID, ann.ID, at(time.Hour))
	usedAt := at(30*time.Second + 500*time.Microsecond)

	t.Run("CreateAuthCode", func(t *testing.T) {
		must(t, "CreateAuthCode", s.CreateAuthCode(t.Context(), code))
	})
	t.Run("CreateAuthCode/duplicate", func(t *testing.T) {
		dup := code
		dup.RedirectURI = "https://evil.example.com/cb"
		err := s.CreateAuthCode(t.Context(), dup)
		wantErr(t, "CreateAuthCode again", err, store.ErrAlreadyExists)
	})
	t.Run("UseAuthCode", func(t *testing.T) {
		got, err := s.UseAuthCode(t.Context(), "alpha", code.ClientID, code.Hash, usedAt)
		if wantErr(t, "UseAuthCode", err, nil) {
			diff(t, "UseAuthCode (the code as it was)", code, got, opts)
		}
	})
	t.Run("UseAuthCode/used", func(t *testing.T) {
		for range 2 {
			got, err := s.UseAuthCode(t.Context(), "alpha", code.ClientID, code.Hash, usedAt.Add(time.Second))
			wantErr(t, "UseAuthCode again", err, store.ErrConflict)
			want := code
			want.UsedAt = &usedAt
			diff(t, "UseAuthCode again (the used code)", want, got, opts)
		}
	})
	t.Run("UseAuthCode/otherCodeUnused", func(t *testing.T) {
		got, err := s.UseAuthCode(t.Context(), "alpha", other.ClientID, other.Hash, usedAt)
		if wantErr(t, "UseAuthCode(other)", err, nil) {
			diff(t, "UseAuthCode(other)", other, got, opts)
		}
	})
	t.Run("UseAuthCode/race", func(t *testing.T) {
		c := mkAuthCode(t, s, "alpha", web.ID, ann.ID, at(time.Hour))
		wins := race(t, func() error {
			_, err := s.UseAuthCode(t.Context(), "alpha", c.ClientID, c.Hash, usedAt)
			return err
		})
		if wins != 1 {
			t.Errorf("%d concurrent uses of one code succeeded, want 1", wins)
		}
	})
	t.Run("UseAuthCode/missing", func(t *testing.T) {
		_, err := s.UseAuthCode(t.Context(), "alpha", web.ID, []byte("no such code"), usedAt)
		wantErr(t, "UseAuthCode(unknown)", err, store.ErrNotFound)
	})
	// Another client's presentation neither spends a code nor is told it
	// exists, and after the owner spent it another client's presentation
	// is still "not found", not a replay.
	t.Run("UseAuthCode/otherClient", func(t *testing.T) {
		cli := mkClient(t, s, "alpha", "cli")
		c := mkAuthCode(t, s, "alpha", web.ID, ann.ID, at(time.Hour))
		for range 2 {
			_, err := s.UseAuthCode(t.Context(), "alpha", cli.ID, c.Hash, usedAt)
			wantErr(t, "UseAuthCode(another client's code)", err, store.ErrNotFound)
		}
		got, err := s.UseAuthCode(t.Context(), "alpha", web.ID, c.Hash, usedAt)
		if wantErr(t, "UseAuthCode(owner, after another client)", err, nil) {
			diff(t, "UseAuthCode(owner, after another client)", c, got, opts)
		}
		_, err = s.UseAuthCode(t.Context(), "alpha", cli.ID, c.Hash, usedAt)
		wantErr(t, "UseAuthCode(another client, spent code)", err, store.ErrNotFound)
	})
	// Concurrent presentations by the owner and by another client: one of
	// the owner's wins, the others are replays, and the other client's are
	// all "not found" however they interleave.
	t.Run("UseAuthCode/otherClientRace", func(t *testing.T) {
		cli := mkClient(t, s, "alpha", "cli2")
		c := mkAuthCode(t, s, "alpha", web.ID, ann.ID, at(time.Hour))
		type result struct {
			owner bool
			err   error
		}
		const n = 8
		results := make(chan result, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				id := web.ID
				if i%2 == 1 {
					id = cli.ID
				}
				_, err := s.UseAuthCode(t.Context(), "alpha", id, c.Hash, usedAt)
				results <- result{id == web.ID, err}
			})
		}
		close(start)
		wg.Wait()
		close(results)
		wins := 0
		for r := range results {
			switch {
			case r.owner && r.err == nil:
				wins++
			case r.owner:
				wantErr(t, "UseAuthCode(owner, concurrent)", r.err, store.ErrConflict)
			default:
				wantErr(t, "UseAuthCode(another client, concurrent)", r.err, store.ErrNotFound)
			}
		}
		if wins != 1 {
			t.Errorf("%d of the owner's concurrent uses succeeded, want 1", wins)
		}
	})
}

func testRefreshTokens(t *testing.T, s store.Store) {
	mkTeam(t, s, "alpha")
	ann := mkUser(t, s, "alpha", "ann@example.com")
	bob := mkUser(t, s, "alpha", "bob@example.com")
	web := mkClient(t, s, "alpha", "web")
	cli := mkClient(t, s, "alpha", "cli")
	famA := uuid.NewString()
	first := store.RefreshToken{
		Team:            "alpha",
		Hash:            []byte{0xff, 0x00, 0x10, 0x20},
		FamilyID:        famA,
		ClientID:        web.ID,
		UserID:          ann.ID,
		Scopes:          []string{"audit.log:read", "team.login-history:read"},
		AuthTime:        at(500*time.Millisecond + 3*time.Microsecond),
		CreatedAt:       at(time.Second + 77*time.Microsecond),
		ExpiresAt:       at(24 * time.Hour),
		FamilyExpiresAt: at(90 * 24 * time.Hour),
	}
	refresh := func(t *testing.T, want store.RefreshToken) {
		t.Helper()
		got, err := s.RefreshToken(t.Context(), "alpha", want.Hash)
		if wantErr(t, "RefreshToken", err, nil) {
			diff(t, "RefreshToken", want, got, opts)
		}
	}

	t.Run("CreateRefreshToken", func(t *testing.T) {
		must(t, "CreateRefreshToken", s.CreateRefreshToken(t.Context(), first))
		refresh(t, first)
	})
	t.Run("CreateRefreshToken/duplicate", func(t *testing.T) {
		dup := first
		dup.FamilyID = uuid.NewString()
		err := s.CreateRefreshToken(t.Context(), dup)
		wantErr(t, "CreateRefreshToken again", err, store.ErrAlreadyExists)
		refresh(t, first)
	})
	t.Run("RefreshToken/missing", func(t *testing.T) {
		_, err := s.RefreshToken(t.Context(), "alpha", []byte("no such token"))
		wantErr(t, "RefreshToken(unknown)", err, store.ErrNotFound)
	})
	usedAt := at(time.Hour + 3*time.Microsecond)
	t.Run("UseRefreshToken", func(t *testing.T) {
		got, err := s.UseRefreshToken(t.Context(), "alpha", first.Hash, usedAt)
		if wantErr(t, "UseRefreshToken", err, nil) {
			// Whether the answer shows UsedAt is not defined; the rest is.
			diff(t, "UseRefreshToken", first, got, opts, ignoreUsedAt)
		}
		first.UsedAt = &usedAt
		refresh(t, first)
	})
	t.Run("UseRefreshToken/used", func(t *testing.T) {
		got, err := s.UseRefreshToken(t.Context(), "alpha", first.Hash, usedAt.Add(time.Minute))
		if wantErr(t, "UseRefreshToken again", err, store.ErrConflict) {
			// The caller needs the family to revoke it.
			diff(t, "UseRefreshToken again", first, got, opts)
		}
		refresh(t, first)
	})
	t.Run("UseRefreshToken/race", func(t *testing.T) {
		r := mkRefresh(t, s, "alpha", uuid.NewString(), web.ID, bob.ID, at(time.Hour))
		wins := race(t, func() error {
			_, err := s.UseRefreshToken(t.Context(), "alpha", r.Hash, usedAt)
			return err
		})
		if wins != 1 {
			t.Errorf("%d concurrent uses of one refresh token succeeded, want 1", wins)
		}
	})
	t.Run("UseRefreshToken/missing", func(t *testing.T) {
		_, err := s.UseRefreshToken(t.Context(), "alpha", []byte("no such token"), usedAt)
		wantErr(t, "UseRefreshToken(unknown)", err, store.ErrNotFound)
	})

	// A family of two (the spent first token and its successor), another
	// family of the same user and client, and tokens of other pairs.
	second := mkRefresh(t, s, "alpha", famA, web.ID, ann.ID, at(48*time.Hour))
	famB := mkRefresh(t, s, "alpha", uuid.NewString(), web.ID, ann.ID, at(48*time.Hour))
	annCLI := mkRefresh(t, s, "alpha", uuid.NewString(), cli.ID, ann.ID, at(48*time.Hour))
	bobWeb := mkRefresh(t, s, "alpha", uuid.NewString(), web.ID, bob.ID, at(48*time.Hour))

	t.Run("RevokeRefreshFamily", func(t *testing.T) {
		revokedAt := at(2*time.Hour + 9*time.Microsecond)
		must(t, "RevokeRefreshFamily", s.RevokeRefreshFamily(t.Context(), "alpha", famA, revokedAt))
		first.RevokedAt = &revokedAt
		second.RevokedAt = &revokedAt
		refresh(t, first)
		refresh(t, second)
		refresh(t, famB)
		refresh(t, annCLI)
		refresh(t, bobWeb)
	})
	t.Run("UseRefreshToken/revoked", func(t *testing.T) {
		got, err := s.UseRefreshToken(t.Context(), "alpha", second.Hash, at(3*time.Hour))
		if wantErr(t, "UseRefreshToken(revoked)", err, store.ErrConflict) {
			diff(t, "UseRefreshToken(revoked)", second, got, opts)
		}
		refresh(t, second)
	})
	t.Run("RevokeRefreshTokensOf", func(t *testing.T) {
		revokedAt := at(4 * time.Hour)
		must(t, "RevokeRefreshTokensOf(ann, web)", s.RevokeRefreshTokensOf(t.Context(), "alpha", ann.ID, web.ID, revokedAt))
		famB.RevokedAt = &revokedAt
		refresh(t, famB)
		refresh(t, annCLI)
		refresh(t, bobWeb)
		// first and second were revoked before; whether they keep the first
		// revocation time is not defined, but they stay revoked.
		for _, r := range []store.RefreshToken{first, second} {
			got, err := s.RefreshToken(t.Context(), "alpha", r.Hash)
			if wantErr(t, "RefreshToken", err, nil) && got.RevokedAt == nil {
				t.Errorf("RefreshToken(%s).RevokedAt = nil after two revocations", r.FamilyID)
			}
		}
		_, err := s.UseRefreshToken(t.Context(), "alpha", famB.Hash, at(5*time.Hour))
		wantErr(t, "UseRefreshToken(revoked famB)", err, store.ErrConflict)
		_, err = s.UseRefreshToken(t.Context(), "alpha", annCLI.Hash, at(5*time.Hour))
		wantErr(t, "UseRefreshToken(annCLI)", err, nil)
	})
}

// ignoreUsedAt ignores RefreshToken.UsedAt.
var ignoreUsedAt = cmpopts.IgnoreFields(store.RefreshToken{}, "UsedAt")

// race runs use from several goroutines at once and returns how many
// succeeded; every other call must fail with ErrConflict.
func race(t *testing.T, use func() error) int {
	t.Helper()
	const n = 8
	errs := make(chan error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			<-start
			errs <- use()
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	wins := 0
	for err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("concurrent use: error = %v, want nil or %v", err, store.ErrConflict)
		}
	}
	return wins
}
