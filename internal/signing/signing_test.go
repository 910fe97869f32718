package signing_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/internal/masterkey"
	"github.com/gatehouse/gatehouse/internal/pgtest"
	"github.com/gatehouse/gatehouse/internal/poll"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/testclock"
)

// t0 is the tests' starting instant, on a whole microsecond as the store
// keeps times.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func newClock() *testclock.Clock { return testclock.New(t0) }

// countingStore counts ListSigningKeys calls and can run a hook inside
// them, to test the cache.
type countingStore struct {
	store.Store
	lists  atomic.Int32
	during func()
}

func (s *countingStore) ListSigningKeys(ctx context.Context, team string) ([]store.SigningKey, error) {
	s.lists.Add(1)
	keys, err := s.Store.ListSigningKeys(ctx, team)
	if s.during != nil {
		s.during()
	}
	return keys, err
}

func openSQLite(t testing.TB) store.Store {
	t.Helper()
	db, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "gatehouse.db"), nil)
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return withTeams(t, db)
}

func openPostgres(t testing.TB) store.Store {
	t.Helper()
	db, err := sqlstore.OpenPostgres(context.Background(), pgtest.URL(t), nil)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return withTeams(t, db)
}

func withTeams(t testing.TB, s store.Store) store.Store {
	t.Helper()
	for _, name := range []string{"acme", "beta"} {
		if err := s.CreateTeam(context.Background(), store.Team{Name: name, CreatedAt: t0}); err != nil {
			t.Fatalf("create team %s: %v", name, err)
		}
	}
	return s
}

func masterKey(t testing.TB, b byte) masterkey.Key {
	t.Helper()
	k, err := masterkey.New(bytes.Repeat([]byte{b}, masterkey.Size))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newManager(t testing.TB, s store.Store, c *testclock.Clock, opts ...func(*signing.Options)) *signing.Manager {
	t.Helper()
	o := signing.Options{Store: s, MasterKey: masterKey(t, 1), Now: c.Now, MaxTokenTTL: 24 * time.Hour}
	for _, f := range opts {
		f(&o)
	}
	return signing.NewManager(o)
}

func sign(t testing.TB, m *signing.Manager, team, alg string) string {
	t.Helper()
	tok, err := m.Sign(context.Background(), team, alg, []byte(`{"sub":"x"}`))
	if err != nil {
		t.Fatalf("Sign(%s, %q): %v", team, alg, err)
	}
	return tok
}

// header parses a token's protected header with go-jose.
func header(t testing.TB, tok string) jose.Header {
	t.Helper()
	jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.ES384, jose.ES256, jose.EdDSA})
	if err != nil {
		t.Fatalf("parse %q: %v", tok, err)
	}
	return jws.Signatures[0].Protected
}

func kidOf(t testing.TB, tok string) string { t.Helper(); return header(t, tok).KeyID }

func jwks(t testing.TB, m *signing.Manager, team string) jose.JSONWebKeySet {
	t.Helper()
	raw, err := m.JWKS(context.Background(), team)
	if err != nil {
		t.Fatalf("JWKS(%s): %v", team, err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		t.Fatalf("JWKS(%s) = %s: %v", team, raw, err)
	}
	return set
}

func kids(set jose.JSONWebKeySet) []string {
	out := []string{}
	for _, k := range set.Keys {
		out = append(out, k.KeyID)
	}
	sort.Strings(out)
	return out
}

func sorted(s ...string) []string { sort.Strings(s); return s }

// verifyWithJWKS checks tok against the JWKS with go-jose alone, as a
// resource server would, and returns the payload.
func verifyWithJWKS(t testing.TB, set jose.JSONWebKeySet, tok string) ([]byte, error) {
	t.Helper()
	jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.ES384, jose.ES256, jose.EdDSA})
	if err != nil {
		return nil, err
	}
	return jws.Verify(set)
}

