package storetest

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/internal/store"
)

func testSigningKeys(t *testing.T, s store.Store) {
	mkTeam(t, s, "alpha")
	mkTeam(t, s, "beta")
	k1 := store.SigningKey{
		Team:          "alpha",
		ID:            "k1-" + uuid.NewString(),
		Alg:           "ES384",
		PublicJWK:     []byte(`{"kty":"EC","crv":"P-384","x":"iA","y":"jA"}`),
		PrivateSealed: []byte{0, 1, 2, 3, 0xff},
		CreatedAt:     at(time.Second + 8*time.Microsecond),
		ActivateAt:    at(time.Hour),
	}
	k2 := store.SigningKey{
		Team:          "alpha",
		ID:            "k2-" + uuid.NewString(),
		Alg:           "ES256",
		PublicJWK:     []byte(`{"kty":"EC","crv":"P-256","x":"kA","y":"lA"}`),
		PrivateSealed: []byte("sealed k2"),
		CreatedAt:     at(2 * time.Hour),
		ActivateAt:    at(3 * time.Hour),
	}
	list := func(t *testing.T, want ...store.SigningKey) {
		t.Helper()
		got, err := s.ListSigningKeys(t.Context(), "alpha")
		if wantErr(t, "ListSigningKeys(alpha)", err, nil) {
			diff(t, "ListSigningKeys(alpha)", want, got, opts)
		}
	}

	t.Run("ListSigningKeys/empty", func(t *testing.T) {
		list(t)
	})
	t.Run("CreateSigningKey", func(t *testing.T) {
		must(t, "create k1", s.CreateSigningKey(t.Context(), k1))
		must(t, "create k2", s.CreateSigningKey(t.Context(), k2))
		list(t, k1, k2)
		got, err := s.ListSigningKeys(t.Context(), "beta")
		if wantErr(t, "ListSigningKeys(beta)", err, nil) && len(got) != 0 {
			t.Errorf("ListSigningKeys(beta) = %+v, want nothing", got)
		}
	})
	t.Run("CreateSigningKey/duplicate", func(t *testing.T) {
		dup := k1
		dup.PrivateSealed = []byte("another")
		err := s.CreateSigningKey(t.Context(), dup)
		wantErr(t, "CreateSigningKey(k1) again", err, store.ErrAlreadyExists)
		list(t, k1, k2)
	})
	t.Run("RetireSigningKey", func(t *testing.T) {
		retired, deleteAfter := at(4*time.Hour+time.Microsecond), at(5*time.Hour)
		must(t, "RetireSigningKey(k1)", s.RetireSigningKey(t.Context(), "alpha", k1.ID, retired, deleteAfter))
		k1.RetiredAt, k1.DeleteAfter = &retired, &deleteAfter
		list(t, k1, k2)
	})
	t.Run("RetireSigningKey/missing", func(t *testing.T) {
		err := s.RetireSigningKey(t.Context(), "alpha", "nope", at(4*time.Hour), at(5*time.Hour))
		wantErr(t, "RetireSigningKey(nope)", err, store.ErrNotFound)
		list(t, k1, k2)
	})
	t.Run("DeleteSigningKey", func(t *testing.T) {
		must(t, "DeleteSigningKey(k1)", s.DeleteSigningKey(t.Context(), "alpha", k1.ID))
		list(t, k2)
		err := s.DeleteSigningKey(t.Context(), "alpha", k1.ID)
		wantErr(t, "DeleteSigningKey(k1) again", err, store.ErrNotFound)
	})
	t.Run("DeleteSigningKey/missing", func(t *testing.T) {
		err := s.DeleteSigningKey(t.Context(), "alpha", "nope")
		wantErr(t, "DeleteSigningKey(nope)", err, store.ErrNotFound)
		list(t, k2)
	})
}

func testRevokedTokens(t *testing.T, s store.Store) {
	mkTeam(t, s, "alpha")
	mkTeam(t, s, "beta")
	soon := store.RevokedToken{Team: "alpha", JTI: uuid.NewString(), ExpiresAt: at(time.Hour)}
	later := store.RevokedToken{Team: "alpha", JTI: uuid.NewString(), ExpiresAt: at(2*time.Hour + 3*time.Microsecond)}
	betaToken := mkRevoked(t, s, "beta", at(time.Hour))

	t.Run("RevokeToken", func(t *testing.T) {
		must(t, "RevokeToken(soon)", s.RevokeToken(t.Context(), soon))
		must(t, "RevokeToken(later)", s.RevokeToken(t.Context(), later))
	})
	t.Run("ListRevokedTokens", func(t *testing.T) {
		tests := []struct {
			name string
			now  time.Time
			want []store.RevokedToken
		}{
			{"beforeBoth", t0, []store.RevokedToken{soon, later}},
			{"justBeforeSoon", soon.ExpiresAt.Add(-time.Microsecond), []store.RevokedToken{soon, later}},
			{"atSoon", soon.ExpiresAt, []store.RevokedToken{later}},
			{"betweenBoth", at(90 * time.Minute), []store.RevokedToken{later}},
			{"atLater", later.ExpiresAt, nil},
			{"afterBoth", at(3 * time.Hour), nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.ListRevokedTokens(t.Context(), "alpha", tc.now)
				if wantErr(t, "ListRevokedTokens(alpha)", err, nil) {
					diff(t, "ListRevokedTokens(alpha)", tc.want, got, opts)
				}
			})
		}
		got, err := s.ListRevokedTokens(t.Context(), "beta", t0)
		if wantErr(t, "ListRevokedTokens(beta)", err, nil) {
			diff(t, "ListRevokedTokens(beta)", []store.RevokedToken{betaToken}, got, opts)
		}
	})
}
