package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/kernel"
	"github.com/gatehouse/gatehouse/internal/required"
	"github.com/gatehouse/gatehouse/internal/servertest"
)

// nodeProject returns node and the directory of the openid-client relying
// party (testdata/oidc-node), installed from its lockfile (npm ci) when it
// is not yet. Without Node.js 20 or later and npm, or when the install
// fails (no registry), the test is skipped with the reason, except under
// CI=true, where it fails: .ci/run installs the project first.
func nodeProject(t *testing.T) (node, dir string) {
	t.Helper()
	missing := func(format string, args ...any) { t.Helper(); required.Missing(t, format, args...) }
	dir, err := filepath.Abs(filepath.Join("testdata", "oidc-node"))
	if err != nil {
		t.Fatal(err)
	}
	node, err = exec.LookPath("node")
	if err != nil {
		missing("node is not installed (Node.js 20 or later runs the openid-client relying party)")
	}
	out, err := exec.Command(node, "--version").Output()
	major, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimSpace(string(out)), "v"), ".")
	if n, perr := strconv.Atoi(major); err != nil || perr != nil || n < 20 {
		missing("node %q is older than Node.js 20 (%v)", bytes.TrimSpace(out), err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "openid-client", "package.json")); err == nil {
		return node, dir
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		missing("npm is not installed, and %s/node_modules is missing", dir)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		missing("npm ci in %s: %v\n%s", dir, err, out)
	}
	return node, dir
}

// nodeRP is a run of the openid-client relying party (testdata/oidc-node/rp.mjs).
type nodeRP struct {
	t      *testing.T
	cmd    *exec.Cmd
	in     *json.Encoder
	out    *bufio.Scanner
	stderr bytes.Buffer
}

func startNodeRP(t *testing.T, node, dir string, env ...string) *nodeRP {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	r := &nodeRP{t: t, cmd: exec.CommandContext(ctx, node, "rp.mjs")}
	r.cmd.Dir = dir
	r.cmd.Env = append(os.Environ(), env...)
	r.cmd.Stderr = &r.stderr
	stdin, err := r.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	r.in, r.out = json.NewEncoder(stdin), bufio.NewScanner(stdout)
	r.out.Buffer(nil, 1<<20)
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		r.cmd.Wait()
	})
	return r
}

// next reads the relying party's next step into v and returns its name.
func (r *nodeRP) next(v any) string {
	r.t.Helper()
	if !r.out.Scan() {
		r.cmd.Wait()
		r.t.Fatalf("the relying party stopped (%v):\n%s", r.cmd.ProcessState, r.stderr.String())
	}
	var step struct{ Step string }
	if err := json.Unmarshal(r.out.Bytes(), &step); err != nil {
		r.t.Fatalf("relying party said %q: %v", r.out.Text(), err)
	}
	if err := json.Unmarshal(r.out.Bytes(), v); err != nil {
		r.t.Fatal(err)
	}
	return step.Step
}

// The certified Node.js relying-party library openid-client (npm) against a
// real server, through the real sign-in and consent pages: discovery, the
// authorization code flow with PKCE, state, iss (RFC 9207), nonce and
// max_age, an ID token whose signature it checks against the JWKS for each
// algorithm a client may register, the userinfo endpoint, a refresh with a
// new ID token, and RP-initiated logout.
func TestOIDCNodeOpenIDClient(t *testing.T) {
	node, dir := nodeProject(t)
	for _, alg := range []string{"", "ES256", "ES384", "EdDSA"} {
		name := alg
		if name == "" {
			name = "default RS256"
		}
		t.Run(name, func(t *testing.T) {
			h := servertest.Start(t, servertest.WithDomainPort())
			e := &oidcEnv{flowEnv: flowEnvOn(t, h)}
			c, sec, err := e.clients.Create(context.Background(), kernel.CLI, "acme", client.NewClient{
				Name: "Node RP", GrantTypes: []string{client.GrantAuthorizationCode}, AuthMethod: client.AuthSecretBasic,
				Scopes: []string{"openid", "profile", "email"}, RedirectURIs: []string{appRedirect}, IDTokenAlg: alg,
				PostLogoutRedirectURIs: []string{rpLogout}})
			if err != nil {
				t.Fatal(err)
			}
			issuer := h.TeamURL("acme", "")
			rp := startNodeRP(t, node, dir, "ISSUER="+issuer, "CLIENT_ID="+c.ID, "CLIENT_SECRET="+sec.Reveal(),
				"REDIRECT_URI="+appRedirect, "POST_LOGOUT_REDIRECT_URI="+rpLogout, "ID_TOKEN_ALG="+alg, "TEST_DOMAIN="+servertest.Domain)

			var authorize struct{ URL string }
			if step := rp.next(&authorize); step != "authorize" || !strings.HasPrefix(authorize.URL, issuer+"/oauth2/authorize?") {
				t.Fatalf("step %s %s, want the authorization URL", step, authorize.URL)
			}
			b := e.browser(t)
			p := b.signIn(t, b.get(t, authorize.URL), e.user.Email, e.password)
			f := formFields(t, p, "/oauth2/authorize")
			f.Set("decision", "approve")
			callback := b.post(t, h.TeamURL("acme", "/oauth2/authorize"), f).location(t)
			if err := rp.in.Encode(map[string]string{"callback": callback.String()}); err != nil {
				t.Fatal(err)
			}

			var done struct {
				Header, Claims, Userinfo, Refreshed map[string]any
				Logout                              string
			}
			if step := rp.next(&done); step != "done" {
				t.Fatalf("step %s, want done:\n%s", step, rp.stderr.String())
			}
			wantAlg := alg
			if wantAlg == "" {
				wantAlg = "RS256"
			}
			if done.Header["alg"] != wantAlg || done.Header["typ"] != "JWT" {
				t.Errorf("ID token header %v, want %s", done.Header, wantAlg)
			}
			for k, want := range map[string]any{"iss": issuer, "sub": e.user.ID, "aud": c.ID, "email": e.user.Email, "name": e.user.Name} {
				if done.Claims[k] != want {
					t.Errorf("openid-client's ID token claim %s = %v, want %v", k, done.Claims[k], want)
				}
			}
			wantInfo := map[string]any{"sub": e.user.ID, "email": e.user.Email, "email_verified": false, "name": e.user.Name}
			if diff := cmp.Diff(wantInfo, done.Userinfo); diff != "" {
				t.Errorf("openid-client's userinfo (-want +got):\n%s", diff)
			}
			if done.Refreshed["auth_time"] != done.Claims["auth_time"] || done.Refreshed["nonce"] != nil {
				t.Errorf("refreshed ID token %v, first %v", done.Refreshed, done.Claims)
			}
			if err := rp.cmd.Wait(); err != nil {
				t.Fatalf("the relying party: %v\n%s", err, rp.stderr.String())
			}

			// The logout URL it built ends the session and comes back.
			loc := b.get(t, done.Logout).location(t)
			if loc.Scheme+"://"+loc.Host+loc.Path != rpLogout || loc.Query().Get("state") != "bye" {
				t.Errorf("after the logout: %s", loc)
			}
			if p := b.get(t, h.TeamURL("acme", "/profile")); p.url.Path != "/login" || p.status != http.StatusOK {
				t.Errorf("the profile after the logout: %d %s, want the sign-in page", p.status, p.url)
			}
		})
	}
}
