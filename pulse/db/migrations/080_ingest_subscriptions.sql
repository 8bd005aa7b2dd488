-- What each ingest client (by MQTT client id) last subscribed to. The broker keeps subscriptions in
-- the persistent session, and MQTT cannot list them: after PULSE_INGEST_SHARED_GROUP (or the topic)
-- changes, ingest unsubscribes from the filters recorded here that are no longer configured, so the
-- old subscription stops delivering every message a second time.
CREATE TABLE ingest_subscriptions (
    client_id  text PRIMARY KEY,
    filters    text[] NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
SELECT pulse_global_table('ingest_subscriptions');
