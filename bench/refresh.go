package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// The refresh scenario rotates refresh tokens under load. Refresh tokens
// come only from the authorization code flow, so the tool goes through
// it as a browser would, over HTTP with a cookie jar: GET
// /oauth2/authorize with PKCE, follow the redirects, fill in the login
// form and submit the consent form, until the redirect to the client's
// redirect URI carries the code; then it redeems the code for the first
// refresh token. Each worker gets a token family of its own and refreshes
// with the newest token of it, as a client must.
//
// The pages are read without knowing their markup: the tool takes the
// page's most likely form (the one with a password field, else the one
// whose button approves), fills the email and password fields, keeps the
// hidden ones (CSRF tokens), and presses the approving button.

// unavailableError says a scenario cannot run against this server, and
// why: it is reported, not counted as a failure.
type unavailableError struct{ reason string }

func (e *unavailableError) Error() string { return "unavailable: " + e.reason }

// authFlow drives the authorization code flow of one client and user.
type authFlow struct {
	host   string // the team host
	client codeClient
	hc     *http.Client
}

func newAuthFlow(addr, host string, c codeClient) (*authFlow, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		Proxy: nil,
		// Every team host is the server's loopback address.
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "tcp", addr)
		},
		MaxIdleConnsPerHost: 4,
	}
	hc := &http.Client{
		Transport: tr, Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &authFlow{host: host, client: c, hc: hc}, nil
}

// maxSteps bounds the pages of one authorization.
const maxSteps = 12

// refreshToken goes through the flow and returns a new refresh token (of
// a new family).
func (f *authFlow) refreshToken(ctx context.Context) (string, error) {
	code, verifier, err := f.authorize(ctx)
	if err != nil {
		return "", err
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {f.client.redirect},
		"code_verifier": {verifier}}
	tr, err := f.token(ctx, form)
	if err != nil {
		return "", fmt.Errorf("redeem the code: %w", err)
	}
	if tr.RefreshToken == "" {
		return "", &unavailableError{"the token response to an authorization code carries no refresh_token"}
	}
	return tr.RefreshToken, nil
}

type tokenJSON struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	Error        string `json:"error"`
	Description  string `json:"error_description"`
}

