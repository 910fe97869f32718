package gateway_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/edge"
	"github.com/gatehouse/gatehouse/internal/gateway"
)

// rawGet sends "GET target" over a connection of its own, the target as
// it is (no client escapes or cleans it), and returns the status and, for
// a JSON answer, the error.
func rawGet(t *testing.T, srvURL, target string) (int, edge.ErrorBody) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(srvURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: acme.example.com\r\nConnection: close\r\n\r\n", target)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e edge.ErrorBody
	if resp.Header.Get("Content-Type") == "application/json" {
		e = errorBody(t, resp)
	}
	return resp.StatusCode, e
}

// TestPathLeavingThePrefix sends the paths an upstream could resolve
// outside the route's prefix, on every kind of wildcard: one the
// permission uses, one it does not, and a final {name...}. Each is
// refused 400 in the gateway's format before the authorizer or the
// upstream sees it; the plain paths around them pass.
func TestPathLeavingThePrefix(t *testing.T) {
	up := newRecorder(t, "files")
	auth := allowAll()
	_, gw := newGateway(t, proxyRoutes(up.URL, up.URL), auth)

	bad := []string{
		"..%5c..%5c",             // backslashes, escaped
		"..%5C..%5Cetc",          // upper case
		"%2e%2e",                 // ..
		"%2E%2e%5c",              // ..\
		"%252e%252e",             // double-escaped ..
		"%252e%252e%252f",        // double-escaped ../
		"%25",                    // a lone escaped '%'
		"a%255cb",                // double-escaped backslash
		"..;jsessionid=1",        // Tomcat's "..;"
		"%2e%2e;x",               // the same, escaped
		"...",                    // Windows trims to ".."
		".%20.",                  // ". ." likewise
		"%c0%ae%c0%ae",           // overlong UTF-8 dots
		"%ef%bc%8e%ef%bc%8e",     // FULLWIDTH FULL STOP twice
		"a%ef%bc%8fb",            // FULLWIDTH SOLIDUS
		"a%e2%88%95b",            // DIVISION SLASH
		"a%00b",                  // NUL
		"a%0d%0ab",               // CR LF
		"a%e2%80%8bb",            // ZERO WIDTH SPACE
		"a%2fb",                  // '/' escaped, lower case
		"%ff",                    // not UTF-8
		"a%5c..%5c..%5c..%5cetc", // ..\ deep
	}
	// Where the value goes: {version} (not in the permission), {id} (in
	// it) and the rest wildcard {path...}.
	places := []struct{ name, method, format string }{
		{"unused wildcard", "GET", "/v/%s/things/1"},
		{"used wildcard", "GET", "/v/1/things/%s"},
		{"rest wildcard", "GET", "/files/reports/%s/secret"},
		{"rest wildcard, last", "GET", "/files/reports/%s"},
	}
	for _, p := range places {
		for _, v := range bad {
			target := fmt.Sprintf(p.format, v)
			t.Run(p.name+" "+v, func(t *testing.T) {
				code, e := rawGet(t, gw.URL, target)
				if code != http.StatusBadRequest || e.Error != "invalid_request" || !strings.Contains(e.Description, "invalid path value") {
					t.Errorf("%s: %d %+v, want 400 invalid_request", target, code, e)
				}
			})
		}
	}
	// A backslash as it is, which no client sends unescaped.
	for _, target := range []string{`/v/..\..\/things/1`, `/files/a\..\..\b`} {
		if code, e := rawGet(t, gw.URL, target); code != http.StatusBadRequest || e.Error != "invalid_request" {
			t.Errorf("%s: %d %+v, want 400 invalid_request", target, code, e)
		}
	}
	if calls := auth.Calls(); len(calls) != 0 {
		t.Errorf("Authorize was called: %v", calls)
	}
	if n := up.hits.Load(); n != 0 {
		t.Fatalf("the upstream was called %d times", n)
	}

	// What is plain passes, escaped or not.
	for _, target := range []string{"/v/2.1/things/7", "/v/caf%C3%A9/things/7", "/files/a/b.c/..d", "/files/a/.well-known", "/v/a%20b/things/1"} {
		if code, _ := rawGet(t, gw.URL, target); code != http.StatusOK {
			t.Errorf("%s: status %d, want 200", target, code)
		}
	}
}

// allHeaders are the override and client-address headers, as callers
// send them and as CGI-style servers read them alike.
var allHeaders = []string{
	"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override", "X-Original-Method",
	"X-Original-URL", "X-Original-URI", "X-Rewrite-URL", "X-Envoy-Original-Path",
	"X-Real-IP", "True-Client-IP", "X-Client-IP", "Client-IP", "X-Cluster-Client-IP", "CF-Connecting-IP", "Fastly-Client-IP",
	"X-Forwarded-Port", "X-Forwarded-Prefix", "X-Forwarded-Server", "X-Forwarded-Uri", "X-Forwarded-Scheme", "X-Host",
	"x_http_method_override", "X_Original_URL", "x_real_ip", "X_Forwarded_For", "x_forwarded_host", "X_FORWARDED_PROTO",
}

