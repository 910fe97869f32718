package signing_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/signing"
)

// signed are tokens of team acme, one per algorithm, that a fuzz target
// verifies against, with their payloads.
type signed struct {
	tokens   []string
	payloads []string
}

func signAll(f *testing.F, m *signing.Manager) signed {
	var s signed
	for i, alg := range []string{"ES384", "ES256", "EdDSA"} {
		payload := `{"sub":"fuzz","n":` + string(rune('0'+i)) + `}`
		tok, err := m.Sign(context.Background(), "acme", alg, []byte(payload))
		if err != nil {
			f.Fatalf("Sign(%s): %v", alg, err)
		}
		s.tokens, s.payloads = append(s.tokens, tok), append(s.payloads, payload)
	}
	return s
}

// signingInput is what a JWS signature covers: header and payload as sent.
func signingInput(tok string) string {
	i := strings.LastIndexByte(tok, '.')
	if i < 0 {
		return tok
	}
	return tok[:i]
}

// checkVerify applies Verify's properties to one token: a refusal wraps
// ErrInvalid (the store answers, so nothing else may fail), and an
// accepted token has the signing input of a token the team signed (the
// signature itself may have another spelling), whose payload it returns.
func checkVerify(t *testing.T, m *signing.Manager, s signed, team, tok string) {
	payload, h, err := m.Verify(context.Background(), team, tok)
	if err != nil {
		if !errors.Is(err, signing.ErrInvalid) {
			t.Fatalf("Verify(%q): error %v does not wrap ErrInvalid", tok, err)
		}
		return
	}
	if team != "acme" {
		t.Fatalf("Verify(%s, %q) accepted a token of acme", team, tok)
	}
	for i, good := range s.tokens {
		if signingInput(tok) == signingInput(good) {
			if string(payload) != s.payloads[i] {
				t.Errorf("Verify(%q) = %s, want %s", tok, payload, s.payloads[i])
			}
			if h.Type != signing.TokenType && !strings.EqualFold(h.Type, "application/at+jwt") && !strings.EqualFold(h.Type, signing.TokenType) {
				t.Errorf("Verify(%q): typ %q", tok, h.Type)
			}
			return
		}
	}
	t.Errorf("Verify(%q) accepted a token the team never signed: payload %s, header %+v", tok, payload, h)
}

// FuzzVerify: any string presented as a bearer token.
func FuzzVerify(f *testing.F) {
	c := newClock()
	m := newManager(f, openSQLite(f), c)
	s := signAll(f, m)
	for _, tok := range s.tokens {
		f.Add(tok)
		f.Add(tok + "x")
		f.Add(signingInput(tok) + ".")
		f.Add(strings.Replace(tok, ".", "..", 1))
		f.Add(tok[:20] + "\t" + tok[20:])
		f.Add(" " + tok)
	}
	for _, tok := range []string{"", "a.b.c", "eyJhbGciOiJub25lIn0.e30.",
		"eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9.e30.c2ln"} {
		f.Add(tok)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		checkVerify(t, m, s, "acme", tok)
		checkVerify(t, m, s, "beta", tok)
	})
}

// FuzzVerifyTampered: a signed token with one byte changed, or cut, or
// with bytes inserted. Whatever verifies still has the signing input the
// team signed.
func FuzzVerifyTampered(f *testing.F) {
	c := newClock()
	m := newManager(f, openSQLite(f), c)
	s := signAll(f, m)
	f.Add(uint8(0), uint16(0), byte('x'), uint8(0))
	f.Add(uint8(1), uint16(40), byte('A'), uint8(1))
	f.Add(uint8(2), uint16(200), byte('.'), uint8(2))
	f.Add(uint8(0), uint16(150), byte('='), uint8(3))
	f.Fuzz(func(t *testing.T, which uint8, pos uint16, b byte, op uint8) {
		tok := s.tokens[int(which)%len(s.tokens)]
		i := int(pos) % (len(tok) + 1)
		switch op % 4 {
		case 0: // replace
			if i == len(tok) {
				return
			}
			tok = tok[:i] + string(b) + tok[i+1:]
		case 1: // insert
			tok = tok[:i] + string(b) + tok[i:]
		case 2: // cut the rest
			tok = tok[:i]
		case 3: // flip a bit
			if i == len(tok) {
				return
			}
			tok = tok[:i] + string(tok[i]^(1<<(b%8))) + tok[i+1:]
		}
		checkVerify(t, m, s, "acme", tok)
	})
}
