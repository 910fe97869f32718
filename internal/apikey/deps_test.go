package apikey_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The domain stays pure (STYLE.md "Shape"): nothing it imports, directly
// or not, serves HTTP or speaks SQL.
func TestNoHTTPOrSQL(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool:", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for dep := range strings.FieldsSeq(string(out)) {
		if dep == "net/http" || dep == "database/sql" {
			t.Errorf("internal/apikey depends on %s", dep)
		}
	}
}
