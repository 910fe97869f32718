-- The purge deletes expired records in small batches (store.Purge): each
-- kind needs an index on the time that marks it expired, so that a batch
-- reads only the rows it deletes instead of scanning the table. Client
-- secrets and signing keys mostly never expire: their indexes hold only
-- the rows that do. (PostgreSQL keeps no change log table.)
CREATE INDEX IF NOT EXISTS audit_events_at ON audit_events (at);
CREATE INDEX IF NOT EXISTS login_events_at ON login_events (at);
CREATE INDEX IF NOT EXISTS auth_codes_expires_at ON auth_codes (expires_at);
CREATE INDEX IF NOT EXISTS refresh_tokens_family_expires_at ON refresh_tokens (family_expires_at);
CREATE INDEX IF NOT EXISTS revoked_tokens_expires_at ON revoked_tokens (expires_at);
CREATE INDEX IF NOT EXISTS grant_revocations_expires_at ON grant_revocations (expires_at);
CREATE INDEX IF NOT EXISTS client_secrets_expires_at ON client_secrets (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS signing_keys_delete_after ON signing_keys (delete_after) WHERE delete_after IS NOT NULL;
