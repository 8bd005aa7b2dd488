-- The rest of the notification engine: every channel kind as an integration, ESCALATED events,
-- re-drive of dead letters, the notification log, and per-target rate limits.

-- Email, SNMP and MQTT integrations keep their whole config in config_json, validated by the channel
-- module like every other kind. The type-specific columns of the old schema stay (unused) so an old
-- dump still restores; their constraints would demand them, so they go.
ALTER TABLE integrations DROP CONSTRAINT integrations_snmp_config;
ALTER TABLE integrations DROP CONSTRAINT integrations_email_config;
ALTER TABLE integrations DROP CONSTRAINT integrations_mqtt_config;
ALTER TABLE integrations ADD CONSTRAINT integrations_config_object CHECK (jsonb_typeof(config_json) = 'object');
ALTER TABLE notification_channels ADD CONSTRAINT notification_channels_config_object
    CHECK (jsonb_typeof(config) = 'object');

-- ESCALATED: an open alert's escalation level went up. Whatever escalates (the escalation worker)
-- only updates alerts.escalation_level; the trigger turns that into the event, like every other one.
ALTER TABLE alert_events DROP CONSTRAINT alert_events_event_check;
ALTER TABLE alert_events ADD CONSTRAINT alert_events_event_check
    CHECK (event IN ('OPENED', 'UPDATED', 'ACKNOWLEDGED', 'ESCALATED', 'SILENCED', 'CLOSED'));

CREATE OR REPLACE FUNCTION alert_events_update() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    written bigint;
BEGIN
    WITH changed AS (
        SELECT n.tenant_id, n.id, n.status,
               CASE
                   WHEN n.status IS DISTINCT FROM o.status THEN
                       CASE n.status WHEN 'CLOSED' THEN 'CLOSED'
                                     WHEN 'ACKNOWLEDGED' THEN 'ACKNOWLEDGED'
                                     ELSE 'OPENED' END
                   WHEN n.escalation_level > o.escalation_level THEN 'ESCALATED'
                   WHEN n.silenced_until IS DISTINCT FROM o.silenced_until THEN 'SILENCED'
                   WHEN n.severity IS DISTINCT FROM o.severity OR n.summary IS DISTINCT FROM o.summary THEN 'UPDATED'
               END AS event,
               CASE
                   WHEN n.status = 'ACKNOWLEDGED' AND o.status IS DISTINCT FROM 'ACKNOWLEDGED' THEN n.acknowledged_by
                   WHEN n.status = 'CLOSED' AND o.status IS DISTINCT FROM 'CLOSED' THEN n.details ->> 'closed_by'
               END AS by_user,
               jsonb_strip_nulls(jsonb_build_object(
                   'severity', n.severity, 'summary', n.summary, 'silenced_until', n.silenced_until,
                   'escalation_level', CASE WHEN n.escalation_level > 0 THEN n.escalation_level END,
                   'close_reason', CASE WHEN n.status = 'CLOSED' THEN n.details ->> 'close_reason' END)) AS details
          FROM new_rows n JOIN old_rows o USING (tenant_id, id)
    )
    INSERT INTO alert_events (tenant_id, alert_id, event, status, actor, details)
    SELECT c.tenant_id, c.id, c.event, c.status,
           COALESCE(c.by_user, NULLIF(current_setting('app.actor', true), '')), c.details
      FROM changed c WHERE c.event IS NOT NULL;
    GET DIAGNOSTICS written = ROW_COUNT;
    IF written > 0 THEN   -- bookkeeping that changes no event (next_escalation_at …): no wake-up
        PERFORM pg_notify('alert_event', t.tenant_id) FROM (SELECT DISTINCT tenant_id FROM new_rows) t;
    END IF;
    RETURN NULL;
END $$;

-- Re-drive: a FAILED job goes back to PENDING with a fresh attempt budget. Attempt numbers keep
-- counting (the log of earlier attempts stays); the budget counts from attempts_base.
ALTER TABLE delivery_jobs ADD COLUMN attempts_base integer NOT NULL DEFAULT 0;
ALTER TABLE delivery_jobs ADD COLUMN redriven_at timestamptz;
ALTER TABLE delivery_jobs ADD COLUMN redriven_by text;
CREATE INDEX delivery_jobs_tenant_status_idx ON delivery_jobs (tenant_id, status, created_at DESC);
-- Throttle lookups: recent jobs of one channel for one alert.
CREATE INDEX delivery_jobs_channel_alert_idx ON delivery_jobs (tenant_id, channel_id, alert_id, created_at DESC)
    WHERE channel_id IS NOT NULL;

-- The notification log: one row per delivered notification-channel job.
ALTER TABLE notification_log ADD COLUMN job_id bigint;
ALTER TABLE notification_log ADD COLUMN event text;
ALTER TABLE notification_log ADD COLUMN routing_rule_id bigint;
CREATE INDEX notification_log_tenant_sent_idx ON notification_log (tenant_id, sent_at DESC);

-- Provider rate limits (Slack about 1/s per webhook, PagerDuty 120/min per routing key) shared by
-- every notify process: a token bucket per target, keyed by a hash of the target (never the secret).
CREATE TABLE notify_rate_buckets (
    key        text PRIMARY KEY,
    tokens     double precision NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
SELECT pulse_global_table('notify_rate_buckets');

-- Take one token: 0 when taken, else the seconds until one will be there (nothing is taken then).
CREATE OR REPLACE FUNCTION pulse_take_token(p_key text, p_rate double precision, p_burst double precision)
RETURNS double precision
LANGUAGE plpgsql AS $$
DECLARE
    now_ts timestamptz := clock_timestamp();
    have   double precision;
BEGIN
    INSERT INTO notify_rate_buckets (key, tokens, updated_at) VALUES (p_key, p_burst, now_ts)
        ON CONFLICT (key) DO NOTHING;
    SELECT LEAST(p_burst, tokens + GREATEST(0, extract(epoch FROM now_ts - updated_at)) * p_rate)
      INTO have FROM notify_rate_buckets WHERE key = p_key FOR UPDATE;
    IF have >= 1 THEN
        UPDATE notify_rate_buckets SET tokens = have - 1, updated_at = now_ts WHERE key = p_key;
        RETURN 0;
    END IF;
    UPDATE notify_rate_buckets SET tokens = have, updated_at = now_ts WHERE key = p_key;
    RETURN (1 - have) / p_rate;
END $$;
