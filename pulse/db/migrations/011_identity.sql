-- Users of the built-in identity provider. Operators have no tenant (tenant_id NULL), so pulse_app
-- never sees them; login looks users up as pulse_operator before any tenant is known.

CREATE TABLE users (
    user_id       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     text REFERENCES tenants ON DELETE CASCADE,
    username      text NOT NULL,
    email         text,
    display_name  text,
    password_hash text NOT NULL,           -- argon2id
    roles         text[] NOT NULL DEFAULT '{}'
                  CHECK (roles <@ ARRAY['customer', 'tenant-admin', 'operator', 'operator-admin']),
    status        text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'DISABLED')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz
);
CREATE UNIQUE INDEX users_username_uq ON users (lower(username));
CREATE INDEX users_tenant_idx ON users (tenant_id);
CREATE INDEX users_email_idx ON users (lower(email));
CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION pulse_touch_updated_at();
SELECT pulse_tenant_table('users');
