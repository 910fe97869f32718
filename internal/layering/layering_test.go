package layering

import (
	"os/exec"
	"strings"
	"testing"
)

// domain lists the packages of domain logic: none may depend, directly or
// not, on HTTP or on SQL. Handlers (oauth, access, webui, teamapi,
// gateway, server) and storage (store/sqlstore) are where those live.
var domain = []string{
	"admin", "statickey", "auditlog", "authz", "change", "client", "consent", "denylist",
	"masterkey", "ratelimit", "scope", "secret", "signing", "store", "team", "token",
}

var forbidden = []string{"net/http", "database/sql"}

func TestDomainPackagesAreFreeOfHTTPAndSQL(t *testing.T) {
	args := []string{"list", "-deps", "-f", "{{.ImportPath}}"}
	for _, p := range domain {
		t.Run(p, func(t *testing.T) {
			out, err := exec.Command("go", append(args, "github.com/gatehouse/gatehouse/internal/"+p)...).Output()
			if err != nil {
				t.Fatalf("go list: %v", err)
			}
			for dep := range strings.Lines(string(out)) {
				dep = strings.TrimSpace(dep)
				for _, f := range forbidden {
					if dep == f {
						t.Errorf("internal/%s depends on %s", p, f)
					}
				}
			}
		})
	}
}
