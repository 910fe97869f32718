package signing

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse/gatehouse/internal/masterkey"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Signature algorithms (RFC 7518 section 3.1, RFC 8037 section 3.1).
const (
	ES384 = "ES384"
	ES256 = "ES256"
	EdDSA = "EdDSA"
	// RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signs ID tokens only: OpenID
	// Connect requires it as the default of every client. Access tokens
	// are never signed with it, and Verify refuses it.
	RS256 = "RS256"
)

// TokenType is the JWS "typ" of an access token (RFC 9068 section 2.1).
const TokenType = "at+jwt"

// IDTokenType is the JWS "typ" of an ID token (RFC 7519 section 5.1): no
// access-token verifier takes a token of this type.
const IDTokenType = "JWT"

// rsaBits is the size of the RSA keys made for RS256.
const rsaBits = 2048

// algorithm describes one supported signature algorithm.
type algorithm struct {
	curve elliptic.Curve // nil for EdDSA and RS256
	size  int            // bytes of each of r and s; 0 for EdDSA and RS256
	rsa   bool
}

var algorithms = map[string]algorithm{
	ES384: {curve: elliptic.P384(), size: 48},
	ES256: {curve: elliptic.P256(), size: 32},
	EdDSA: {},
	RS256: {rsa: true},
}

// generate makes a new private key for alg. Go's crypto packages draw key
// material from the operating system's generator whatever reader they are
// given, so there is no random source to inject here.
func generate(alg string) (crypto.Signer, error) {
	a, ok := algorithms[alg]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnsupportedAlg, alg)
	}
	if a.rsa {
		priv, err := rsa.GenerateKey(rand.Reader, rsaBits)
		if err != nil {
			return nil, fmt.Errorf("generate %s key: %w", alg, err)
		}
		return priv, nil
	}
	if a.curve == nil {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generate %s key: %w", alg, err)
		}
		return priv, nil
	}
	priv, err := ecdsa.GenerateKey(a.curve, rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", alg, err)
	}
	return priv, nil
}

// sealAD is the additional data that binds a sealed private key to its row.
func sealAD(team, kid string) []byte { return []byte("signing-key/" + team + "/" + kid) }

// newRecord builds the store record of a new key: its public JWK and its
// sealed PKCS#8 private key.
func newRecord(mk masterkey.Key, team, kid, alg string, priv crypto.Signer, created, activate time.Time) (store.SigningKey, error) {
	pub, err := jose.JSONWebKey{Key: priv.Public(), KeyID: kid, Algorithm: alg, Use: "sig"}.MarshalJSON()
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("encode public key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("encode private key: %w", err)
	}
	sealed, err := mk.Seal(der, sealAD(team, kid))
	clear(der)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("seal private key: %w", err)
	}
	return store.SigningKey{
		Team: team, ID: kid, Alg: alg, PublicJWK: pub, PrivateSealed: sealed,
		CreatedAt: created, ActivateAt: activate,
	}, nil
}

// key is a signing key as the cache holds it: immutable once built.
type key struct {
	id, alg     string
	created     time.Time
	activateAt  time.Time
	retiredAt   time.Time // zero: not retired
	deleteAfter time.Time // zero: published until retired and expired
	jwk         json.RawMessage
	pub         crypto.PublicKey
	sealed      []byte

	// priv is nil when the sealed private part does not open on this node
	// (another master key); privErr then says why. The key is still
	// published and verifies, but cannot sign.
	priv    crypto.Signer
	privErr error
	sigSize int // r||s length for ECDSA, 64 for EdDSA, the modulus's for RSA
	hash    func([]byte) []byte
	// prefix and idPrefix are base64url(protected header) ".": of an
	// access token (typ at+jwt) and of an ID token (typ JWT).
	prefix, idPrefix []byte
}

