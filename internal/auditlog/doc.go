// Package auditlog is the audit trail of the hot paths (token issuance,
// failed client authentication, code and refresh-token replays,
// revocations, sign-ins, consent denials, access denials, deprecated
// static-key use): events whose response depends on them being recorded.
//
// Add writes the event to a local spool (internal/spool) and returns only
// once it is on disk, fsync'd; many Adds share one fsync (group commit).
// Run, a background component, reads the spool in order and writes the
// events to the database in batches, each with an event id taken from its
// place in the spool, which the database keeps unique: an event that is
// written twice (the process died between the database's commit and the
// spool's checkpoint) is stored once.
//
// What is guaranteed:
//
//   - An Add that returned nil is durable on the node's disk, and reaches
//     the database exactly once, in the order the node spooled it, as soon
//     as the database takes writes: Run retries a failed write for as long
//     as it takes (capped backoff, at most one log line a minute), and a
//     restart replays the spool from its checkpoint. Only the loss of the
//     spool's disk loses acknowledged events.
//   - Add never waits longer than 100 ms (Options.Wait). It fails, with an
//     error wrapping store.ErrUnavailable, when the event is not durable by
//     then, when the disk refuses the write (full, read-only, failing), or
//     when the spool holds its cap (Options.MaxBytes: the database has been
//     away for long). The caller then answers 503 and does not act: a
//     request that must be audited is refused, never served unaudited.
//   - An event whose Add failed may still be recorded, at most once, when
//     the failure came while its write was under way (the write finished
//     after Add gave up, or its fsync failed though the data reached the
//     disk). The trail may so show an attempt that was answered 503; it
//     never lacks one that was answered.
//   - Flush, on shutdown, ships what it can within its deadline and then
//     closes the spool; what the database did not take waits in the spool
//     for the next start.
package auditlog