// TestOverrideHeadersStripped checks that no header which makes an
// upstream act on another method, path, host or client address reaches
// it, unless the route passes it.
func TestOverrideHeadersStripped(t *testing.T) {
	up := newRecorder(t, "up")
	_, gw := newGateway(t, fmt.Sprintf(`
routes:
  - match: "GET /integration/read"
    scope: integration.data-pools
    permission: "read data-pools"
    upstream: %[1]s
  - match: "POST /integration/legacy"
    scope: integration.data-pools
    permission: "write data-pools"
    upstream: %[1]s
    pass_headers: [X-HTTP-Method-Override, X-Forwarded-Prefix]
`, up.URL), allowAll())

	send := func(method, path string) seen {
		t.Helper()
		req, _ := http.NewRequest(method, gw.URL+path, nil)
		for _, h := range allHeaders {
			req.Header[h] = []string{"DELETE"} // as sent, not canonicalized
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: status %d", method, path, resp.StatusCode)
		}
		return up.Last()
	}
	got := send("GET", "/integration/read")
	for k, v := range got.Header {
		if slices.ContainsFunc(allHeaders, func(h string) bool { return strings.EqualFold(h, k) }) && !strings.EqualFold(k, "X-Forwarded-For") &&
			!strings.EqualFold(k, "X-Forwarded-Host") && !strings.EqualFold(k, "X-Forwarded-Proto") {
			t.Errorf("upstream received %s: %q", k, v)
		}
	}
	if got.Method != "GET" {
		t.Errorf("upstream method %s", got.Method)
	}
	for _, h := range []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
		if v := got.Header.Values(h); len(v) != 1 || v[0] == "DELETE" {
			t.Errorf("upstream %s = %q, want the gateway's one value", h, v)
		}
	}
	for k := range got.Header {
		if strings.Contains(k, "_") {
			t.Errorf("upstream received %s", k)
		}
	}

	// The legacy route passes what it lists, and nothing else.
	got = send("POST", "/integration/legacy")
	for k, v := range got.Header {
		switch {
		case k == "X-Http-Method-Override" || k == "X-Forwarded-Prefix":
		case k == "X-Forwarded-For" || k == "X-Forwarded-Host" || k == "X-Forwarded-Proto":
			if len(v) != 1 || v[0] == "DELETE" {
				t.Errorf("upstream %s = %q, want the gateway's one value", k, v)
			}
		case slices.ContainsFunc(allHeaders, func(h string) bool { return strings.EqualFold(h, k) }):
			t.Errorf("upstream received %s: %q", k, v)
		}
	}
	if v := got.Header.Get("X-Http-Method-Override"); v != "DELETE" {
		t.Errorf("passed X-HTTP-Method-Override = %q", v)
	}
	if v := got.Header.Values("X_http_method_override"); v != nil {
		t.Errorf("the underscore spelling went through too: %q", v)
	}
}

// upstreamPage is an upstream that answers an HTML page with a script,
// Gatehouse's cookies and one of its own.
func upstreamPage(t *testing.T) *httptest.Server {
	t.Helper()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/html")
		for _, c := range []string{
			"gatehouse_login=planted; Path=/", "__Host-gatehouse_session=planted; Path=/; Secure",
			"GATEHOUSE_SESSION=x", "__Secure-gatehouse_x=1", " gatehouse_login =x", "gatehouse_login",
			"app=kept; Path=/app",
		} {
			h.Add("Set-Cookie", c)
		}
		h.Set("Clear-Site-Data", `"cookies", "storage"`)
		io.WriteString(w, "<script>fetch('/profile')</script>")
	}))
	t.Cleanup(up.Close)
	return up
}

// TestResponseOnSharedOrigin checks what the gateway lets an upstream's
// answer do: never set Gatehouse's cookies; on a shared origin, never
// run a script or clear the origin's data.
func TestResponseOnSharedOrigin(t *testing.T) {
	up := upstreamPage(t)
	routes := writeRoutes(t, "", oneRoute("/integration/page", up.URL))
	for _, own := range []bool{false, true} {
		t.Run(fmt.Sprintf("own origin %v", own), func(t *testing.T) {
			g, err := gateway.New(gateway.Options{Path: routes, Scopes: catalog(t), Auth: allowAll(), OwnOrigin: own})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(teamInfo(g))
			t.Cleanup(srv.Close)
			resp, err := http.Get(srv.URL + "/integration/page")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Values("Set-Cookie"); !slices.Equal(got, []string{"app=kept; Path=/app"}) {
				t.Errorf("Set-Cookie %q, want the upstream's own cookie only", got)
			}
			csp, nosniff, clear := resp.Header.Values("Content-Security-Policy"), resp.Header.Get("X-Content-Type-Options"), resp.Header.Get("Clear-Site-Data")
			if own {
				if csp != nil || clear == "" {
					t.Errorf("own origin: CSP %q, Clear-Site-Data %q: want the upstream's answer as it is", csp, clear)
				}
				return
			}
			if !slices.Equal(csp, []string{"sandbox"}) || nosniff != "nosniff" || clear != "" {
				t.Errorf("shared origin: CSP %q, X-Content-Type-Options %q, Clear-Site-Data %q; want sandbox, nosniff, none", csp, nosniff, clear)
			}
		})
	}
}

