package storetest

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/internal/store"
)

func testKeys(t *testing.T, s store.Store) {
	mkTeam(t, s, "alpha")
	mkTeam(t, s, "beta")
	ann := mkUser(t, s, "alpha", "ann@example.com")
	mkApp(t, s, "alpha", "billing")
	client := mkClient(t, s, "alpha", "migrated")
	userKey := store.StaticKey{
		Team:      "alpha",
		ID:        uuid.NewString(),
		Kind:      store.KeyKindUser,
		Owner:     ann.ID,
		Hash:      []byte{0, 1, 2, 0xfe, 0xff},
		CreatedAt: at(time.Second + 3*time.Microsecond),
	}
	appKey := store.StaticKey{
		Team:      "alpha",
		ID:        uuid.NewString(),
		Kind:      store.KeyKindApp,
		Owner:     "billing",
		Hash:      []byte("hash of the app key"),
		CreatedAt: at(2 * time.Second),
		ExpiresAt: ptr(at(365 * 24 * time.Hour)),
	}
	key := func(t *testing.T, want store.StaticKey) {
		t.Helper()
		got, err := s.Key(t.Context(), "alpha", want.ID)
		if wantErr(t, "Key("+want.Kind+")", err, nil) {
			diff(t, "Key("+want.Kind+")", want, got, opts)
		}
	}

	t.Run("CreateKey", func(t *testing.T) {
		must(t, "create user key", s.CreateKey(t.Context(), userKey))
		must(t, "create app key", s.CreateKey(t.Context(), appKey))
		key(t, userKey)
		key(t, appKey)
	})
	t.Run("CreateKey/duplicate", func(t *testing.T) {
		dup := appKey
		dup.Hash = []byte("another hash")
		err := s.CreateKey(t.Context(), dup)
		wantErr(t, "CreateKey(app key's id) again", err, store.ErrAlreadyExists)
		key(t, appKey)
	})
	t.Run("Key/missing", func(t *testing.T) {
		_, err := s.Key(t.Context(), "alpha", uuid.NewString())
		wantErr(t, "Key(unknown)", err, store.ErrNotFound)
	})
	t.Run("ListKeys", func(t *testing.T) {
		got, err := s.ListKeys(t.Context(), "alpha")
		if wantErr(t, "ListKeys(alpha)", err, nil) {
			diff(t, "ListKeys(alpha)", []store.StaticKey{userKey, appKey}, got, opts)
		}
		got, err = s.ListKeys(t.Context(), "beta")
		if wantErr(t, "ListKeys(beta)", err, nil) && len(got) != 0 {
			t.Errorf("ListKeys(beta) = %+v, want nothing", got)
		}
	})
	t.Run("RecordKeyUse", func(t *testing.T) {
		uses := []store.KeyUse{
			{ID: userKey.ID, At: at(time.Hour + 17*time.Microsecond), IP: "192.0.2.1", UserAgent: "curl/8.5.0"},
			{ID: appKey.ID, At: at(2 * time.Hour), IP: "2001:db8::1", UserAgent: "Go-http-client/1.1"},
		}
		must(t, "RecordKeyUse", s.RecordKeyUse(t.Context(), "alpha", uses))
		for i, k := range []*store.StaticKey{&userKey, &appKey} {
			k.LastUsedAt = ptr(uses[i].At)
			k.LastUsedIP = uses[i].IP
			k.LastUsedUA = uses[i].UserAgent
			key(t, *k)
		}
		// A later use replaces the last-used record of one key only.
		later := store.KeyUse{ID: userKey.ID, At: at(3 * time.Hour), IP: "192.0.2.2", UserAgent: "python-requests/2.32"}
		must(t, "RecordKeyUse(later)", s.RecordKeyUse(t.Context(), "alpha", []store.KeyUse{later}))
		userKey.LastUsedAt, userKey.LastUsedIP, userKey.LastUsedUA = ptr(later.At), later.IP, later.UserAgent
		key(t, userKey)
		key(t, appKey)
	})
	t.Run("SetKeyMigrated", func(t *testing.T) {
		must(t, "SetKeyMigrated", s.SetKeyMigrated(t.Context(), "alpha", appKey.ID, client.ID))
		appKey.MigratedTo = client.ID
		key(t, appKey)
		key(t, userKey)
	})
	t.Run("SetKeyMigrated/missing", func(t *testing.T) {
		err := s.SetKeyMigrated(t.Context(), "alpha", uuid.NewString(), client.ID)
		wantErr(t, "SetKeyMigrated(unknown)", err, store.ErrNotFound)
	})
	t.Run("DeleteKey", func(t *testing.T) {
		must(t, "DeleteKey(user key)", s.DeleteKey(t.Context(), "alpha", userKey.ID))
		_, err := s.Key(t.Context(), "alpha", userKey.ID)
		wantErr(t, "Key(user key) after delete", err, store.ErrNotFound)
		got, err := s.ListKeys(t.Context(), "alpha")
		if wantErr(t, "ListKeys(alpha)", err, nil) {
			diff(t, "ListKeys(alpha) after delete", []store.StaticKey{appKey}, got, opts)
		}
		err = s.DeleteKey(t.Context(), "alpha", userKey.ID)
		wantErr(t, "DeleteKey(user key) again", err, store.ErrNotFound)
	})
	t.Run("DeleteKey/missing", func(t *testing.T) {
		err := s.DeleteKey(t.Context(), "alpha", uuid.NewString())
		wantErr(t, "DeleteKey(unknown)", err, store.ErrNotFound)
	})
}
