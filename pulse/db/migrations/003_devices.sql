-- Sites, the device registry and everything hanging off a device.

CREATE TABLE sites (
    tenant_id  text NOT NULL REFERENCES tenants ON DELETE CASCADE,
    site_id    text NOT NULL,
    name       text NOT NULL,
    location   text,
    latitude   double precision,
    longitude  double precision,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, site_id)   -- per tenant: two tenants may both have a site "hq"
);
CREATE TRIGGER sites_touch BEFORE UPDATE ON sites FOR EACH ROW EXECUTE FUNCTION pulse_touch_updated_at();
SELECT pulse_tenant_table('sites');

-- The old provision_token (plain text) column is intentionally absent: only the SHA-256 hash is kept.
CREATE TABLE device_registry (
    tenant_id            text NOT NULL REFERENCES tenants ON DELETE CASCADE,
    device_id            text NOT NULL,
    site_id              text NOT NULL,
    status               text NOT NULL DEFAULT 'ACTIVE'
                         CHECK (status IN ('ACTIVE', 'INACTIVE', 'SUSPENDED', 'REVOKED', 'DELETED')),
    provision_token_hash text,
    metadata             jsonb NOT NULL DEFAULT '{}',
    provisioned_at       timestamptz,
    device_pubkey        text,
    fw_version           text,
    latitude             double precision,
    longitude            double precision,
    address              text,
    location_source      text DEFAULT 'auto' CHECK (location_source IN ('auto', 'manual')),
    mac_address          text,
    imei                 text,
    iccid                text,
    serial_number        text,
    model                text,
    manufacturer         text,
    hw_revision          text,
    notes                text,
    device_type          text,
    subscription_id      text,
    decommissioned_at    timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, device_id),
    -- same-tenant subscription; deleting it detaches the device instead of deleting it
    FOREIGN KEY (tenant_id, subscription_id) REFERENCES subscriptions (tenant_id, subscription_id)
        ON DELETE SET NULL (subscription_id)
);
CREATE INDEX device_registry_site_idx ON device_registry (tenant_id, site_id);
CREATE INDEX device_registry_status_idx ON device_registry (tenant_id, status);
CREATE INDEX device_registry_token_hash_idx ON device_registry (provision_token_hash)
    WHERE provision_token_hash IS NOT NULL;
CREATE INDEX device_registry_subscription_idx ON device_registry (tenant_id, subscription_id)
    WHERE subscription_id IS NOT NULL;
CREATE TRIGGER device_registry_touch BEFORE UPDATE ON device_registry
    FOR EACH ROW EXECUTE FUNCTION pulse_touch_updated_at();
SELECT pulse_tenant_table('device_registry');

-- Written by the evaluator only. OFFLINE is the default for a device never heard from.
CREATE TABLE device_state (
    tenant_id            text NOT NULL,
    device_id            text NOT NULL,
    site_id              text NOT NULL,
    status               text NOT NULL DEFAULT 'OFFLINE' CHECK (status IN ('ONLINE', 'STALE', 'OFFLINE')),
    last_heartbeat_at    timestamptz,
    last_telemetry_at    timestamptz,
    last_seen_at         timestamptz,
    last_state_change_at timestamptz NOT NULL DEFAULT now(),
    state                jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (tenant_id, device_id),
    FOREIGN KEY (tenant_id, device_id) REFERENCES device_registry ON DELETE CASCADE
);
CREATE INDEX device_state_site_idx ON device_state (tenant_id, site_id);
CREATE INDEX device_state_status_idx ON device_state (tenant_id, status);
SELECT pulse_tenant_table('device_state');

-- Wake-up for WebSocket pushes: one NOTIFY per tenant per statement (PostgreSQL also folds
-- identical notifications within a transaction), not one per row. Transition tables allow only
-- one event per trigger, hence two triggers.
CREATE OR REPLACE FUNCTION device_state_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('device_state_changed', t.tenant_id)
    FROM (SELECT DISTINCT tenant_id FROM changed_rows) t;
    RETURN NULL;