func TestSignMakesKeyOnFirstNeed(t *testing.T) {
	for _, tc := range []struct{ alg, want, crv, kty string }{
		{"", "ES384", "P-384", "EC"},
		{"ES384", "ES384", "P-384", "EC"},
		{"ES256", "ES256", "P-256", "EC"},
		{"EdDSA", "EdDSA", "Ed25519", "OKP"},
	} {
		name := tc.alg
		if name == "" {
			name = "default"
		}
		t.Run(name, func(t *testing.T) {
			c := newClock()
			m := newManager(t, openSQLite(t), c)
			if got := jwks(t, m, "acme"); len(got.Keys) != 0 {
				t.Fatalf("JWKS before first need = %v, want no keys", kids(got))
			}
			payload := []byte(`{"iss":"https://acme.example.com","n":1}`)
			tok, err := m.Sign(t.Context(), "acme", tc.alg, payload)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			h := header(t, tok)
			if diff := cmp.Diff(map[string]any{"alg": tc.want, "typ": "at+jwt", "kid": h.KeyID},
				map[string]any{"alg": h.Algorithm, "typ": h.ExtraHeaders[jose.HeaderType], "kid": h.KeyID}); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
			if h.KeyID == "" {
				t.Error("header has no kid")
			}

			raw, err := m.JWKS(t.Context(), "acme")
			if err != nil {
				t.Fatal(err)
			}
			var doc struct{ Keys []map[string]any }
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatalf("JWKS %s: %v", raw, err)
			}
			if len(doc.Keys) != 1 {
				t.Fatalf("JWKS = %s, want one key", raw)
			}
			got := doc.Keys[0]
			if _, ok := got["d"]; ok {
				t.Fatalf("JWKS %s has a private key", raw)
			}
			delete(got, "x") // random; checked by verification below
			delete(got, "y")
			want := map[string]any{"kid": h.KeyID, "alg": tc.want, "use": "sig", "kty": tc.kty, "crv": tc.crv}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("JWKS key members other than x, y (-want +got):\n%s", diff)
			}

			gotPayload, err := verifyWithJWKS(t, jwks(t, m, "acme"), tok)
			if err != nil {
				t.Fatalf("go-jose verification against the JWKS: %v", err)
			}
			if !bytes.Equal(gotPayload, payload) {
				t.Errorf("payload = %s, want %s", gotPayload, payload)
			}

			// The key is kept: a second token uses it, and so does the
			// store.
			if k2 := kidOf(t, sign(t, m, "acme", tc.alg)); k2 != h.KeyID {
				t.Errorf("second token signed by %s, want %s", k2, h.KeyID)
			}
			keys, err := m.Keys(t.Context(), "acme")
			if err != nil {
				t.Fatal(err)
			}
			wantKeys := []signing.KeyInfo{{ID: h.KeyID, Alg: tc.want, CreatedAt: t0, ActivateAt: t0, CanSign: true}}
			if diff := cmp.Diff(wantKeys, keys); diff != "" {
				t.Errorf("Keys (-want +got):\n%s", diff)
			}
			// The other team is untouched.
			if got := jwks(t, m, "beta"); len(got.Keys) != 0 {
				t.Errorf("JWKS(beta) = %v, want no keys", kids(got))
			}
		})
	}
}

func TestSignUnsupportedAlg(t *testing.T) {
	m := newManager(t, openSQLite(t), newClock())
	for _, alg := range []string{"HS256", "none", "RS256", "es384"} {
		if _, err := m.Sign(t.Context(), "acme", alg, []byte("{}")); !errors.Is(err, signing.ErrUnsupportedAlg) {
			t.Errorf("Sign(alg %q) error = %v, want ErrUnsupportedAlg", alg, err)
		}
	}
}

func TestSignUnknownTeam(t *testing.T) {
	m := newManager(t, openSQLite(t), newClock())
	if _, err := m.Sign(t.Context(), "nosuch", "", []byte("{}")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Sign(unknown team) error = %v, want store.ErrNotFound", err)
	}
}

func TestWarmSignReadsNoDatabase(t *testing.T) {
	s := &countingStore{Store: openSQLite(t)}
	m := newManager(t, s, newClock())
	sign(t, m, "acme", "")
	before := s.lists.Load()
	for range 100 {
		sign(t, m, "acme", "")
	}
	if _, err := m.JWKS(t.Context(), "acme"); err != nil {
		t.Fatal(err)
	}
	if n := s.lists.Load() - before; n != 0 {
		t.Errorf("warm Sign and JWKS listed the keys %d times, want 0", n)
	}
}

