package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
)

// flagOfField names the flag of each Config field: its yaml tag, except for
// the fields listed here.
var flagOfField = map[string]string{
	"File":   "config", // the file cannot name itself
	"Scopes": "",       // YAML only
}

// TestEveryFieldHasFlag checks that every Config field has a flag of its
// own, bound to that field, and that every flag belongs to a field.
func TestEveryFieldHasFlag(t *testing.T) {
	c := Default()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	bindAll(fs, &c)

	unused := map[string]bool{}
	fs.VisitAll(func(f *pflag.Flag) { unused[f.Name] = true })

	typ := reflect.TypeFor[Config]()
	for i := range typ.NumField() {
		field := typ.Field(i)
		if !field.IsExported() {
			continue
		}
		name, ok := flagOfField[field.Name]
		if !ok {
			name = field.Tag.Get("yaml")
		}
		if name == "" {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			t.Errorf("field %s: no flag --%s", field.Name, name)
			continue
		}
		delete(unused, name)

		// Setting the flag must change this field and no other.
		value, want := sample(t, field.Type)
		before := c
		if err := fs.Set(name, value); err != nil {
			t.Errorf("--%s=%s: %v", name, value, err)
			continue
		}
		got := reflect.ValueOf(c).Field(i).Interface()
		if got != want {
			t.Errorf("--%s=%s set %s to %v, want %v", name, value, field.Name, got, want)
		}
		reflect.ValueOf(&before).Elem().Field(i).Set(reflect.ValueOf(want))
		if diff := cmp.Diff(before, c, cmp.AllowUnexported(Config{})); diff != "" {
			t.Errorf("--%s changed other fields (-want +got):\n%s", name, diff)
		}
	}
	for name := range unused {
		t.Errorf("flag --%s has no Config field", name)
	}
}

// sample returns a flag value for a field of type typ, and the value the
// field should then hold. Each differs from every default.
func sample(t *testing.T, typ reflect.Type) (string, any) {
	t.Helper()
	switch typ {
	case reflect.TypeFor[string]():
		return "sample", "sample"
	case reflect.TypeFor[bool]():
		return "true", true
	case reflect.TypeFor[int]():
		return "7", 7
	case reflect.TypeFor[int64]():
		return "7", int64(7)
	case reflect.TypeFor[time.Duration]():
		return "7m", 7 * time.Minute
	}
	t.Fatalf("no sample for %s", typ)
	return "", nil
}

func TestBindSplitsCommonAndServe(t *testing.T) {
	names := func(bind func(*pflag.FlagSet, *Config)) []string {
		c := Default()
		fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
		fs.SortFlags = false
		bind(fs, &c)
		var out []string
		fs.VisitAll(func(f *pflag.Flag) { out = append(out, f.Name) })
		return out
	}
	common := names(Bind)
	want := []string{"data-dir", "database-url", "config", "log-level", "log-format"}
	if diff := cmp.Diff(want, common); diff != "" {
		t.Errorf("Bind flags (-want +got):\n%s", diff)
	}
	for _, name := range names(BindServe) {
		if slices.Contains(common, name) {
			t.Errorf("--%s is registered by both Bind and BindServe", name)
		}
	}
}

func TestHelpNamesEnvAndDefault(t *testing.T) {
	c := Default()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	bindAll(fs, &c)
	help := fs.FlagUsages()
	for _, want := range []string{
		"--access-token-ttl duration",
		"(env GATEHOUSE_ACCESS_TOKEN_TTL) (default 15m)",
		"--data-dir DIR",
		`(env GATEHOUSE_DATA_DIR) (default "./gatehouse-data")`,
		"(env GATEHOUSE_SIGNING_KEY_ROTATION) (default 720h)",
		"--ops-listen host:port",
	} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q:\n%s", want, help)
		}
	}
}

func TestSettings(t *testing.T) {
	settings := Settings()
	byFlag := map[string]Setting{}
	for _, s := range settings {
		if s.Help == "" || strings.Contains(s.Help, "`") || strings.Contains(s.Help, "(env ") {
			t.Errorf("--%s: help %q: want plain, non-empty help", s.Flag, s.Help)
		}
		byFlag[s.Flag] = s
	}
	for _, want := range []Setting{
		{Flag: "data-dir", Env: "GATEHOUSE_DATA_DIR", Default: "./gatehouse-data"},
		{Flag: "database-url", Env: "GATEHOUSE_DATABASE_URL", Default: ""},
		{Flag: "config", Env: "GATEHOUSE_CONFIG", Default: ""},
		{Flag: "listen", Env: "GATEHOUSE_LISTEN", Default: ":8080", Serve: true},
		{Flag: "dev", Env: "GATEHOUSE_DEV", Default: "false", Serve: true},
		{Flag: "max-body-bytes", Env: "GATEHOUSE_MAX_BODY_BYTES", Default: "1048576", Serve: true},
		{Flag: "access-token-ttl", Env: "GATEHOUSE_ACCESS_TOKEN_TTL", Default: "15m", Serve: true},
		{Flag: "token-leeway", Env: "GATEHOUSE_TOKEN_LEEWAY", Default: "30s", Serve: true},
		{Flag: "auth-code-ttl", Env: "GATEHOUSE_AUTH_CODE_TTL", Default: "1m", Serve: true},
		{Flag: "refresh-absolute-ttl", Env: "GATEHOUSE_REFRESH_ABSOLUTE_TTL", Default: "2160h", Serve: true},
	} {
		got := byFlag[want.Flag]
		got.Help = ""
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Settings() %s (-want +got):\n%s", want.Flag, diff)
		}
	}
	if got, want := len(settings), reflect.TypeFor[Config]().NumField()-2; got != want {
		t.Errorf("Settings() has %d entries, want %d (every field but Scopes and explicit)", got, want)
	}
}

func TestShortDuration(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{5 * time.Second, "5s"},
		{time.Minute, "1m"},
		{90 * time.Second, "1m30s"},
		{time.Hour, "1h"},
		{time.Hour + time.Minute, "1h1m"},
		{time.Hour + time.Second, "1h0m1s"},
		{1500 * time.Millisecond, "1.5s"},
	} {
		got := shortDuration(tt.d)
		if got != tt.want {
			t.Errorf("shortDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
		if d, err := time.ParseDuration(got); err != nil || d != tt.d {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", got, d, err, tt.d)
		}
	}
}
