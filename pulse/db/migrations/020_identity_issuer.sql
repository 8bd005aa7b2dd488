-- The built-in OpenID Connect issuer: signing keys, authorization codes, refresh tokens, API clients
-- and the login throttle.
--
-- None of these tables has a tenant_id: the issuer works before any tenant is known (login looks a
-- user up by name), so they are global tables that only pulse_operator can read. A code, a refresh
-- token or an API client points at a `users` row, and the tenant and roles always come from that
-- row when a token is minted, so disabling a user or changing their roles takes effect at the next
-- refresh. Secrets (codes, refresh tokens, client secrets) are stored as SHA-256 hashes of random
-- values of at least 256 bits.

-- A person logs in with a password; a service account only through an API client
-- (client_credentials) and never through the login page.
ALTER TABLE users ADD COLUMN kind text NOT NULL DEFAULT 'person' CHECK (kind IN ('person', 'service'));

-- JWKS serves the current key and the keys retired less than one access-token lifetime ago, so
-- tokens signed just before a rotation stay verifiable until they expire.
CREATE TABLE signing_keys (
    kid         text PRIMARY KEY,
    algorithm   text NOT NULL CHECK (algorithm IN ('RS256')),
    private_pem text NOT NULL,          -- PKCS#8, encrypted with PULSE_SIGNING_KEY_SECRET when set
    encrypted   boolean NOT NULL,
    public_jwk  jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    retired_at  timestamptz
);
-- at most one current key
CREATE UNIQUE INDEX signing_keys_one_current_uq ON signing_keys ((true)) WHERE retired_at IS NULL;
SELECT pulse_global_table('signing_keys');

CREATE TABLE oauth_auth_codes (
    code_hash      text PRIMARY KEY,
    client_id      text NOT NULL,
    user_id        uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    redirect_uri   text NOT NULL,
    code_challenge text NOT NULL,       -- S256 only
    scope          text NOT NULL,
    nonce          text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    used_at        timestamptz
);
CREATE INDEX oauth_auth_codes_expiry_idx ON oauth_auth_codes (expires_at);
SELECT pulse_global_table('oauth_auth_codes');

-- Rotating refresh tokens. Each use marks the token used and issues its successor in the same
-- family; presenting a used token again means it was stolen, so the whole family is revoked.
CREATE TABLE oauth_refresh_tokens (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    family_id     uuid NOT NULL,
    user_id       uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    client_id     text NOT NULL,
    token_hash    text NOT NULL UNIQUE,
    scope         text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz,
    revoked_at    timestamptz,
    revoke_reason text
);
CREATE INDEX oauth_refresh_tokens_family_idx ON oauth_refresh_tokens (family_id);
CREATE INDEX oauth_refresh_tokens_user_idx ON oauth_refresh_tokens (user_id);
CREATE INDEX oauth_refresh_tokens_expiry_idx ON oauth_refresh_tokens (expires_at);
SELECT pulse_global_table('oauth_refresh_tokens');

-- Credentials for scripts and integrations (client_credentials grant). The client acts as its
-- service-account user, which carries the tenant and the one role the client was created with.
CREATE TABLE api_clients (
    client_id    text PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    name         text NOT NULL,
    secret_hash  text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    created_by   text,
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_clients_user_idx ON api_clients (user_id);
SELECT pulse_global_table('api_clients');

-- Failed logins counted per fixed window, per user name and per client address, shared by every
-- API process. Keys for unknown user names are counted too, so throttling reveals nothing.
CREATE TABLE login_throttle (
    scope        text NOT NULL CHECK (scope IN ('user', 'ip')),
    key          text NOT NULL,
    window_start timestamptz NOT NULL,
    failures     integer NOT NULL DEFAULT 0,
    PRIMARY KEY (scope, key, window_start)
);
CREATE INDEX login_throttle_window_idx ON login_throttle (window_start);
SELECT pulse_global_table('login_throttle');
