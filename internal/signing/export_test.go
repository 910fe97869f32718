package signing

import (
	"time"

	"github.com/gatehouse/gatehouse/internal/masterkey"
	"github.com/gatehouse/gatehouse/internal/store"
)

// NewRecord makes the store record of a fresh key, as the manager would.
func NewRecord(mk masterkey.Key, team, kid, alg string, created, activate time.Time) (store.SigningKey, error) {
	priv, err := generate(alg)
	if err != nil {
		return store.SigningKey{}, err
	}
	return newRecord(mk, team, kid, alg, priv, created, activate)
}

// CacheMaxAge exposes the cache's safety-net lifetime.
const CacheMaxAge = cacheMaxAge
