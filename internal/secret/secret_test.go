package secret_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/secret"
)

const plain = "s3cr3t-VALUE-that-must-not-leak"

type holder struct {
	Name  string
	Token secret.Secret
	Ptr   *secret.Secret
	List  []secret.Secret
	Map   map[string]secret.Secret
}

func newHolder() holder {
	s := secret.Secret(plain)
	return holder{Name: "client", Token: s, Ptr: &s, List: []secret.Secret{s}, Map: map[string]secret.Secret{"k": s}}
}

func TestRevealReturnsValue(t *testing.T) {
	if got := secret.Secret(plain).Reveal(); got != plain {
		t.Fatalf("Reveal() = %q, want %q", got, plain)
	}
}

func TestFmtNeverPrintsSecret(t *testing.T) {
	s := secret.Secret(plain)
	h := newHolder()
	tests := []struct {
		name string
		got  string
	}{
		{"String", s.String()},
		{"GoString", s.GoString()},
		{"%v", fmt.Sprintf("%v", s)},
		{"%+v", fmt.Sprintf("%+v", s)},
		{"%#v", fmt.Sprintf("%#v", s)},
		{"%s", fmt.Sprintf("%s", s)},
		{"%q", fmt.Sprintf("%q", s)},
		{"%x", fmt.Sprintf("%x", s)},
		{"%X", fmt.Sprintf("%X", s)},
		{"%d", fmt.Sprintf("%d", s)},
		{"%40s", fmt.Sprintf("%40s", s)},
		{"%.3s", fmt.Sprintf("%.3s", s)},
		{"pointer %v", fmt.Sprintf("%v", &s)},
		{"pointer %s", fmt.Sprintf("%s", &s)},
		{"Sprint", fmt.Sprint(s)},
		{"Sprintln", fmt.Sprintln("token", s)},
		{"struct %v", fmt.Sprintf("%v", h)},
		{"struct %+v", fmt.Sprintf("%+v", h)},
		{"struct %#v", fmt.Sprintf("%#v", h)},
		{"slice %v", fmt.Sprintf("%v", []secret.Secret{s, s})},
		{"map %#v", fmt.Sprintf("%#v", map[secret.Secret]secret.Secret{s: s})},
		{"any %v", fmt.Sprintf("%v", []any{s})},
		{"error", fmt.Errorf("bad token %s: %w", s, errors.New("x")).Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if strings.Contains(tt.got, plain) || strings.Contains(tt.got, "s3cr3t") {
				t.Fatalf("output contains the secret: %q", tt.got)
			}
			if !strings.Contains(tt.got, secret.Redacted) {
				t.Fatalf("output %q lacks %q", tt.got, secret.Redacted)
			}
		})
	}
}

func TestSlogNeverPrintsSecret(t *testing.T) {
	s := secret.Secret(plain)
	h := newHolder()
	logs := []struct {
		name string
		log  func(*slog.Logger)
	}{
		{"attr", func(l *slog.Logger) { l.Info("issued", "secret", s) }},
		{"slog.Any", func(l *slog.Logger) { l.Info("issued", slog.Any("secret", s)) }},
		{"pointer", func(l *slog.Logger) { l.Info("issued", "secret", &s) }},
		{"group", func(l *slog.Logger) { l.Info("issued", slog.Group("client", "id", "c1", "secret", s)) }},
		{"With", func(l *slog.Logger) { l.With("secret", s).Info("issued") }},
		{"struct", func(l *slog.Logger) { l.Info("issued", "client", h) }},
		{"struct pointer", func(l *slog.Logger) { l.Info("issued", "client", &h) }},
		{"slice", func(l *slog.Logger) { l.Info("issued", "secrets", []secret.Secret{s}) }},
		{"map", func(l *slog.Logger) { l.Info("issued", "secrets", map[string]secret.Secret{"a": s}) }},
		{"error", func(l *slog.Logger) { l.Error("failed", "err", fmt.Errorf("token %v rejected", s)) }},
	}
	handlers := []struct {
		name string
		new  func(*bytes.Buffer) slog.Handler
	}{
		{"json", func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) }},
		{"text", func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) }},
	}
	for _, hd := range handlers {
		for _, lg := range logs {
			t.Run(hd.name+"/"+lg.name, func(t *testing.T) {
				var buf bytes.Buffer
				lg.log(slog.New(hd.new(&buf)))
				out := buf.String()
				if strings.Contains(out, "s3cr3t") {
					t.Fatalf("log contains the secret: %s", out)
				}
				if !strings.Contains(out, secret.Redacted) {
					t.Fatalf("log %s lacks %q", out, secret.Redacted)
				}
				if hd.name == "json" && !json.Valid(buf.Bytes()) {
					t.Fatalf("log is not valid JSON: %s", out)
				}
			})
		}
	}
}

func TestSlogJSONShape(t *testing.T) {
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("issued", "secret", secret.Secret(plain))
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got["secret"] != secret.Redacted {
		t.Fatalf(`"secret" = %v, want %q`, got["secret"], secret.Redacted)
	}
}

func TestJSONMarshalRedactsButUnmarshalReads(t *testing.T) {
	b, err := json.Marshal(newHolder())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("s3cr3t")) {
		t.Fatalf("json contains the secret: %s", b)
	}
	var in struct{ Token secret.Secret }
	if err := json.Unmarshal([]byte(`{"Token":"`+plain+`"}`), &in); err != nil {
		t.Fatal(err)
	}
	if in.Token.Reveal() != plain {
		t.Fatalf("decoded %q, want %q", in.Token.Reveal(), plain)
	}
}
