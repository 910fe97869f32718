package secret_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/secret"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, secret.MinHashKeyLen) }

func TestNewHasherKeyLength(t *testing.T) {
	tests := []struct {
		name    string
		key     []byte
		wantErr bool
	}{
		{"nil", nil, true},
		{"empty", []byte{}, true},
		{"31 bytes", make([]byte, 31), true},
		{"32 bytes", make([]byte, 32), false},
		{"64 bytes", make([]byte, 64), false},
		{"131 bytes", make([]byte, 131), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := secret.NewHasher(tt.key)
			if (err != nil) != tt.wantErr {
				t.Fatalf("NewHasher(%d bytes) error = %v, want error %v", len(tt.key), err, tt.wantErr)
			}
			if (h == nil) != tt.wantErr {
				t.Fatalf("NewHasher(%d bytes) = %v", len(tt.key), h)
			}
		})
	}
}

// RFC 4231 section 4: the HMAC-SHA-256 test cases whose key is long enough
// for NewHasher (131 bytes of 0xaa).
func TestHashRFC4231(t *testing.T) {
	key := bytes.Repeat([]byte{0xaa}, 131)
	tests := []struct {
		name, data, want string
	}{
		{"test case 6", "Test Using Larger Than Block-Size Key - Hash Key First",
			"60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
		{"test case 7", "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.",
			"9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
	}
	h, err := secret.NewHasher(key)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Twice, so the second computation runs on a pooled, reset state.
			for i := range 2 {
				if got := hex.EncodeToString(h.Hash(tt.data)); got != tt.want {
					t.Fatalf("round %d: Hash = %s, want %s", i, got, tt.want)
				}
				want, _ := hex.DecodeString(tt.want)
				if !h.Verify(tt.data, want) {
					t.Fatalf("round %d: Verify of the RFC 4231 tag = false", i)
				}
			}
		})
	}
}

func TestHashMatchesHMAC(t *testing.T) {
	key := testKey(7)
	h, err := secret.NewHasher(key)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"", "a", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", strings.Repeat("x", 5000), "short again"} {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(s))
		want := m.Sum(nil)
		if got := h.Hash(s); !bytes.Equal(got, want) {
			t.Fatalf("Hash(%.10q...) = %x, want %x", s, got, want)
		}
	}
}

func TestVerify(t *testing.T) {
	h, err := secret.NewHasher(testKey(1))
	if err != nil {
		t.Fatal(err)
	}
	other, err := secret.NewHasher(testKey(2))
	if err != nil {
		t.Fatal(err)
	}
	const s = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
	good := h.Hash(s)
	flipped := bytes.Clone(good)
	flipped[len(flipped)-1] ^= 1

	tests := []struct {
		name string
		s    string
		hash []byte
		want bool
	}{
		{"match", s, good, true},
		{"other secret", s + "x", good, false},
		{"prefix of secret", s[:42], good, false},
		{"empty secret", "", good, false},
		{"flipped bit", s, flipped, false},
		{"truncated hash", s, good[:31], false},
		{"extended hash", s, append(bytes.Clone(good), 0), false},
		{"nil hash", s, nil, false},
		{"hash under another key", s, other.Hash(s), false},
		{"empty secret matches its own hash", "", h.Hash(""), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := h.Verify(tt.s, tt.hash); got != tt.want {
				t.Fatalf("Verify = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestHasherCopiesKey(t *testing.T) {
	key := testKey(3)
	h, err := secret.NewHasher(key)
	if err != nil {
		t.Fatal(err)
	}
	before := h.Hash("x")
	key[0] ^= 0xff
	if after := h.Hash("x"); !bytes.Equal(before, after) {
		t.Fatal("changing the caller's key changed the Hasher")
	}
}

func TestHashReturnsFreshSlice(t *testing.T) {
	h, err := secret.NewHasher(testKey(4))
	if err != nil {
		t.Fatal(err)
	}
	a := h.Hash("a")
	keep := bytes.Clone(a)
	a[0] ^= 0xff // callers may own and change the result
	_ = h.Hash("b")
	if !bytes.Equal(h.Hash("a"), keep) || !h.Verify("a", keep) {
		t.Fatal("a returned hash shares memory with the Hasher")
	}
}

func TestHasherConcurrent(t *testing.T) {
	h, err := secret.NewHasher(testKey(5))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{}
	for i := range 16 {
		s := fmt.Sprintf("secret-%d-%s", i, strings.Repeat("y", i*100))
		want[s] = h.Hash(s)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for range 8 {
		wg.Go(func() {
			for range 200 {
				for s, w := range want {
					if !bytes.Equal(h.Hash(s), w) || !h.Verify(s, w) {
						errs <- s
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for s := range errs {
		t.Errorf("concurrent Hash/Verify of %.12q... disagreed", s)
	}
}

func TestVerifyDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	h, err := secret.NewHasher(testKey(6))
	if err != nil {
		t.Fatal(err)
	}
	const s = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
	sum := h.Hash(s)
	if n := testing.AllocsPerRun(100, func() { h.Verify(s, sum) }); n != 0 {
		t.Fatalf("Verify allocates %v times per call, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { h.Hash(s) }); n > 1 {
		t.Fatalf("Hash allocates %v times per call, want at most 1 (the result)", n)
	}
}

func BenchmarkHasher(b *testing.B) {
	h, err := secret.NewHasher(testKey(8))
	if err != nil {
		b.Fatal(err)
	}
	const s = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
	sum := h.Hash(s)
	b.Run("Hash", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h.Hash(s)
		}
	})
	b.Run("Verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h.Verify(s, sum)
		}
	})
	b.Run("VerifyParallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				h.Verify(s, sum)
			}
		})
	})
	// The baseline the pool saves: a fresh HMAC state per call.
	b.Run("UnpooledBaseline", func(b *testing.B) {
		b.ReportAllocs()
		key := testKey(8)
		for b.Loop() {
			m := hmac.New(sha256.New, key)
			m.Write([]byte(s))
			hmac.Equal(m.Sum(nil), sum)
		}
	})
}