// parseKey turns a store record into a key, opening its private part with
// mk unless prev is the same record already opened.
func parseKey(mk masterkey.Key, sk store.SigningKey, prev *key) (*key, error) {
	a, ok := algorithms[sk.Alg]
	if !ok {
		return nil, fmt.Errorf("signing key %s: %w %q", sk.ID, ErrUnsupportedAlg, sk.Alg)
	}
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(sk.PublicJWK); err != nil {
		return nil, fmt.Errorf("signing key %s: public JWK: %w", sk.ID, err)
	}
	if !jwk.IsPublic() || !jwk.Valid() || jwk.KeyID != sk.ID || jwk.Algorithm != sk.Alg {
		return nil, fmt.Errorf("signing key %s: public JWK is not a public %s key with that kid", sk.ID, sk.Alg)
	}
	switch p := jwk.Key.(type) {
	case *ecdsa.PublicKey:
		if a.curve == nil || p.Curve != a.curve {
			return nil, fmt.Errorf("signing key %s: public JWK does not fit %s", sk.ID, sk.Alg)
		}
	case ed25519.PublicKey:
		if a.curve != nil || a.rsa {
			return nil, fmt.Errorf("signing key %s: public JWK does not fit %s", sk.ID, sk.Alg)
		}
	case *rsa.PublicKey:
		if !a.rsa || p.N.BitLen() < rsaBits {
			return nil, fmt.Errorf("signing key %s: public JWK does not fit %s", sk.ID, sk.Alg)
		}
	default:
		return nil, fmt.Errorf("signing key %s: public JWK does not fit %s", sk.ID, sk.Alg)
	}
	// Re-encode rather than trust the stored bytes: what is published is
	// exactly the public key that verifies, never a private member.
	public, err := jwk.Public().MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("signing key %s: public JWK: %w", sk.ID, err)
	}
	k := &key{
		id: sk.ID, alg: sk.Alg, created: sk.CreatedAt, activateAt: sk.ActivateAt,
		jwk: public, pub: jwk.Key, sealed: sk.PrivateSealed,
	}
	if sk.RetiredAt != nil {
		k.retiredAt = *sk.RetiredAt
	}
	if sk.DeleteAfter != nil {
		k.deleteAfter = *sk.DeleteAfter
	}
	if prev != nil && prev.id == sk.ID && prev.alg == sk.Alg && bytes.Equal(prev.sealed, sk.PrivateSealed) {
		k.priv, k.privErr, k.sigSize, k.hash = prev.priv, prev.privErr, prev.sigSize, prev.hash
		k.prefix, k.idPrefix = prev.prefix, prev.idPrefix
		return k, nil
	}
	if err := k.open(mk, sk.Team, a); err != nil {
		k.privErr = err
	}
	return k, nil
}

