// Package adminclient is a Go client of a Gatehouse team's admin API
// (/api/admin/), for operators' programs and infrastructure tools: it
// registers and rotates OAuth clients, manages applications, static keys,
// users, groups, permissions, the static-key policy, signing keys and the
// team's settings, as the API's reference in Gatehouse's README says.
//
// A Client is made for one team's URL and a credential: a token the
// caller has (WithToken), or an OAuth client's id and secret, with which
// the Client gets a team.admin token itself (client_credentials) and gets
// a new one before it expires (WithClientCredentials):
//
//	c, err := adminclient.New("https://acme.gatehouse.example",
//		adminclient.WithClientCredentials(os.Getenv("GATEHOUSE_CLIENT_ID"), os.Getenv("GATEHOUSE_CLIENT_SECRET")))
//	created, err := c.CreateClient(ctx, adminclient.NewClient{Name: "etl",
//		GrantTypes: []string{"client_credentials"}, AuthMethod: "client_secret_basic", Scopes: []string{"audit.log:read"}})
//
// An error of the API is an *Error: its Status, and the RFC 9457 problem
// details (with each invalid field for a 422). Hosts under ".localhost"
// are dialed on the loopback address, as browsers do (RFC 6761), so
// "http://acme.localhost:8080" works without DNS.
package adminclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Client calls one team's admin API. It is safe for concurrent use.
type Client struct {
	base   *url.URL
	http   *http.Client
	token  string
	id     string
	secret string

	mu      sync.Mutex
	cached  string
	expires time.Time
}

// Option configures a Client.
type Option func(*Client)

// WithToken authenticates with a token the caller has: an access token
// with scope team.admin, or a user API key.
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// WithClientCredentials authenticates as an OAuth client: the Client gets
// team.admin tokens with its id and secret (HTTP Basic,
// client_secret_basic) from the team's token endpoint.
func WithClientCredentials(id, secret string) Option {
	return func(c *Client) { c.id, c.secret = id, secret }
}

// WithHTTPClient sends the requests through hc instead of a client of the
// package's own (which dials hosts under .localhost on loopback).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// New returns a Client of the team at teamURL, such as
// "https://acme.gatehouse.example".
func New(teamURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(teamURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" {
		return nil, fmt.Errorf("adminclient: team URL %q: want the team's URL, such as https://acme.gatehouse.example", teamURL)
	}
	c := &Client{base: u}
	for _, o := range opts {
		o(c)
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: 30 * time.Second, Transport: LoopbackTransport()}
	}
	if c.token == "" && c.id == "" {
		return nil, errors.New("adminclient: no credential: give WithToken or WithClientCredentials")
	}
	return c, nil
}

// Team is the team's name: the first label of its host.
func (c *Client) Team() string {
	host, _, _ := strings.Cut(c.base.Hostname(), ".")
	return host
}

// LoopbackTransport is an http.Transport that dials every host under
// ".localhost" (and "localhost") on the loopback address, as RFC 6761
// section 6.3 lets clients do, keeping the name for the Host header.
func LoopbackTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	d := &net.Dialer{Timeout: 10 * time.Second}
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err == nil && (strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost")) {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
		return d.DialContext(ctx, network, addr)
	}
	return t
}

// Error is an answer of the API other than success: its status and its
// RFC 9457 problem details (or the RFC 6750 error of a refused
// credential).
type Error struct {
	Status int
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Detail string       `json:"detail"`
	Fields []FieldIssue `json:"errors"`
	// Code is the RFC 6750 or RFC 6749 error code of a refusal of the
	// credential ("invalid_token", "insufficient_scope", ...).
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

// FieldIssue names an invalid field of a request and what is wrong.
type FieldIssue struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

func (e *Error) Error() string {
	switch {
	case e.Detail != "":
		return e.Detail
	case e.Description != "":
		return e.Description
	}
	return fmt.Sprintf("%d %s", e.Status, http.StatusText(e.Status))
}

// credential returns the Authorization header's value.
func (c *Client) credential(ctx context.Context) (string, error) {
	if c.token != "" {
		return "Bearer " + c.token, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cached != "" && time.Now().Before(c.expires) {
		return "Bearer " + c.cached, nil
	}
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"team.admin"}}
	req, err := http.NewRequestWithContext(ctx, "POST", c.base.String()+"/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(c.id), url.QueryEscape(c.secret))
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("adminclient: get a token: %w", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		e := &Error{Status: resp.StatusCode}
		json.Unmarshal(raw, e)
		return "", fmt.Errorf("adminclient: get a token: %w", e)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.Unmarshal(raw, &tok); err != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("adminclient: get a token: no access token in %q", raw)
	}
	c.cached = tok.AccessToken
	// Renewed a little before it expires, so that no request carries an
	// expired token.
	c.expires = time.Now().Add(time.Duration(tok.ExpiresIn)*time.Second - 30*time.Second)
	return "Bearer " + c.cached, nil
}

// do sends method path with body (JSON; nil for none) and decodes the
// answer into out (nil: none). headers are name, value pairs.
func (c *Client) do(ctx context.Context, method, path string, body, out any, headers ...string) (http.Header, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] != "" {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	cred, err := c.credential(ctx)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", cred)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		e := &Error{Status: resp.StatusCode}
		json.Unmarshal(raw, e) // a body that is no problem leaves the status
		return resp.Header, e
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.Header, fmt.Errorf("adminclient: %s %s: %w", method, path, err)
		}
	}
	return resp.Header, nil
}

// Page selects a page of a listing: at most Limit items (0: the API's
// default, 50) after the Cursor of the previous page.
type Page struct {
	Limit  int
	Cursor string
}

func (p Page) values(v url.Values) string {
	if p.Limit > 0 {
		v.Set("limit", fmt.Sprint(p.Limit))
	}
	if p.Cursor != "" {
		v.Set("cursor", p.Cursor)
	}
	for k, x := range v {
		if len(x) == 1 && x[0] == "" {
			delete(v, k)
		}
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// List is a page of a listing; NextCursor is "" on the last page.
type List[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// All pages through a listing from its first page and returns every item.
func All[T any](ctx context.Context, page func(ctx context.Context, p Page) (List[T], error)) ([]T, error) {
	var out []T
	p := Page{Limit: 1000}
	for {
		l, err := page(ctx, p)
		if err != nil {
			return nil, err
		}
		out = append(out, l.Items...)
		if l.NextCursor == "" {
			return out, nil
		}
		p.Cursor = l.NextCursor
	}
}

func esc(s string) string { return url.PathEscape(s) }
