// Package signing keeps each team's token signing keys: it makes them,
// seals their private parts with the master key, signs access tokens and
// OpenID Connect ID tokens as JWS compact serializations (RFC 7515) with
// the team's active key of the algorithm asked for, publishes the public
// parts as the team's JWK Set (RFC 7517), verifies tokens against it, and
// rotates the keys.
//
// # Lifecycle of a key
//
// A key is published (in the JWKS) from CreatedAt, signs from ActivateAt,
// stops signing at RetiredAt and leaves the JWKS at DeleteAfter, when every
// token it signed has expired:
//
//	created ── published ──> ActivateAt ── signs ──> RetiredAt ── published ──> DeleteAfter
//
// A team's first key of an algorithm is made on first need and signs at
// once. A rotation publishes the next key PublishAhead before it activates,
// so that resource servers that cache the JWKS know it before they meet it,
// and retires the previous key at that same instant.
//
// At any instant the active key of an algorithm is the key with the latest
// ActivateAt not after now that is not retired, ties broken by the greatest
// kid. Every node computes it from the same rows, so nodes that raced to
// make a team's first key still agree on which one signs; the others stay
// published until the next rotation retires them.
//
// # Algorithms
//
// ES384 (ECDSA P-384 with SHA-384, RFC 7518 section 3.4) by default; ES256
// (P-256) and EdDSA (Ed25519, RFC 8037) on request. ID tokens may also be
// signed with RS256 (RSASSA-PKCS1-v1_5, 2048-bit keys), which OpenID
// Connect requires by default; access tokens never are. A token names its
// kind in its header's typ (at+jwt or JWT), and Verify and VerifyIDToken
// each take only their own kind. One key of an algorithm signs both kinds.
//
// Keys of the team's access-token algorithm rotate; keys of another
// algorithm rotate too when Options.InUse names it (the ID token
// algorithms of the team's clients), and otherwise retire when due, a later
// need making a fresh key. Private keys are stored
// as PKCS#8 DER sealed with [masterkey.Key.Seal] under the additional data
// "signing-key/<team>/<kid>", so that a sealed key copied to another row
// does not open.
//
// # Caching
//
// A [Manager] keeps each team's keys in memory with their private parts
// opened and parsed, so that a warm Sign reads no database. A store change
// of kind [store.KindSigningKey] (or a wider one) passed to
// [Manager.Invalidate] drops the team's entry; the next use reloads it.
package signing
