package resource

// Verifications counts the signature verifications v has done.
func (v *Validator) Verifications() int64 { return v.verifies.Load() }

// CachedTokens is the number of verified tokens v remembers.
func (v *Validator) CachedTokens() int { return v.verified.len() }
