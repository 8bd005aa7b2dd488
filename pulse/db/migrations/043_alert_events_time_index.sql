-- The WebSocket feed reads a tenant's alert events by time (a watermark on the database clock with an
-- overlap, which also catches rows committed late); without this it would scan the tenant's history.
CREATE INDEX alert_events_tenant_time_idx ON alert_events (tenant_id, created_at);
