package auditlog

// Crash closes the spool as a dying process leaves it: no shipping, no
// checkpoint.
func (b *Batcher) Crash() { b.spool.Close() }
