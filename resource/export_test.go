package resource

// Verifications counts the signature verifications v has done.
func (v *Validator) Verifications() int64 { return v.verifies.Load() }

// CachedTokens is the number of verified tokens v remembers.
func (v *Validator) CachedTokens() int { return v.verified.len() }

// ParseJWKS parses a JWKS document as the validator does and returns, by
// kid, each usable key's JWK alg ("" for none) and its public key.
func ParseJWKS(body []byte) (map[string]PublicKeyForTest, error) {
	keys, err := parseJWKS(body)
	if err != nil {
		return nil, err
	}
	out := make(map[string]PublicKeyForTest, len(keys))
	for kid, k := range keys {
		out[kid] = PublicKeyForTest{Alg: k.alg, Key: k.key, Fits: k.fits}
	}
	return out, nil
}

// PublicKeyForTest is a parsed JWKS key.
type PublicKeyForTest struct {
	Alg  string
	Key  any
	Fits func(alg string) bool
}