// Two nodes sharing a store that both need the team's first key at once
// end up signing with the same key.
func TestTwoNodesAgreeOnFirstKey(t *testing.T) {
	for name, open := range map[string]func(testing.TB) store.Store{"sqlite": openSQLite, "postgres": openPostgres} {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			c := newClock()
			nodes := []*signing.Manager{newManager(t, s, c), newManager(t, s, c), newManager(t, s, c), newManager(t, s, c)}
			made := make([]string, 2*len(nodes))
			var wg sync.WaitGroup
			for i := range made {
				wg.Go(func() {
					tok, err := nodes[i%len(nodes)].Sign(t.Context(), "acme", "", []byte("{}"))
					if err != nil {
						t.Errorf("node %d: Sign: %v", i%len(nodes), err)
						return
					}
					jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.ES384})
					if err != nil {
						t.Errorf("node %d: %v", i%len(nodes), err)
						return
					}
					made[i] = jws.Signatures[0].Protected.KeyID
				})
			}
			wg.Wait()
			// Whatever raced above, once the changes have reached every
			// node, every node signs with the same key and publishes every
			// key made.
			for _, n := range nodes {
				n.Invalidate(store.Change{Team: "acme", Kind: store.KindSigningKey})
			}
			want := sign(t, nodes[0], "acme", "")
			for i, n := range nodes {
				if got := kidOf(t, sign(t, n, "acme", "")); got != kidOf(t, want) {
					t.Errorf("node %d signs with %s, node 0 with %s", i, got, kidOf(t, want))
				}
				published := kids(jwks(t, n, "acme"))
				for _, k := range made {
					if k != "" && !contains(published, k) {
						t.Errorf("node %d does not publish %s", i, k)
					}
				}
			}
			recs, err := s.ListSigningKeys(t.Context(), "acme")
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d keys made", len(recs))
			if name == "sqlite" && len(recs) != 1 {
				t.Errorf("SQLite serialises the creators, yet %d keys were made", len(recs))
			}
			// Housekeeping leaves one key that can sign.
			if err := nodes[0].RotateDue(t.Context()); err != nil {
				t.Fatal(err)
			}
			recs, err = s.ListSigningKeys(t.Context(), "acme")
			if err != nil {
				t.Fatal(err)
			}
			var signers []string
			for _, r := range recs {
				if r.RetiredAt == nil {
					signers = append(signers, r.ID)
				}
			}
			if len(signers) != 1 || signers[0] != kidOf(t, want) {
				t.Errorf("after housekeeping the unretired keys are %v, want [%s]", signers, kidOf(t, want))
			}
		})
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// If two nodes both made a key at the same instant, every node picks the
// greatest kid, and both stay published.
func TestTieBrokenByKid(t *testing.T) {
	s := openSQLite(t)
	c := newClock()
	mk := masterKey(t, 1)
	for _, kid := range []string{"11111111-0000-4000-8000-000000000000", "ffffffff-0000-4000-8000-000000000000", "77777777-0000-4000-8000-000000000000"} {
		rec, err := signing.NewRecord(mk, "acme", kid, "ES384", t0, t0)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreateSigningKey(t.Context(), rec); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		m := newManager(t, s, c)
		if got := kidOf(t, sign(t, m, "acme", "")); got != "ffffffff-0000-4000-8000-000000000000" {
			t.Errorf("node %d signs with %s, want the greatest kid", i, got)
		}
		if got := len(jwks(t, m, "acme").Keys); got != 3 {
			t.Errorf("node %d publishes %d keys, want 3", i, got)
		}
	}

	// Housekeeping retires the losers, which may have signed a few tokens
	// before their nodes heard of the winner: they stay published until
	// those have expired.
	c.Advance(time.Minute)
	m := newManager(t, s, c)
	if err := m.RotateDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	keys, err := m.Keys(t.Context(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	retired := c.Now()
	gone := retired.Add(24*time.Hour + signing.ClockSkew)
	want := []signing.KeyInfo{
		{ID: "ffffffff-0000-4000-8000-000000000000", Alg: "ES384", CreatedAt: t0, ActivateAt: t0, CanSign: true},
		{ID: "77777777-0000-4000-8000-000000000000", Alg: "ES384", CreatedAt: t0, ActivateAt: t0, RetiredAt: &retired, DeleteAfter: &gone, CanSign: true},
		{ID: "11111111-0000-4000-8000-000000000000", Alg: "ES384", CreatedAt: t0, ActivateAt: t0, RetiredAt: &retired, DeleteAfter: &gone, CanSign: true},
	}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("Keys after housekeeping (-want +got):\n%s", diff)
	}
	if got := kidOf(t, sign(t, m, "acme", "")); got != "ffffffff-0000-4000-8000-000000000000" {
		t.Errorf("after housekeeping, signs with %s", got)
	}
}

func TestRotate(t *testing.T) {
	s := openSQLite(t)
	c := newClock()
	m := newManager(t, s, c, func(o *signing.Options) { o.PublishAhead = time.Hour; o.MaxTokenTTL = 2 * time.Hour })
	other := newManager(t, s, c) // a node that hears the changes
	oldTok := sign(t, m, "acme", "")
	k1 := kidOf(t, oldTok)

	c.Advance(10 * time.Minute)
	rotatedAt := c.Now()
	k2, err := m.Rotate(t.Context(), "acme", "")
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	activation := rotatedAt.Add(time.Hour)
	deleteAfter := activation.Add(2*time.Hour + signing.ClockSkew)
	if diff := cmp.Diff(signing.KeyInfo{ID: k2.ID, Alg: "ES384", CreatedAt: rotatedAt, ActivateAt: activation, CanSign: true}, k2); diff != "" {
		t.Errorf("Rotate (-want +got):\n%s", diff)
	}
	keys, err := m.Keys(t.Context(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	wantKeys := []signing.KeyInfo{
		{ID: k2.ID, Alg: "ES384", CreatedAt: rotatedAt, ActivateAt: activation, CanSign: true},
		{ID: k1, Alg: "ES384", CreatedAt: t0, ActivateAt: t0, RetiredAt: &activation, DeleteAfter: &deleteAfter, CanSign: true},
	}
	if diff := cmp.Diff(wantKeys, keys); diff != "" {
		t.Errorf("Keys after Rotate (-want +got):\n%s", diff)
	}

	other.Invalidate(store.Change{Team: "acme", Kind: store.KindSigningKey, Key: k2.ID})
	for _, step := range []struct {
		name      string
		at        time.Time
		signer    string   // kid that signs
		published []string // kids in the JWKS
	}{
		{"just rotated", rotatedAt, k1, sorted(k1, k2.ID)},
		{"before activation", activation.Add(-time.Microsecond), k1, sorted(k1, k2.ID)},
		{"at activation", activation, k2.ID, sorted(k1, k2.ID)},
		{"old tokens still valid", deleteAfter.Add(-time.Microsecond), k2.ID, sorted(k1, k2.ID)},
		{"every old token expired", deleteAfter, k2.ID, []string{k2.ID}},
	} {
		c.Set(step.at)
		for name, n := range map[string]*signing.Manager{"rotator": m, "other node": other} {
			tok := sign(t, n, "acme", "")
			if got := kidOf(t, tok); got != step.signer {
				t.Errorf("%s, %s: signed by %s, want %s", step.name, name, got, step.signer)
			}
			set := jwks(t, n, "acme")
			if diff := cmp.Diff(step.published, kids(set)); diff != "" {
				t.Errorf("%s, %s: JWKS kids (-want +got):\n%s", step.name, name, diff)
			}
			if _, err := verifyWithJWKS(t, set, tok); err != nil {
				t.Errorf("%s, %s: new token does not verify against the JWKS: %v", step.name, name, err)
			}
			_, err := verifyWithJWKS(t, set, oldTok)
			if old := contains(step.published, k1); (err == nil) != old {
				t.Errorf("%s, %s: old token verifies = %v, want %v", step.name, name, err == nil, old)
			}
			_, _, err = n.Verify(t.Context(), "acme", oldTok)
			if old := contains(step.published, k1); (err == nil) != old {
				t.Errorf("%s, %s: Verify(old token) = %v, want valid = %v", step.name, name, err, old)
			}
		}
	}

	// Housekeeping then deletes the expired key's row.
	if err := m.RotateDue(t.Context()); err != nil {
		t.Fatalf("RotateDue: %v", err)
	}
	recs, err := s.ListSigningKeys(t.Context(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].ID != k2.ID {
		t.Errorf("keys in the store after housekeeping: %+v, want only %s", recs, k2.ID)
	}
}

// Rotating a team with no key gives it one that signs at once.
func TestRotateWithoutKey(t *testing.T) {
	c := newClock()
	m := newManager(t, openSQLite(t), c)
	k, err := m.Rotate(t.Context(), "acme", "EdDSA")
	if err != nil {
		t.Fatal(err)
	}
	if !k.ActivateAt.Equal(t0) {
		t.Errorf("ActivateAt = %v, want now (%v)", k.ActivateAt, t0)
	}
	if got := kidOf(t, sign(t, m, "acme", "EdDSA")); got != k.ID {
		t.Errorf("signed by %s, want %s", got, k.ID)
	}
}

func TestRotateDue(t *testing.T) {
	s := openSQLite(t)
	c := newClock()
	opts := func(o *signing.Options) { o.Rotation = 48 * time.Hour; o.PublishAhead = time.Hour }
	nodes := []*signing.Manager{newManager(t, s, c, opts), newManager(t, s, c, opts), newManager(t, s, c, opts)}
	k1 := kidOf(t, sign(t, nodes[0], "acme", ""))
	idle := kidOf(t, sign(t, nodes[0], "acme", "EdDSA")) // the team's algorithm is ES384
	invalidateAll := func() {
		for _, n := range nodes {
			n.Invalidate(store.Change{})
		}
	}
	rotateAll := func() {
		t.Helper()
		var wg sync.WaitGroup
		for _, n := range nodes {
			wg.Go(func() {
				if err := n.RotateDue(t.Context()); err != nil {
					t.Errorf("RotateDue: %v", err)
				}
			})
		}
		wg.Wait()
		invalidateAll()
	}

	c.Set(t0.Add(47*time.Hour - time.Second))
	rotateAll()
	if got := len(jwks(t, nodes[0], "acme").Keys); got != 2 {
		t.Fatalf("rotated early: %d keys", got)
	}

	c.Set(t0.Add(47 * time.Hour))
	rotateAll()
	rotateAll() // a second round finds the successor waiting
	keys, err := nodes[1].Keys(t.Context(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	due := t0.Add(48 * time.Hour)
	retireIdle := t0.Add(47 * time.Hour)
	gone := func(t time.Time) *time.Time { t = t.Add(signing.DefaultMaxTokenTTL + signing.ClockSkew); return &t }
	if len(keys) != 3 {
		t.Fatalf("Keys = %+v, want the old ES384 key, one successor and the idle EdDSA key", keys)
	}
	want := []signing.KeyInfo{
		{ID: keys[0].ID, Alg: "ES384", CreatedAt: t0.Add(47 * time.Hour), ActivateAt: due, CanSign: true},
		{ID: k1, Alg: "ES384", CreatedAt: t0, ActivateAt: t0, RetiredAt: &due, DeleteAfter: gone(due), CanSign: true},
		{ID: idle, Alg: "EdDSA", CreatedAt: t0, ActivateAt: t0, RetiredAt: &retireIdle, DeleteAfter: gone(retireIdle), CanSign: true},
	}
	// Keys orders by activation, then kid: the two keys of t0 may come in
	// either order.
	sort.Slice(keys[1:], func(i, j int) bool { return keys[1+i].Alg < keys[1+j].Alg })
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("Keys after rotation rounds (-want +got):\n%s", diff)
	}

	c.Set(due)
	if got := kidOf(t, sign(t, nodes[2], "acme", "")); got != keys[0].ID {
		t.Errorf("at the rotation age, signed by %s, want the successor %s", got, keys[0].ID)
	}
	// The idle algorithm gets a fresh key on its next need.
	if got := kidOf(t, sign(t, nodes[2], "acme", "EdDSA")); got == idle {
		t.Errorf("the retired EdDSA key %s still signs", idle)
	}
}

func TestRotationDisabled(t *testing.T) {
	c := newClock()
	m := newManager(t, openSQLite(t), c, func(o *signing.Options) { o.Rotation = -1 })
	k1 := kidOf(t, sign(t, m, "acme", ""))
	c.Advance(365 * 24 * time.Hour)
	if err := m.RotateDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := kids(jwks(t, m, "acme")); !cmp.Equal(got, []string{k1}) {
		t.Errorf("JWKS = %v, want only %s", got, k1)
	}
}

func TestSealedPrivateKey(t *testing.T) {
	s := openSQLite(t)
	c := newClock()
	m := newManager(t, s, c)
	tok := sign(t, m, "acme", "")
	recs, err := s.ListSigningKeys(t.Context(), "acme")
	if err != nil || len(recs) != 1 {
		t.Fatalf("ListSigningKeys = %v, %v; want one key", recs, err)
	}
	rec := recs[0]
	mk := masterKey(t, 1)

	der, err := mk.Open(rec.PrivateSealed, []byte("signing-key/acme/"+rec.ID))
	if err != nil {
		t.Fatalf("open with the right key and additional data: %v", err)
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		t.Fatalf("sealed blob is not PKCS#8: %v", err)
	}
	ec, ok := priv.(*ecdsa.PrivateKey)
	if !ok {
		t.Fatalf("private key is %T, want ECDSA", priv)
	}
	scalar, err := ec.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(rec.PrivateSealed, der) || bytes.Contains(rec.PrivateSealed, scalar) {
		t.Error("the sealed blob contains the private key in clear")
	}
	var pub jose.JSONWebKey
	if err := pub.UnmarshalJSON(rec.PublicJWK); err != nil {
		t.Fatal(err)
	}
	if !ec.PublicKey.Equal(pub.Key) || !pub.IsPublic() {
		t.Error("the sealed private key does not match the public JWK, or the JWK is not public")
	}
	if bytes.Contains(rec.PublicJWK, []byte(`"d"`)) {
		t.Errorf("public JWK %s has a private member", rec.PublicJWK)
	}

	for _, tc := range []struct {
		name string
		mk   masterkey.Key
		ad   string
	}{
		{"other master key", masterKey(t, 2), "signing-key/acme/" + rec.ID},
		{"other team", mk, "signing-key/beta/" + rec.ID},
		{"other kid", mk, "signing-key/acme/00000000-0000-4000-8000-000000000000"},
		{"no additional data", mk, ""},
	} {
		if _, err := tc.mk.Open(rec.PrivateSealed, []byte(tc.ad)); !errors.Is(err, masterkey.ErrOpen) {
			t.Errorf("%s: Open error = %v, want ErrOpen", tc.name, err)
		}
	}

	// A node with another master key publishes and verifies, but refuses
	// to sign, and does not make a key of its own.
	wrong := newManager(t, s, c, func(o *signing.Options) { o.MasterKey = masterKey(t, 2) })
	if got := kids(jwks(t, wrong, "acme")); !cmp.Equal(got, []string{rec.ID}) {
		t.Errorf("JWKS on the wrong node = %v, want [%s]", got, rec.ID)
	}
	if _, _, err := wrong.Verify(t.Context(), "acme", tok); err != nil {
		t.Errorf("Verify on the wrong node: %v", err)
	}
	if _, err := wrong.Sign(t.Context(), "acme", "", []byte("{}")); !errors.Is(err, signing.ErrKeyUnavailable) {
		t.Errorf("Sign on the wrong node error = %v, want ErrKeyUnavailable", err)
	}
	if recs, _ := s.ListSigningKeys(t.Context(), "acme"); len(recs) != 1 {
		t.Errorf("the wrong node made a key: %d keys", len(recs))
	}
}

func TestInvalidate(t *testing.T) {
	s := openSQLite(t)
	c := newClock()
	a := newManager(t, s, c)
	k1 := kidOf(t, sign(t, a, "acme", ""))
	k2, err := a.Rotate(t.Context(), "acme", "")
	if err != nil {
		t.Fatal(err)
	}
	want := sorted(k1, k2.ID)
	if got := kids(jwks(t, a, "acme")); !cmp.Equal(got, want) {
		t.Errorf("rotator's JWKS = %v, want %v", got, want)
	}
	for _, tc := range []struct {
		change store.Change
		drops  bool
	}{
		{store.Change{Team: "beta", Kind: store.KindSigningKey}, false},
		{store.Change{Team: "acme", Kind: store.KindClient}, false},
		{store.Change{Team: "acme", Kind: store.KindTeam, Key: "acme"}, false},
		{store.Change{Team: "acme", Kind: store.KindSigningKey, Key: k2.ID}, true},
		{store.Change{Team: "acme", Kind: store.KindSigningKey}, true},
		{store.Change{Team: "acme"}, true},
		{store.Change{}, true},
	} {
		b := newManager(t, s, c)
		k1Only := kids(jwks(t, b, "acme"))
		// b's cache is warm; change the store behind it.
		k3, err := a.Rotate(t.Context(), "acme", "")
		if err != nil {
			t.Fatal(err)
		}
		if got := kids(jwks(t, b, "acme")); !cmp.Equal(got, k1Only) {
			t.Fatalf("%+v: b's JWKS changed without an invalidation: %v, want %v", tc.change, got, k1Only)
		}
		b.Invalidate(tc.change)
		got := kids(jwks(t, b, "acme"))
		if has := contains(got, k3.ID); has != tc.drops {
			t.Errorf("Invalidate(%+v): JWKS has the new key %v, want %v", tc.change, has, tc.drops)
		}
	}
}

// Changes delivered by the store's watcher reach the cache, as they will
// through the change hub.
func TestInvalidateFromWatch(t *testing.T) {
	s := openSQLite(t)
	c := newClock()
	a, b := newManager(t, s, c), newManager(t, s, c)
	sign(t, a, "acme", "")
	sign(t, b, "acme", "")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan struct{})
	var probed atomic.Bool
	go func() {
		defer close(done)
		s.Watch(ctx, func(c store.Change) {
			if c.Team == "beta" {
				probed.Store(true)
			}
			b.Invalidate(c)
		})
	}()
	// The watcher delivers only changes made after it starts: write changes
	// of another team until one arrives.
	poll.Must(t, 5*time.Second, "the watcher to start", func() bool {
		if _, err := a.Rotate(t.Context(), "beta", ""); err != nil {
			t.Fatal(err)
		}
		return probed.Load()
	})
	k2, err := a.Rotate(t.Context(), "acme", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := poll.Until(time.Second, func() bool { return contains(kids(jwks(t, b, "acme")), k2.ID) }); !ok {
		t.Fatal("the rotation did not reach the other node within one second")
	}
	cancel()
	<-done
}

// A load that overlaps an invalidation is used but not kept.
func TestLoadRacingInvalidation(t *testing.T) {
	s := &countingStore{Store: openSQLite(t)}
	m := newManager(t, s, newClock())
	sign(t, m, "acme", "")
	m.Invalidate(store.Change{Team: "acme"})
	s.during = func() { m.Invalidate(store.Change{Team: "acme", Kind: store.KindSigningKey}) }
	sign(t, m, "acme", "")
	s.during = nil
	before := s.lists.Load()
	sign(t, m, "acme", "")
	if s.lists.Load() == before {
		t.Error("a load that raced an invalidation was kept")
	}
	before = s.lists.Load()
	sign(t, m, "acme", "")
	if s.lists.Load() != before {
		t.Error("a clean load was not kept")
	}
}

// The cache is reloaded after CacheMaxAge even if a change was missed.
func TestCacheMaxAge(t *testing.T) {
	s := &countingStore{Store: openSQLite(t)}
	c := newClock()
	m := newManager(t, s, c)
	sign(t, m, "acme", "")
	before := s.lists.Load()
	c.Advance(signing.CacheMaxAge)
	sign(t, m, "acme", "")
	if s.lists.Load() == before {
		t.Error("the cache outlived its maximum age")
	}
}

func TestVerify(t *testing.T) {
	s := openSQLite(t)
	c := newClock()
	m := newManager(t, s, c)
	payload := []byte(`{"sub":"x"}`)
	good, err := m.Sign(t.Context(), "acme", "", payload)
	if err != nil {
		t.Fatal(err)
	}
	kid := kidOf(t, good)
	betaTok := sign(t, m, "beta", "")

	// A key of our own, unknown to the team, to forge tokens with.
	rec, err := signing.NewRecord(masterKey(t, 1), "acme", kid, "ES384", t0, t0)
	if err != nil {
		t.Fatal(err)
	}
	der, err := masterKey(t, 1).Open(rec.PrivateSealed, []byte("signing-key/acme/"+kid))
	if err != nil {
		t.Fatal(err)
	}
	forgeKey, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		t.Fatal(err)
	}
	forge := func(alg jose.SignatureAlgorithm, key any, typ, kid string) string {
		t.Helper()
		opts := (&jose.SignerOptions{}).WithHeader("kid", kid)
		if typ != "" {
			opts = opts.WithType(jose.ContentType(typ))
		}
		sg, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
		if err != nil {
			t.Fatal(err)
		}
		jws, err := sg.Sign(payload)
		if err != nil {
			t.Fatal(err)
		}
		out, err := jws.CompactSerialize()
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	parts := bytes.Split([]byte(good), []byte("."))
	tamper := func(i int, b byte) string {
		p := [][]byte{bytes.Clone(parts[0]), bytes.Clone(parts[1]), bytes.Clone(parts[2])}
		if p[i][len(p[i])/2] == b {
			b++
		}
		p[i][len(p[i])/2] = b
		return string(bytes.Join(p, []byte(".")))
	}

	for _, tc := range []struct {
		name  string
		token string
		want  error
	}{
		{"good", good, nil},
		{"not a JWS", "hello", signing.ErrMalformed},
		{"empty", "", signing.ErrMalformed},
		{"JSON serialization", `{"payload":"e30","protected":"e30","signature":"AA"}`, signing.ErrMalformed},
		{"alg none", b64(`{"alg":"none","typ":"at+jwt","kid":"`+kid+`"}`) + "." + b64(string(payload)) + ".", signing.ErrMalformed},
		{"alg HS256", forge(jose.HS256, []byte("0123456789abcdef0123456789abcdef"), "at+jwt", kid), signing.ErrMalformed},
		{"typ JWT", forge(jose.ES384, forgeKey, "JWT", kid), signing.ErrType},
		{"no typ", forge(jose.ES384, forgeKey, "", kid), signing.ErrType},
		{"unknown kid", forge(jose.ES384, forgeKey, "at+jwt", "nosuch"), signing.ErrUnknownKey},
		{"no kid", forge(jose.ES384, forgeKey, "at+jwt", ""), signing.ErrUnknownKey},
		{"other team's token", betaTok, signing.ErrUnknownKey},
		{"forged with the team's kid", forge(jose.ES384, forgeKey, "at+jwt", kid), signing.ErrSignature},
		{"forged with the team's kid, application/AT+JWT", forge(jose.ES384, forgeKey, "application/AT+JWT", kid), signing.ErrSignature},
		{"payload changed", tamper(1, 'A'), signing.ErrSignature},
		{"signature changed", tamper(2, 'A'), signing.ErrSignature},
		{"ES256 header on an ES384 key", forge(jose.ES256, mustECKey(t), "at+jwt", kid), signing.ErrSignature},
		// RS256 signs ID tokens only: an access token of it is refused
		// before any key is looked at.
		{"alg RS256", forge(jose.RS256, mustRSAKey(t), "at+jwt", kid), signing.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, h, err := m.Verify(t.Context(), "acme", tc.token)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify error = %v, want %v", err, tc.want)
			}
			if tc.want != nil {
				if !errors.Is(err, signing.ErrInvalid) {
					t.Errorf("error %v does not wrap ErrInvalid", err)
				}
				if got != nil {
					t.Errorf("payload %s returned with an error", got)
				}
				return
			}
			if !bytes.Equal(got, payload) {
				t.Errorf("payload = %s, want %s", got, payload)
			}
			if diff := cmp.Diff(signing.Header{Alg: "ES384", KeyID: kid, Type: "at+jwt"}, h); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
		})
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func mustRSAKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustECKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	rec, err := signing.NewRecord(masterKey(t, 1), "x", "x", "ES256", t0, t0)
	if err != nil {
		t.Fatal(err)
	}
	der, err := masterKey(t, 1).Open(rec.PrivateSealed, []byte("signing-key/x/x"))
	if err != nil {
		t.Fatal(err)
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*ecdsa.PrivateKey)
}

// A token signed by a key another node made a moment ago verifies even
// before the change reaches this node.
func TestVerifyKeyFromAnotherNode(t *testing.T) {
	s := openSQLite(t)
	c := newClock()
	a, b := newManager(t, s, c), newManager(t, s, c)
	if got := jwks(t, b, "acme"); len(got.Keys) != 0 {
		t.Fatal("keys before any")
	}
	tok := sign(t, a, "acme", "")
	c.Advance(time.Second)
	if _, _, err := b.Verify(t.Context(), "acme", tok); err != nil {
		t.Errorf("Verify on the other node: %v", err)
	}
}

func TestRunRotation(t *testing.T) {
	s := openSQLite(t)
	c := newClock()
	m := newManager(t, s, c, func(o *signing.Options) { o.Rotation = 48 * time.Hour })
	sign(t, m, "acme", "")
	c.Advance(47 * time.Hour)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); m.RunRotation(ctx) }()
	if _, ok := poll.Until(5*time.Second, func() bool {
		recs, err := s.ListSigningKeys(t.Context(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		return len(recs) == 2
	}); !ok {
		t.Fatal("RunRotation did not rotate the due key at once")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("RunRotation did not return when its context ended")
	}
}

// A burst of requests after an invalidation reads the team's keys once:
// concurrent loads of one team share one.
func TestConcurrentLoadsShareOne(t *testing.T) {
	s := &countingStore{Store: openSQLite(t)}
	m := newManager(t, s, newClock())
	tok := sign(t, m, "acme", "")
	synctest.Test(t, func(t *testing.T) {
		m.Invalidate(store.Change{Team: "acme", Kind: store.KindSigningKey})
		release := make(chan struct{})
		s.during = func() { <-release }
		before := s.lists.Load()
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for range 20 {
			wg.Go(func() {
				_, _, err := m.Verify(context.Background(), "acme", tok)
				errs <- err
			})
		}
		synctest.Wait() // one load under way, every other caller waiting on it
		close(release)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if n := s.lists.Load() - before; n != 1 {
			t.Errorf("20 concurrent requests after an invalidation read the keys %d times, want once", n)
		}
	})
	s.during = nil
}
