// Package required is the one rule for a test that needs something the
// machine may lack (a program, a package, a privilege): under CI=true,
// where .ci/run installs everything, it fails; elsewhere it is skipped,
// saying what is missing and how to get it.
package required

import (
	"fmt"
	"os"
	"testing"
)

// Missing ends tb because what it needs is missing: a failure under
// CI=true, a skip with the reason otherwise. format says what is missing
// and how to install it.
func Missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		tb.Fatalf("%s (required under CI=true)", msg)
	}
	tb.Skipf("%s (skipped; under CI=true this fails)", msg)
}