// open opens and parses the private part and prepares the signing state.
func (k *key) open(mk masterkey.Key, team string, a algorithm) error {
	der, err := mk.Open(k.sealed, sealAD(team, k.id))
	if err != nil {
		return fmt.Errorf("signing key %s: %w", k.id, err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	clear(der)
	if err != nil {
		return fmt.Errorf("signing key %s: private key: %w", k.id, err)
	}
	var matches bool
	switch p := parsed.(type) {
	case *ecdsa.PrivateKey:
		pub, ok := k.pub.(*ecdsa.PublicKey)
		matches = ok && p.PublicKey.Equal(pub)
		k.priv, k.sigSize = p, 2*a.size
		if a.curve == elliptic.P256() {
			k.hash = func(b []byte) []byte { h := sha256.Sum256(b); return h[:] }
		} else {
			k.hash = func(b []byte) []byte { h := sha512.Sum384(b); return h[:] }
		}
	case ed25519.PrivateKey:
		pub, ok := k.pub.(ed25519.PublicKey)
		matches = ok && pub.Equal(p.Public())
		k.priv, k.sigSize = p, ed25519.SignatureSize
	case *rsa.PrivateKey:
		pub, ok := k.pub.(*rsa.PublicKey)
		matches = ok && a.rsa && p.PublicKey.Equal(pub)
		k.priv, k.sigSize = p, p.Size()
		k.hash = func(b []byte) []byte { h := sha256.Sum256(b); return h[:] }
	}
	if !matches {
		k.priv = nil
		return fmt.Errorf("signing key %s: private key does not match its public JWK", k.id)
	}
	if k.prefix, err = headerPrefix(k.alg, k.id, TokenType); err != nil {
		return fmt.Errorf("signing key %s: header: %w", k.id, err)
	}
	if k.idPrefix, err = headerPrefix(k.alg, k.id, IDTokenType); err != nil {
		return fmt.Errorf("signing key %s: header: %w", k.id, err)
	}
	return nil
}

// headerPrefix is the base64url protected header {"alg", "kid", "typ"}
// followed by the dot that the payload follows.
func headerPrefix(alg, kid, typ string) ([]byte, error) {
	header, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{alg, kid, typ})
	if err != nil {
		return nil, err
	}
	return append(base64.RawURLEncoding.AppendEncode(nil, header), '.'), nil
}

// published reports whether the key is in the JWKS at now.
func (k *key) published(now time.Time) bool {
	return k.deleteAfter.IsZero() || now.Before(k.deleteAfter)
}

// signs reports whether the key is within its signing window at now.
func (k *key) signs(now time.Time) bool {
	return !k.activateAt.After(now) && (k.retiredAt.IsZero() || k.retiredAt.After(now))
}

// sign returns the JWS compact serialization of payload (RFC 7515
// section 7.1): the precomputed header (of an ID token when id, else of an
// access token), the payload and the signature, each base64url without
// padding. ECDSA signatures are r||s, each left-padded to the curve size
// (RFC 7518 section 3.4); RSA ones are PKCS #1 v1.5 (section 3.3).
func (k *key) sign(payload []byte, id bool) (string, error) {
	prefix := k.prefix
	if id {
		prefix = k.idPrefix
	}
	enc := base64.RawURLEncoding
	buf := make([]byte, 0, len(prefix)+enc.EncodedLen(len(payload))+1+enc.EncodedLen(k.sigSize))
	buf = append(buf, prefix...)
	buf = enc.AppendEncode(buf, payload)
	var fixed [2 * 66]byte
	var sig []byte
	switch p := k.priv.(type) {
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, p, k.hash(buf))
		if err != nil {
			return "", fmt.Errorf("sign with key %s: %w", k.id, err)
		}
		n := k.sigSize / 2
		r.FillBytes(fixed[:n])
		s.FillBytes(fixed[n : 2*n])
		sig = fixed[:k.sigSize]
	case ed25519.PrivateKey:
		sig = ed25519.Sign(p, buf)
	case *rsa.PrivateKey:
		var err error
		if sig, err = rsa.SignPKCS1v15(nil, p, crypto.SHA256, k.hash(buf)); err != nil {
			return "", fmt.Errorf("sign with key %s: %w", k.id, err)
		}
	default:
		return "", fmt.Errorf("sign with key %s: %w", k.id, errors.Join(ErrKeyUnavailable, k.privErr))
	}
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig)
	return string(buf), nil
}

// info describes the key without its private part.
func (k *key) info() KeyInfo {
	i := KeyInfo{ID: k.id, Alg: k.alg, CreatedAt: k.created, ActivateAt: k.activateAt, CanSign: k.priv != nil}
	if !k.retiredAt.IsZero() {
		t := k.retiredAt
		i.RetiredAt = &t
	}
	if !k.deleteAfter.IsZero() {
		t := k.deleteAfter
		i.DeleteAfter = &t
	}
	return i
}

// KeyInfo describes a signing key without its private part.
type KeyInfo struct {
	ID          string // kid
	Alg         string
	CreatedAt   time.Time
	ActivateAt  time.Time
	RetiredAt   *time.Time
	DeleteAfter *time.Time
	// CanSign is false when the private part does not open with this
	// node's master key.
	CanSign bool
}
