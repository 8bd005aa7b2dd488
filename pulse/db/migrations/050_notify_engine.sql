-- The notification engine's durable cursor over alert_events, and Slack as an integration type.
--
-- The cursor is the highest alert_events.id below which every event has been turned into delivery
-- jobs (or is a permanent gap left by a rolled-back transaction). It is seeded with the current
-- maximum so events from before the engine existed are not delivered. See pulse/notify/dispatch.py.
CREATE TABLE notify_cursor (
    name          text PRIMARY KEY,
    last_event_id bigint NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
SELECT pulse_global_table('notify_cursor');
INSERT INTO notify_cursor (name, last_event_id)
    VALUES ('alert_events', COALESCE((SELECT max(id) FROM alert_events), 0));

-- Slack incoming webhooks are an integration like a webhook: config_json = {url}.
ALTER TABLE integrations DROP CONSTRAINT integrations_type_check;
ALTER TABLE integrations ADD CONSTRAINT integrations_type_check
    CHECK (type IN ('webhook', 'slack', 'snmp', 'email', 'mqtt'));
ALTER TABLE integrations ADD CONSTRAINT integrations_slack_config
    CHECK (type <> 'slack' OR config_json->>'url' IS NOT NULL);