// TestBodyTimeout checks that an authorized caller must send its body
// within the route's body_timeout: a caller that stalls is answered 408
// in the gateway's format, and the upstream's connection is let go.
func TestBodyTimeout(t *testing.T) {
	upstreamDone := make(chan error, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.Copy(io.Discard, r.Body)
		upstreamDone <- err
	}))
	t.Cleanup(up.Close)
	_, gw := newGateway(t, fmt.Sprintf(`
routes:
  - match: "POST /integration/upload"
    scope: integration.data-pools
    permission: "write data-pools"
    upstream: %s
    body_timeout: 200ms
`, up.URL), allowAll())

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	pr, pw := io.Pipe()
	defer pw.Close()
	context.AfterFunc(ctx, func() { pw.CloseWithError(ctx.Err()) }) // a client blocked on the body returns
	go pw.Write([]byte("the first half, then nothing"))
	req, _ := http.NewRequestWithContext(ctx, "POST", gw.URL+"/integration/upload", pr)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("status %d, want 408", resp.StatusCode)
	}
	if e := errorBody(t, resp); e.Error != "request_timeout" || !strings.Contains(e.Description, "200ms") {
		t.Errorf("error %+v", e)
	}
	t.Logf("answered after %s", time.Since(start).Round(time.Millisecond))
	select {
	case err := <-upstreamDone:
		if err == nil {
			t.Error("the upstream read a whole body")
		}
	case <-ctx.Done():
		t.Error("the upstream still waits for the body")
	}
}

// TestMaxDuration checks that a call ends within the route's
// max_duration: one whose upstream never answers is 504, one whose
// answer never ends is cut, while a stream within it is whole.
func TestMaxDuration(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/integration/silent" {
			select {
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		io.WriteString(w, "first\n")
		http.NewResponseController(w).Flush()
		if r.URL.Path == "/integration/endless" {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}
		io.WriteString(w, "last\n")
	}))
	t.Cleanup(up.Close)
	route := func(path string) string {
		return fmt.Sprintf(`
  - match: "GET %s"
    scope: integration.data-pools
    permission: "read data-pools"
    upstream: %s
    max_duration: 300ms
`, path, up.URL)
	}
	_, gw := newGateway(t, "routes:"+route("/integration/silent")+route("/integration/endless")+route("/integration/short"), allowAll())

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	get := func(path string) (*http.Response, error) {
		req, _ := http.NewRequestWithContext(ctx, "GET", gw.URL+path, nil)
		return http.DefaultClient.Do(req)
	}

	resp, err := get("/integration/silent")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Errorf("silent upstream: status %d, want 504", resp.StatusCode)
	}
	if e := errorBody(t, resp); e.Error != "gateway_timeout" || !strings.Contains(e.Description, "300ms") {
		t.Errorf("silent upstream: error %+v", e)
	}
	resp.Body.Close()

	resp, err = get("/integration/endless")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "first\n" || err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("endless answer: %d %q %v; want the first line, then the answer cut before the test's deadline", resp.StatusCode, body, err)
	}

	resp, err = get("/integration/short")
	if err != nil {
		t.Fatal(err)
	}
	body, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(body) != "first\nlast\n" {
		t.Errorf("short answer: %q %v", body, err)
	}
}

// TestBodyLimitLiftedOnceAuthorized serves the gateway behind the
// server's body limit (edge.LimitBody), as the server does: an authorized
// call streams a body past it.
func TestBodyLimitLiftedOnceAuthorized(t *testing.T) {
	up := newRecorder(t, "pools")
	auth := allowAll()
	g, err := gateway.New(gateway.Options{Path: writeRoutes(t, "", proxyRoutes(up.URL, up.URL)), Scopes: catalog(t), Auth: auth})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(teamInfo(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		edge.LimitBody(w, r, 1024)
		g.ServeHTTP(w, r)
	})))
	t.Cleanup(srv.Close)

	big := strings.Repeat("x", 64<<10)
	resp, err := http.Post(srv.URL+"/integration/api/pools/42/push", "application/octet-stream", strings.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(up.Last().Body) != len(big) {
		t.Errorf("authorized: status %d, upstream got %d bytes; want 200 and %d", resp.StatusCode, len(up.Last().Body), len(big))
	}
}
