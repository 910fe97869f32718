// Package statickey is the domain logic of static keys (README "Static
// keys"): user API keys, sent as
// "Authorization: Bearer <key>", and AppKeys, sent as "Authorization:
// AppKey <key>". It creates, lists and deletes them, authenticates them on
// the hot path, applies the team's sunset policy, records their last use,
// and migrates a key to an OAuth 2.0 client in one step. It knows nothing
// of HTTP or SQL: the access guard turns its answers into headers and
// status codes.
//
// # Format
//
// A key is base64 (standard alphabet, padded) of "<key id>:<secret>", the
// key id a UUID and the secret 256 random bits (secret.Generator.Token).
// The key is shown once, when made; the store keeps its HMAC-SHA-256
// (secret.Hasher, keyed as client secrets are) and the id.
//
// # Hot path
//
// Authenticate reads a key through an in-process cache that Invalidate
// empties on every change of the key, its owner or its team, made by any
// process (the server subscribes it to the change hub): warm, it reads
// nothing from the store and writes nothing on the request path. The last
// use (time, IP, user agent) is kept in memory and written by a background
// flusher (Run, Flush) at most once a minute per key; the use of a key
// after its team's deprecation date is audited ("key.use.deprecated")
// through the audit trail at most once an hour per key and node; a use
// that cannot be audited is refused as unavailable, and the next one
// tries again.
//
// # Sunset
//
// A team's policy (its settings) replaces the server's (the configuration)
// as a whole: a team that has any static key setting has its own policy.
// From DeprecatedSince every answer to a static key request carries a
// Notice (the guard writes it as Deprecation, Sunset and Link headers);
// from SunsetAt static keys are refused with a message that points to
// OAuth 2.0. A policy with a sunset date and no deprecation date is
// deprecated from the sunset date. With RefuseNew, no key is made once
// the policy is deprecated (at once, if it has no deprecation date).
//
// # Migration
//
// Migrate does the Celonis guide's four migration steps in one transaction: it
// registers a client_credentials client named after the key's owner,
// grants it the owner's permissions as of now (a user's own and its
// groups'), allows it the scopes that those permissions can use on the
// routes it is given (authz.ScopesFor), and marks the key migrated. The
// key keeps working until it is deleted or the sunset date passes. A team
// admin's key is refused: no set of permissions equals "team admin", so
// the result could not reach what the key reached.
package statickey
