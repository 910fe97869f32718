package layering

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/gatehouse/gatehouse/"

// A layer is a set of packages with one rule: which layers they may import
// directly, and whether HTTP or SQL may be anywhere below them.
type layer struct {
	name string
	// may lists the layers its packages may import directly, each with
	// the reason it is allowed.
	may map[string]string
	// pure layers may not depend on net/http or database/sql, directly or
	// through anything they import.
	pure bool
	why  string
}

var layers = []layer{
	{name: "base", pure: true,
		why: "vocabulary and mechanisms every other package shares: records, secrets, keys, names, configuration, caches",
		may: map[string]string{"base": "small shared pieces build on one another (kernel names store records and teams)"}},
	{name: "domain", pure: true,
		why: "Gatehouse's own rules: the access rule, clients, static keys, consents, web sessions, signing, administration; testable without HTTP or a database server",
		may: map[string]string{
			"base":   "records, secrets, caches and the kernel's actor, audit event and validation error",
			"domain": "services build on one another (static-key migration registers a client; consents revoke through the denylist)",
		}},
	{name: "compose", pure: true,
		why: "the composition root of the domain: builds every service once, for the server, the CLI and the load tool",
		may: map[string]string{"base": "configuration, master key, store", "domain": "it builds every service"}},
	{name: "storage",
		why: "the SQL backends and their tests: the only place database/sql lives",
		may: map[string]string{"base": "the store contract they implement"}},
	{name: "http",
		why: "handlers: decode a protocol, call the domain, encode the answer",
		may: map[string]string{
			"base":   "records and the shared vocabulary",
			"domain": "the services they front (through narrow interfaces where they can)",
			"http":   "the edge's request info and JSON answers, the guard in front of protected routes",
			"public": "the admin API encodes the records its public client (adminclient) decodes: one definition of each",
		}},
	{name: "server",
		why: "the HTTP composition root: builds handlers on the composed services and serves them",
		may: map[string]string{"base": "configuration and records", "domain": "types it wires", "compose": "the services", "http": "every handler it routes to"}},
	{name: "testkit",
		why: "helpers that tests of several packages share: a real server with fixtures, waiting for a condition, real faults, a connection that can be cut",
		may: map[string]string{"base": "", "domain": "fixtures through the services", "compose": "the services, as the server builds them",
			"storage": "a database of its own", "server": "a real server", "testkit": "helpers build on one another"}},
	{name: "entry",
		why: "programs and end-to-end tests: the command line, the binary, the load tool, the tests that run the binary",
		may: map[string]string{"base": "", "domain": "", "compose": "", "storage": "opening the database", "http": "route files (gateway)", "server": "serve", "testkit": "end-to-end tests wait and start servers", "entry": "the binary runs the CLI",
			"public": "the CLI calls the admin API, in both modes, through adminclient"}},
	{name: "public",
		why: "packages that other modules import: they may depend only on what has no state (token validation)",
		may: map[string]string{"base": "token claims and their validation, shared so the resource server checks tokens exactly as Gatehouse does"}},
}

// packages places every package of the module in a layer. A package that
// is not listed fails the test: a new package must choose its layer.
var packages = map[string]string{
	"internal/config":          "base",
	"internal/store":           "base",
	"internal/secret":          "base",
	"internal/masterkey":       "base",
	"internal/team":            "base",
	"internal/scope":           "base",
	"internal/ratelimit":       "base",
	"internal/logbuf":          "base",
	"internal/gctune":          "base",
	"internal/lifecycle":       "base",
	"internal/token":           "base",
	"internal/kernel":          "base",
	"internal/spool":           "base",
	"internal/change":          "base",
	"internal/auditlog":        "base",
	"internal/authz":           "domain",
	"internal/admin":           "domain",
	"internal/client":          "domain",
	"internal/statickey":       "domain",
	"internal/consent":         "domain",
	"internal/oidc":            "domain",
	"internal/denylist":        "domain",
	"internal/session":         "domain",
	"internal/signing":         "domain",
	"internal/compose":         "compose",
	"internal/store/sqlstore":  "storage",
	"internal/store/storetest": "storage",
	"internal/pgtest":          "storage",
	"internal/edge":            "http",
	"internal/clientaddr":      "http",
	"internal/access":          "http",
	"internal/oauth":           "http",
	"internal/webui":           "http",
	"internal/teamapi":         "http",
	"internal/adminapi":        "http",
	"internal/scim":            "http",
	"internal/gateway":         "http",
	"internal/server":          "server",
	"internal/servertest":      "testkit",
	"internal/testclock":       "testkit",
	"internal/poll":            "testkit",
	"internal/outage":          "testkit",
	"internal/faultproxy":      "testkit",
	"internal/audittest":       "testkit",
	"internal/faulttest":       "testkit",
	"internal/required":        "testkit",
	"internal/cli":             "entry",
	"cmd/gatehouse":            "entry",
	"bench":                    "entry",
	"internal/e2e":             "entry",
	"internal/layering":        "entry",
	"resource":                 "public",
	"adminclient":              "public",
}

type pkgInfo struct {
	imports, deps []string
}

func goList(t *testing.T) map[string]pkgInfo {
	t.Helper()
	statSources(t)
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}|{{join .Imports \",\"}}|{{join .Deps \",\"}}", module+"...").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v: %s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string]pkgInfo{}
	for line := range strings.Lines(string(out)) {
		f := strings.Split(strings.TrimSpace(line), "|")
		if len(f) != 3 {
			t.Fatalf("go list line %q", line)
		}
		split := func(s string) []string {
			if s == "" {
				return nil
			}
			return strings.Split(s, ",")
		}
		pkgs[strings.TrimPrefix(f[0], module)] = pkgInfo{imports: split(f[1]), deps: split(f[2])}
	}
	return pkgs
}

func TestLayers(t *testing.T) {
	byName := map[string]layer{}
	for _, l := range layers {
		byName[l.name] = l
		for to := range l.may {
			if _, ok := byName[to]; !ok && !slices.ContainsFunc(layers, func(x layer) bool { return x.name == to }) {
				t.Errorf("layer %s may import unknown layer %s", l.name, to)
			}
		}
	}
	pkgs := goList(t)
	for p := range pkgs {
		if _, ok := packages[p]; !ok {
			t.Errorf("package %s is in no layer: add it to the table in layering_test.go with the layer it belongs to", p)
		}
	}
	for p, ln := range packages {
		info, ok := pkgs[p]
		if !ok {
			t.Errorf("the table lists %s, which does not exist", p)
			continue
		}
		l, ok := byName[ln]
		if !ok {
			t.Errorf("%s: unknown layer %s", p, ln)
			continue
		}
		for _, imp := range info.imports {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			to := packages[strings.TrimPrefix(imp, module)]
			if _, ok := l.may[to]; !ok {
				t.Errorf("%s (%s) imports %s (%s): layer %s may import only %v", p, ln, imp, to, ln, keys(l.may))
			}
		}
		if l.pure {
			for _, d := range info.deps {
				if d == "net/http" || d == "database/sql" {
					t.Errorf("%s (%s, %s) depends on %s", p, ln, l.why, d)
				}
			}
		}
	}
}

// statSources stats every Go file of the module. The go command caches a
// test's result until a file the test opened or stat'ed changes; go list
// runs in another process, so without this a new import would pass from
// the cache.
func statSources(t *testing.T) {
	t.Helper()
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != "../.." {
			return filepath.SkipDir
		}
		if strings.HasSuffix(path, ".go") || d.Name() == "go.mod" {
			_, err = os.Stat(path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func keys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
