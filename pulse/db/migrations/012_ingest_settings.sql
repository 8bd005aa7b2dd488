-- Per-tenant ingest ceiling (a tenant's devices together), read live by ingest alongside the
-- per-device RATE_LIMIT_* keys.
INSERT INTO app_settings (key, value) VALUES
    ('TENANT_RATE_LIMIT_RPS', '5000'),
    ('TENANT_RATE_LIMIT_BURST', '10000')
ON CONFLICT (key) DO NOTHING;

-- Quarantine is queried per device ("why is my sensor rejected?").
CREATE INDEX quarantine_events_device_time_idx ON quarantine_events (tenant_id, device_id, ingested_at DESC);