func (f *authFlow) token(ctx context.Context, form url.Values) (tokenJSON, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", "http://"+f.host+"/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return tokenJSON{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", basicAuth(f.client.id, f.client.secret))
	resp, err := f.hc.Do(req)
	if err != nil {
		return tokenJSON{}, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var tr tokenJSON
	if err := json.Unmarshal(body, &tr); err != nil || resp.StatusCode != http.StatusOK {
		return tr, fmt.Errorf("POST /oauth2/token answered %d: %s", resp.StatusCode, snippet(body))
	}
	return tr, nil
}

// authorize goes from /oauth2/authorize to the redirect that carries the
// code, and returns the code and the PKCE verifier.
func (f *authFlow) authorize(ctx context.Context) (code, verifier string, err error) {
	verifier = randomText(32)
	sum := sha256.Sum256([]byte(verifier))
	state := randomText(8)
	q := url.Values{"response_type": {"code"}, "client_id": {f.client.id}, "redirect_uri": {f.client.redirect},
		"scope": {f.client.scope}, "state": {state}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"}}
	next, err := http.NewRequestWithContext(ctx, "GET", "http://"+f.host+"/oauth2/authorize?"+q.Encode(), nil)
	if err != nil {
		return "", "", err
	}
	for step := 0; step < maxSteps; step++ {
		resp, err := f.hc.Do(next)
		if err != nil {
			return "", "", fmt.Errorf("%s %s: %w", next.Method, next.URL.Path, err)
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		here := next.URL
		switch {
		case step == 0 && (resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed):
			return "", "", &unavailableError{fmt.Sprintf("GET /oauth2/authorize answered %d: the authorization code flow is not served", resp.StatusCode)}
		case resp.StatusCode >= 300 && resp.StatusCode < 400:
			loc, err := resp.Location()
			if err != nil {
				return "", "", fmt.Errorf("%s %s answered %d without a Location", next.Method, here.Path, resp.StatusCode)
			}
			if strings.HasPrefix(loc.String(), f.client.redirect) {
				return codeOf(loc, state, verifier)
			}
			if next, err = http.NewRequestWithContext(ctx, "GET", loc.String(), nil); err != nil {
				return "", "", err
			}
		case resp.StatusCode == http.StatusOK && strings.Contains(resp.Header.Get("Content-Type"), "html"):
			fm, ok := pickForm(string(body))
			if !ok {
				return "", "", fmt.Errorf("%s %s: a page without a form: %s", next.Method, here.Path, snippet(body))
			}
			if next, err = f.submit(ctx, here, fm); err != nil {
				return "", "", err
			}
		default:
			return "", "", fmt.Errorf("%s %s answered %d: %s", next.Method, here.Path, resp.StatusCode, snippet(body))
		}
	}
	return "", "", fmt.Errorf("no code after %d pages", maxSteps)
}

// codeOf reads the code from the redirect to the client.
func codeOf(loc *url.URL, state, verifier string) (string, string, error) {
	q := loc.Query()
	if e := q.Get("error"); e != "" {
		return "", "", fmt.Errorf("the authorization was refused: %s: %s", e, q.Get("error_description"))
	}
	if q.Get("state") != state {
		return "", "", fmt.Errorf("the redirect carries state %q, not %q", q.Get("state"), state)
	}
	if q.Get("code") == "" {
		return "", "", errors.New("the redirect carries no code")
	}
	return q.Get("code"), verifier, nil
}

// submit makes the request that submits fm, filled in, from page here.
func (f *authFlow) submit(ctx context.Context, here *url.URL, fm form) (*http.Request, error) {
	action, err := here.Parse(fm.action) // "" is the page itself
	if err != nil {
		return nil, fmt.Errorf("form action %q: %w", fm.action, err)
	}
	vals := fm.fill(f.client.email, f.client.password)
	var req *http.Request
	if strings.EqualFold(fm.method, "get") {
		action.RawQuery = vals.Encode()
		req, err = http.NewRequestWithContext(ctx, "GET", action.String(), nil)
	} else {
		req, err = http.NewRequestWithContext(ctx, "POST", action.String(), strings.NewReader(vals.Encode()))
		if req != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	if err != nil {
		return nil, err
	}
	// As a browser sends them: CSRF defences look at these.
	req.Header.Set("Origin", "http://"+f.host)
	req.Header.Set("Referer", here.String())
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return req, nil
}

// form is an HTML form as far as the flow needs it.
type form struct {
	action, method string
	inputs         []field
	buttons        []field
}

type field struct {
	typ, name, value, text string
	checked                bool
}

var (
	formRe   = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	inputRe  = regexp.MustCompile(`(?is)<input\b([^>]*)>`)
	buttonRe = regexp.MustCompile(`(?is)<button\b([^>]*)>(.*?)</button>`)
	attrRe   = regexp.MustCompile(`(?s)([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?`)
	tagRe    = regexp.MustCompile(`(?s)<[^>]*>`)
	approves = regexp.MustCompile(`(?i)allow|approve|accept|consent|authori[sz]e|grant|continue|confirm|yes|sign.?in|log.?in|submit`)
	denies   = regexp.MustCompile(`(?i)deny|decline|reject|cancel|refuse|\bno\b|logout|log.?out|sign.?out`)
)

func attrs(s string) map[string]string {
	m := map[string]string{}
	for _, a := range attrRe.FindAllStringSubmatch(s, -1) {
		m[strings.ToLower(a[1])] = html.UnescapeString(a[2] + a[3] + a[4])
	}
	return m
}

// parseForms reads the forms of a page.
func parseForms(page string) []form {
	var out []form
	for _, fm := range formRe.FindAllStringSubmatch(page, -1) {
		fa := attrs(fm[1])
		f := form{action: fa["action"], method: fa["method"]}
		if f.method == "" {
			f.method = "get"
		}
		for _, in := range inputRe.FindAllStringSubmatch(fm[2], -1) {
			a := attrs(in[1])
			_, checked := a["checked"]
			fd := field{typ: strings.ToLower(a["type"]), name: a["name"], value: a["value"], checked: checked}
			if fd.typ == "" {
				fd.typ = "text"
			}
			if fd.typ == "submit" || fd.typ == "image" || fd.typ == "button" {
				fd.text = fd.value
				f.buttons = append(f.buttons, fd)
				continue
			}
			f.inputs = append(f.inputs, fd)
		}
		for _, b := range buttonRe.FindAllStringSubmatch(fm[2], -1) {
			a := attrs(b[1])
			typ := strings.ToLower(a["type"])
			if typ == "" {
				typ = "submit"
			}
			if typ != "submit" {
				continue
			}
			text := strings.TrimSpace(html.UnescapeString(tagRe.ReplaceAllString(b[2], " ")))
			f.buttons = append(f.buttons, field{typ: typ, name: a["name"], value: a["value"], text: text})
		}
		out = append(out, f)
	}
	return out
}

// pickForm chooses the form to submit: a login form, else the one whose
// button approves, never a logout or a form that can only refuse.
func pickForm(page string) (form, bool) {
	best, bestScore := form{}, -1<<30
	for _, f := range parseForms(page) {
		score := 0
		for _, in := range f.inputs {
			if in.typ == "password" {
				score += 10
			}
		}
		if _, ok := f.button(); ok {
			score += 5
		}
		if denies.MatchString(f.action) {
			score -= 20
		}
		if score > bestScore {
			best, bestScore = f, score
		}
	}
	return best, bestScore > -1<<30
}

// button is the approving button of f, if it has one.
func (f form) button() (field, bool) {
	for _, b := range f.buttons {
		label := b.name + " " + b.value + " " + b.text
		if approves.MatchString(label) && !denies.MatchString(b.value+" "+b.text) {
			return b, true
		}
	}
	for _, b := range f.buttons {
		if !denies.MatchString(b.name + " " + b.value + " " + b.text) {
			return b, true
		}
	}
	return field{}, len(f.buttons) == 0 // a form without buttons submits as is
}

// fill fills in f's values as a person would: the email and password in
// their fields, hidden fields kept, checked boxes sent, and the approving
// button pressed.
func (f form) fill(email, password string) url.Values {
	v := url.Values{}
	for _, in := range f.inputs {
		if in.name == "" {
			continue
		}
		n := strings.ToLower(in.name)
		switch {
		case in.typ == "password":
			v.Add(in.name, password)
		case in.typ == "email" || (in.typ == "text" && (strings.Contains(n, "email") || strings.Contains(n, "user") || strings.Contains(n, "login"))):
			v.Add(in.name, email)
		case in.typ == "checkbox" || in.typ == "radio":
			if in.checked {
				val := in.value
				if val == "" {
					val = "on"
				}
				v.Add(in.name, val)
			}
		default:
			v.Add(in.name, in.value)
		}
	}
	if b, ok := f.button(); ok && b.name != "" {
		v.Add(b.name, b.value)
	}
	return v
}

func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// refreshSource is one worker of the refresh scenario: it refreshes with
// the newest token of its family. If the chain breaks (an answer other
// than a new refresh token), it starts a new family through the flow, at
// most maxRestarts times.
type refreshSource struct {
	ctx      context.Context
	flow     *authFlow
	host     string
	auth     string
	token    string
	broken   string // why the chain broke, "" if it holds
	restarts int
}

const maxRestarts = 3

func newRefreshSource(ctx context.Context, flow *authFlow, host string) (*refreshSource, error) {
	rt, err := flow.refreshToken(ctx)
	if err != nil {
		return nil, err
	}
	return &refreshSource{ctx: ctx, flow: flow, host: host, auth: basicAuth(flow.client.id, flow.client.secret), token: rt}, nil
}

func (s *refreshSource) next() ([]byte, error) {
	if s.broken != "" {
		if s.restarts >= maxRestarts {
			return nil, fmt.Errorf("refresh: the token chain broke %d times, last: %s", s.restarts+1, s.broken)
		}
		s.restarts++
		rt, err := s.flow.refreshToken(s.ctx)
		if err != nil {
			return nil, fmt.Errorf("refresh: a new token family after %s: %w", s.broken, err)
		}
		s.token, s.broken = rt, ""
	}
	body := "grant_type=refresh_token&refresh_token=" + url.QueryEscape(s.token)
	return rawRequest("POST", s.host, "/oauth2/token", []string{"Authorization: " + s.auth,
		"Content-Type: application/x-www-form-urlencoded", "Accept: application/json"}, []byte(body)), nil
}

func (s *refreshSource) observe(status int, body []byte) {
	if status != http.StatusOK {
		s.broken = fmt.Sprintf("HTTP %d: %s", status, snippet(body))
		return
	}
	var tr tokenJSON
	if err := json.Unmarshal(body, &tr); err != nil || tr.RefreshToken == "" {
		s.broken = "a refresh answered without a new refresh_token"
		return
	}
	s.token = tr.RefreshToken
}
