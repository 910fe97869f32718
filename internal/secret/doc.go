// Package secret holds Gatehouse's secrets and the primitives that make and
// check them.
//
//   - [Secret] is a string that never prints itself: slog, fmt and
//     encoding/json all see "[REDACTED]"; [Secret.Reveal] is the one way out.
//   - [Generator] makes tokens, random bytes and UUIDs from an injectable
//     source of randomness (crypto/rand by default).
//   - [Hasher] is a keyed hash, HMAC-SHA-256 (RFC 2104, FIPS 198-1), for
//     high-entropy secrets such as client secrets, static keys,
//     authorization codes and refresh tokens: they carry 256 random bits, so
//     a fast hash is safe and a slow one would only cost CPU on hot paths.
//   - [HashPassword] and [VerifyPassword] store user passwords with
//     Argon2id (RFC 9106) in the PHC string format.
//
// The package is pure: no I/O beyond the random source it is given.
package secret
