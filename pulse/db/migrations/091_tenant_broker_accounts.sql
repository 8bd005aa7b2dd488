-- Broker logins of a tenant (issue 11): they may read the tenant's alerts (`alerts/{tenant}/#`, what the
-- MQTT notification channel publishes on Pulse's own broker) and nothing else. Only the broker's PBKDF2
-- hash of the password is kept; the password is shown once.
CREATE TABLE tenant_broker_accounts (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     text NOT NULL REFERENCES tenants ON DELETE CASCADE,
    username      text NOT NULL UNIQUE,
    password_hash text NOT NULL,
    label         text NOT NULL DEFAULT 'alerts',
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz
);
CREATE INDEX tenant_broker_accounts_tenant_idx ON tenant_broker_accounts (tenant_id);
SELECT pulse_tenant_table('tenant_broker_accounts');
