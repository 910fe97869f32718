package secret

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"hash"
	"sync"
)

// HashSize is the length of a [Hasher.Hash]: an HMAC-SHA-256 tag, 32 bytes.
const HashSize = sha256.Size

// MinHashKeyLen is the shortest key [NewHasher] accepts: 32 bytes, the
// output size of SHA-256 (RFC 2104 section 3 advises against shorter keys).
const MinHashKeyLen = 32

// maxPooledInput bounds the scratch buffer kept in the pool, so one huge
// input does not pin its memory for the life of the process.
const maxPooledInput = 1 << 10

// Hasher computes a keyed hash, HMAC-SHA-256 (RFC 2104, FIPS 198-1), of
// high-entropy secrets so that storage holds only the hash and a stolen
// database reveals nothing usable without the key. It is meant for secrets
// with at least 128 random bits (Gatehouse's carry 256); passwords need
// [HashPassword] instead.
//
// A Hasher is safe for concurrent use. It keeps HMAC states in a sync.Pool,
// so Verify does not allocate and Hash allocates only the returned slice.
type Hasher struct {
	pool sync.Pool // of *macState
}

type macState struct {
	mac hash.Hash
	in  []byte // scratch copy of the input: hash.Hash takes []byte, not string
	sum [HashSize]byte
}

// NewHasher returns a Hasher keyed with a copy of key, which must be at
// least [MinHashKeyLen] bytes (Gatehouse derives it from the master key).
func NewHasher(key []byte) (*Hasher, error) {
	if len(key) < MinHashKeyLen {
		return nil, fmt.Errorf("new hasher: key is %d bytes, need at least %d", len(key), MinHashKeyLen)
	}
	k := append([]byte(nil), key...)
	h := &Hasher{}
	h.pool.New = func() any { return &macState{mac: hmac.New(sha256.New, k)} }
	return h, nil
}

// compute returns a pooled state whose sum holds the HMAC of s. The caller
// must hand it back with release.
func (h *Hasher) compute(s string) *macState {
	st := h.pool.Get().(*macState)
	st.mac.Reset()
	st.in = append(st.in[:0], s...)
	st.mac.Write(st.in) // hash.Hash.Write never returns an error
	st.mac.Sum(st.sum[:0])
	return st
}

func (h *Hasher) release(st *macState) {
	clear(st.in) // do not leave a copy of the secret in the pool
	if cap(st.in) > maxPooledInput {
		st.in = nil
	}
	st.sum = [HashSize]byte{}
	h.pool.Put(st)
}

// Hash returns the HMAC-SHA-256 of s, [HashSize] bytes.
func (h *Hasher) Hash(s string) []byte {
	st := h.compute(s)
	out := make([]byte, HashSize)
	copy(out, st.sum[:])
	h.release(st)
	return out
}

// Verify reports whether hash is the HMAC-SHA-256 of s. The comparison
// takes constant time in the content of hash (hmac.Equal), so a caller
// cannot learn a stored hash byte by byte from response times.
func (h *Hasher) Verify(s string, hash []byte) bool {
	st := h.compute(s)
	ok := hmac.Equal(st.sum[:], hash)
	h.release(st)
	return ok
}
