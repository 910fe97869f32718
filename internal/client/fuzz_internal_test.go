package client

import (
	"net/url"
	"strings"
	"testing"
)

// A redirect URI is registered by a team admin and shown on the consent
// page as its host; the browser goes to it exactly as registered. What
// validateRedirectURI accepts is https (or http on a loopback host),
// absolute, without userinfo or fragment, and names the same origin
// whether Go parses it or a browser does (which reads '\' as '/' and
// skips tabs and newlines), so that the page shows where the code goes.
func FuzzRedirectURI(f *testing.F) {
	for _, s := range []string{"https://app.example/cb", "http://127.0.0.1:8080/cb", "http://[::1]/cb", "http://localhost/cb",
		"http://app.example/cb", "https://app.example/cb#x", "https://user@app.example/cb", "https://app.example\\.evil.example/cb",
		"https://evil.example\\@app.example/cb", "https:app.example/cb", "https:///cb", "HTTPS://APP.EXAMPLE/cb",
		"http://127.0.0.1.evil.example/cb", "http://localhost.:80/cb", "custom:/cb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if validateRedirectURI(raw) != nil {
			return
		}
		u, err := url.Parse(raw)
		if err != nil || u.User != nil || u.Fragment != "" || u.Host == "" {
			t.Fatalf("accepted %q: %+v, %v", raw, u, err)
		}
		if u.Scheme != "https" && !(u.Scheme == "http" && loopback(u.Hostname())) {
			t.Errorf("accepted %q with scheme %q and host %q", raw, u.Scheme, u.Hostname())
		}
		b, err := url.Parse(strings.ReplaceAll(raw, `\`, "/"))
		if err != nil || b.Scheme != u.Scheme || b.Host != u.Host || b.User != nil {
			t.Errorf("accepted %q: Go reads host %q, a browser %v", raw, u.Host, b)
		}
	})
}
