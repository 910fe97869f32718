package masterkey_test

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/masterkey"
)

func rawKey(b byte) []byte { return bytes.Repeat([]byte{b}, masterkey.Size) }

func mustNew(t *testing.T, raw []byte) masterkey.Key {
	t.Helper()
	k, err := masterkey.New(raw)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestNew(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := masterkey.New(make([]byte, n)); err == nil {
			t.Errorf("New(%d bytes): no error", n)
		}
	}
	raw := rawKey(1)
	k := mustNew(t, raw)
	raw[0] = 9
	if !bytes.Equal(k.Raw(), rawKey(1)) {
		t.Fatal("changing the caller's slice changed the Key")
	}
}

func TestParse(t *testing.T) {
	key := rawKey(0xab)
	std := base64.StdEncoding.EncodeToString(key)
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{"standard", std, ""},
		{"trailing newline", std + "\n", ""},
		{"surrounding space", "  " + std + "\t\n", ""},
		{"empty", "", "decodes to 0 bytes"},
		{"16 bytes", base64.StdEncoding.EncodeToString(key[:16]), "decodes to 16 bytes, want 32"},
		{"31 bytes", base64.StdEncoding.EncodeToString(key[:31]), "decodes to 31 bytes, want 32"},
		{"33 bytes", base64.StdEncoding.EncodeToString(append(key, 0)), "decodes to 33 bytes, want 32"},
		{"64 bytes", base64.StdEncoding.EncodeToString(append(key, key...)), "decodes to 64 bytes, want 32"},
		{"hex (valid base64 of 48 bytes)", hex.EncodeToString(key), "decodes to 48 bytes, want 32"},
		{"unpadded", base64.RawStdEncoding.EncodeToString(key), "not standard base64"},
		{"url alphabet", base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32)), "not standard base64"},
		{"garbage", "this is not a key!", "not standard base64"},
		{"space inside", std[:20] + " " + std[20:], "not standard base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := masterkey.Parse(tt.in)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if !bytes.Equal(k.Raw(), key) {
					t.Fatalf("Parse = %x, want %x", k.Raw(), key)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Parse error = %v, want one containing %q", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), "openssl rand -base64 32") {
				t.Fatalf("error %q does not say how to make a key", err)
			}
			if len(tt.in) > 8 && strings.Contains(err.Error(), strings.TrimSpace(tt.in)) {
				t.Fatalf("error %q quotes the input", err)
			}
		})
	}
}

func TestDerive(t *testing.T) {
	k := mustNew(t, rawKey(1))
	purposes := []string{"seal", "secret-hash", "csrf", "", "seal "}
	seen := map[string]string{}
	for _, p := range purposes {
		d := k.Derive(p)
		if len(d) != 32 {
			t.Fatalf("Derive(%q) is %d bytes, want 32", p, len(d))
		}
		if !bytes.Equal(d, k.Derive(p)) {
			t.Fatalf("Derive(%q) is not deterministic", p)
		}
		if other, ok := seen[string(d)]; ok {
			t.Fatalf("Derive(%q) == Derive(%q)", p, other)
		}
		seen[string(d)] = p
		if bytes.Equal(d, k.Raw()) {
			t.Fatalf("Derive(%q) returned the master key", p)
		}
		// Equal to HKDF-SHA-256 with info "gatehouse <purpose>", and depends on the key.
		want, err := hkdf.Key(sha256.New, rawKey(1), nil, "gatehouse "+p, 32)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(d, want) {
			t.Fatalf("Derive(%q) = %x, want HKDF-SHA-256 %x", p, d, want)
		}
		if bytes.Equal(d, mustNew(t, rawKey(2)).Derive(p)) {
			t.Fatalf("Derive(%q) does not depend on the master key", p)
		}
	}
	// Same key, built twice: same subkeys.
	if !bytes.Equal(mustNew(t, rawKey(1)).Derive("secret-hash"), k.Derive("secret-hash")) {
		t.Fatal("two Keys with the same bytes derive different subkeys")
	}
}

// RFC 5869 appendix A.1 checks the standard library's HKDF-SHA-256 as Derive
// uses it (Derive adds its own info and fixes the length).
func TestHKDFReference(t *testing.T) {
	ikm, _ := hex.DecodeString("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b")
	salt, _ := hex.DecodeString("000102030405060708090a0b0c")
	info, _ := hex.DecodeString("f0f1f2f3f4f5f6f7f8f9")
	got, err := hkdf.Key(sha256.New, ikm, salt, string(info), 42)
	if err != nil {
		t.Fatal(err)
	}
	const want = "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
	if hex.EncodeToString(got) != want {
		t.Fatalf("HKDF = %x, want %s", got, want)
	}
}

func TestZeroKey(t *testing.T) {
	var k masterkey.Key
	if d := k.Derive("seal"); d != nil {
		t.Fatalf("zero Key Derive = %x, want nil", d)
	}
	if _, err := k.Seal([]byte("x"), nil); err == nil {
		t.Fatal("zero Key Seal: no error")
	}
	if _, err := k.Open(make([]byte, 64), nil); err == nil {
		t.Fatal("zero Key Open: no error")
	}
}

func TestKeyNeverPrints(t *testing.T) {
	raw := rawKey(0x5a) // base64 "WlpaWlpa..."
	k := mustNew(t, raw)
	b64 := base64.StdEncoding.EncodeToString(raw)
	holder := struct {
		Name string
		Key  masterkey.Key
	}{"cfg", k}

	var jsonLog, textLog bytes.Buffer
	slog.New(slog.NewJSONHandler(&jsonLog, nil)).Info("loaded", "key", k, "cfg", holder)
	slog.New(slog.NewTextHandler(&textLog, nil)).Info("loaded", "key", k, "cfg", holder)
	js, err := json.Marshal(holder)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"slog json":  jsonLog.String(),
		"slog text":  textLog.String(),
		"json":       string(js),
		"%v":         fmt.Sprintf("%v", k),
		"%+v":        fmt.Sprintf("%+v", k),
		"%#v":        fmt.Sprintf("%#v", k),
		"%s":         fmt.Sprintf("%s", k),
		"%x":         fmt.Sprintf("%x", k),
		"%d":         fmt.Sprintf("%d", k),
		"struct %v":  fmt.Sprintf("%v", holder),
		"struct %#v": fmt.Sprintf("%#v", holder),
		"pointer":    fmt.Sprintf("%v", &k),
	}
	for name, out := range outputs {
		if strings.Contains(out, "WlpaWlpa") || strings.Contains(out, "5a5a5a5a") ||
			strings.Contains(out, "90 90 90 90") || strings.Contains(out, "ZZZZ") || strings.Contains(out, b64) {
			t.Errorf("%s prints the key: %s", name, out)
		}
	}
	for _, name := range []string{"slog json", "slog text", "%v", "%#v", "struct %v"} {
		if !strings.Contains(outputs[name], "[REDACTED]") {
			t.Errorf("%s lacks [REDACTED]: %s", name, outputs[name])
		}
	}
}