END $$;
CREATE TRIGGER device_state_notify_insert AFTER INSERT ON device_state
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION device_state_notify();
CREATE TRIGGER device_state_notify_update AFTER UPDATE ON device_state
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION device_state_notify();

CREATE TABLE device_tags (
    tenant_id text NOT NULL,
    device_id text NOT NULL,
    tag       text NOT NULL,
    PRIMARY KEY (tenant_id, device_id, tag),
    FOREIGN KEY (tenant_id, device_id) REFERENCES device_registry ON DELETE CASCADE
);
CREATE INDEX device_tags_tag_idx ON device_tags (tenant_id, tag);
SELECT pulse_tenant_table('device_tags');

CREATE TABLE device_groups (
    tenant_id   text NOT NULL REFERENCES tenants ON DELETE CASCADE,
    group_id    text NOT NULL,
    name        text NOT NULL,
    description text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, group_id)
);
CREATE TRIGGER device_groups_touch BEFORE UPDATE ON device_groups
    FOR EACH ROW EXECUTE FUNCTION pulse_touch_updated_at();
SELECT pulse_tenant_table('device_groups');

CREATE TABLE device_group_members (
    tenant_id text NOT NULL,
    group_id  text NOT NULL,
    device_id text NOT NULL,
    added_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, group_id, device_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES device_groups ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, device_id) REFERENCES device_registry ON DELETE CASCADE
);
CREATE INDEX device_group_members_device_idx ON device_group_members (tenant_id, device_id);
SELECT pulse_tenant_table('device_group_members');

-- Per-device client_id/secret pairs for the API (secret stored hashed).
CREATE TABLE device_api_tokens (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id  text NOT NULL,
    device_id  text NOT NULL,
    client_id  text NOT NULL UNIQUE,
    token_hash text NOT NULL,
    label      text NOT NULL DEFAULT 'default',
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    FOREIGN KEY (tenant_id, device_id) REFERENCES device_registry ON DELETE CASCADE
);
CREATE INDEX device_api_tokens_device_idx ON device_api_tokens (tenant_id, device_id);
SELECT pulse_tenant_table('device_api_tokens');

CREATE TABLE device_extended_attributes (
    tenant_id  text NOT NULL,
    device_id  text NOT NULL,
    attributes jsonb NOT NULL DEFAULT '{}',
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, device_id),
    FOREIGN KEY (tenant_id, device_id) REFERENCES device_registry ON DELETE CASCADE
);
CREATE TRIGGER device_extended_attributes_touch BEFORE UPDATE ON device_extended_attributes
    FOR EACH ROW EXECUTE FUNCTION pulse_touch_updated_at();
SELECT pulse_tenant_table('device_extended_attributes');

-- Provisioning: one-time activation codes, exchanged for a provision token. Both stored as hashes.
CREATE TABLE device_activation (
    id                   bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    tenant_id            text NOT NULL,
    device_id            text NOT NULL,
    activation_code_hash text NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    expires_at           timestamptz NOT NULL,
    used_at              timestamptz,
    FOREIGN KEY (tenant_id, device_id) REFERENCES device_registry ON DELETE CASCADE
);
CREATE INDEX device_activation_device_idx ON device_activation (tenant_id, device_id, created_at DESC);
SELECT pulse_tenant_table('device_activation');

CREATE TABLE device_token_history (
    id         bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    tenant_id  text NOT NULL,
    device_id  text NOT NULL,
    token_hash text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    reason     text,
    FOREIGN KEY (tenant_id, device_id) REFERENCES device_registry ON DELETE CASCADE
);
CREATE INDEX device_token_history_device_idx ON device_token_history (tenant_id, device_id, created_at DESC);
SELECT pulse_tenant_table('device_token_history');
