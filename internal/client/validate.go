package client

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/kernel"
)

// MaxNameLen is the longest client name, in characters.
const MaxNameLen = 128

// maxRedirectURILen bounds a redirect URI, in bytes.
const maxRedirectURILen = 2000

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w "+format, append([]any{kernel.ErrInvalid}, args...)...)
}

// validate checks a registration: every problem found is an error
// wrapping kernel.ErrInvalid that names its field (kernel.FieldError,
// with the admin API's names), joined.
func (s *Service) validate(in NewClient) error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, kernel.InvalidField(field, format, args...))
	}

	if in.Name == "" || utf8.RuneCountInString(in.Name) > MaxNameLen || !utf8.ValidString(in.Name) {
		bad("name", "name %q: want 1 to %d characters", in.Name, MaxNameLen)
	} else if strings.TrimSpace(in.Name) != in.Name || strings.ContainsFunc(in.Name, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		bad("name", "name %q: no control characters or leading or trailing spaces", in.Name)
	}

	if len(in.GrantTypes) == 0 {
		bad("grant_types", "grant types: want %s, %s or both", GrantClientCredentials, GrantAuthorizationCode)
	}
	for i, g := range in.GrantTypes {
		switch {
		case g == GrantRefreshToken:
			bad("grant_types", "grant type %s: not registered on its own; a client with %s may refresh its tokens", g, GrantAuthorizationCode)
		case g != GrantClientCredentials && g != GrantAuthorizationCode:
			bad("grant_types", "grant type %q: want %s or %s", g, GrantClientCredentials, GrantAuthorizationCode)
		case slices.Contains(in.GrantTypes[:i], g):
			bad("grant_types", "grant type %s: listed twice", g)
		default:
			continue
		}
		break
	}

	if in.AuthMethod != AuthSecretBasic && in.AuthMethod != AuthSecretPost {
		bad("auth_method", "auth method %q: want %s or %s", in.AuthMethod, AuthSecretBasic, AuthSecretPost)
	}

	if len(in.Scopes) == 0 {
		bad("scopes", "scopes: want at least one scope of the catalog")
	}
	if s.Scopes == nil {
		return fmt.Errorf("client service has no scope catalog")
	}
	for i, sc := range in.Scopes {
		switch {
		case !s.Scopes.Has(sc):
			bad("scopes", "scope %q: not in the scope catalog (see `gatehouse admin scopes list`)", sc)
		case slices.Contains(in.Scopes[:i], sc):
			bad("scopes", "scope %s: listed twice", sc)
		default:
			continue
		}
		break
	}

	code := slices.Contains(in.GrantTypes, GrantAuthorizationCode)
	switch {
	case code && len(in.RedirectURIs) == 0:
		bad("redirect_uris", "redirect URIs: the %s grant needs at least one", GrantAuthorizationCode)
	case !code && len(in.RedirectURIs) > 0:
		bad("redirect_uris", "redirect URIs: only the %s grant takes them", GrantAuthorizationCode)
	}
	for i, u := range in.RedirectURIs {
		if err := validateRedirectURI(u); err != nil {
			errs = append(errs, kernel.AsInvalidField("redirect_uris", err))
			break
		}
		if slices.Contains(in.RedirectURIs[:i], u) {
			bad("redirect_uris", "redirect URI %q: listed twice", u)
			break
		}
	}

	switch {
	case in.IDTokenAlg != "" && !slices.Contains(IDTokenAlgs, in.IDTokenAlg):
		bad("id_token_signed_response_alg", "ID token algorithm %q: want %s", in.IDTokenAlg, strings.Join(IDTokenAlgs, ", "))
	case in.IDTokenAlg != "" && !code:
		bad("id_token_signed_response_alg", "ID token algorithm: only the %s grant issues ID tokens", GrantAuthorizationCode)
	}
	if !code && len(in.PostLogoutRedirectURIs) > 0 {
		bad("post_logout_redirect_uris", "post-logout redirect URIs: only the %s grant takes them", GrantAuthorizationCode)
	}
	for i, u := range in.PostLogoutRedirectURIs {
		if err := validateRedirectURI(u); err != nil {
			errs = append(errs, kernel.AsInvalidField("post_logout_redirect_uris", err))
			break
		}
		if slices.Contains(in.PostLogoutRedirectURIs[:i], u) {
			bad("post_logout_redirect_uris", "post-logout redirect URI %q: listed twice", u)
			break
		}
	}

	if d := in.AccessTokenTTL; d != 0 && (d < MinAccessTokenTTL || d > MaxAccessTokenTTL) {
		bad("access_token_ttl", "access token TTL %s: want 0 (the team's) or from %s to %s", d, MinAccessTokenTTL, MaxAccessTokenTTL)
	}
	return errors.Join(errs...)
}

// validateRedirectURI checks a redirect URI (RFC 6749 section 3.1.2): an
// absolute https URI without fragment or userinfo, or http on a loopback
// host (RFC 8252 section 7.3) for native and development clients. It must
// be plain ASCII without spaces, since the authorization request must
// match it exactly.
func validateRedirectURI(raw string) error {
	if raw == "" || len(raw) > maxRedirectURILen {
		return invalid("redirect URI %q: want an absolute URI of at most %d bytes", raw, maxRedirectURILen)
	}
	for i := 0; i < len(raw); i++ {
		if b := raw[i]; b <= ' ' || b >= 0x7f {
			return invalid("redirect URI %q: spaces, control and non-ASCII characters must be percent-encoded", raw)
		}
	}
	if strings.Contains(raw, "#") {
		return invalid("redirect URI %q: must not have a fragment", raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return invalid("redirect URI %q: %v", raw, err)
	}
	if !u.IsAbs() || u.Opaque != "" || u.Host == "" {
		return invalid("redirect URI %q: want an absolute URI such as https://app.example.com/callback", raw)
	}
	if u.User != nil {
		return invalid("redirect URI %q: must not have userinfo", raw)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !loopback(u.Hostname()) {
			return invalid("redirect URI %q: http only on a loopback host (127.0.0.1, [::1] or localhost); use https", raw)
		}
	default:
		return invalid("redirect URI %q: want https (or http on a loopback host)", raw)
	}
	return nil
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
