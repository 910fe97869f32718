package secret

import (
	"fmt"
	"io"
	"log/slog"
)

// Redacted is what a [Secret] prints instead of its value.
const Redacted = "[REDACTED]"

// Secret is a string that must never reach a log, an error message or a
// debug print. Every way of printing it (slog's LogValuer, fmt's Stringer,
// GoStringer and Formatter for every verb, encoding.TextMarshaler for
// encoding/json and the slog JSON handler) yields [Redacted]; [Secret.Reveal]
// returns the value for the one place that must show or use it.
//
// fmt cannot call methods on unexported struct fields, so a Secret held in
// an unexported field of a struct prints in clear when the whole struct is
// formatted with %v; keep secrets in exported fields or never format the
// struct. Marshaling is one-way on purpose: a Secret decodes from JSON as a
// plain string but encodes as [Redacted], so a response that must carry a
// secret puts Reveal() in a string field.
type Secret string

var (
	_ slog.LogValuer = Secret("")
	_ fmt.Stringer   = Secret("")
	_ fmt.GoStringer = Secret("")
	_ fmt.Formatter  = Secret("")
)

// Reveal returns the secret's value. Call it only where the value must be
// shown once to its owner or used, never to log.
func (s Secret) Reveal() string { return string(s) }

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }

// String implements fmt.Stringer.
func (Secret) String() string { return Redacted }

// GoString implements fmt.GoStringer (the %#v verb).
func (Secret) GoString() string { return Redacted }

// Format implements fmt.Formatter so that every verb, flag and width
// (%v, %+v, %#v, %s, %q, %x, %d, ...) prints [Redacted].
func (Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, Redacted) }

// MarshalText implements encoding.TextMarshaler, so encoding/json, the slog
// JSON handler and map keys see [Redacted].
func (Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }
