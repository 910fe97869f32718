-- OpenID Connect: a client's ID token algorithm (id_token_signed_response_alg,
-- '' for RS256) and its post-logout redirect URIs (space-separated, as the
-- redirect URIs); an authorization code's nonce and the time its user signed
-- in (auth_time), which the ID tokens of the code and of its refresh-token
-- family carry.
ALTER TABLE clients ADD COLUMN id_token_alg TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '';
ALTER TABLE auth_codes ADD COLUMN nonce TEXT NOT NULL DEFAULT '';
ALTER TABLE auth_codes ADD COLUMN auth_time BIGINT;
ALTER TABLE refresh_tokens ADD COLUMN auth_time BIGINT;
