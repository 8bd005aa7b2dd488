-- Rejected messages are evidence for a while, not forever: a flood must not fill the disk over weeks.
-- Kept `quarantine_retention_days` (default 7); the per-minute counters 90 days. Deleted in bounded
-- chunks so a large backlog never holds one long transaction.
INSERT INTO app_settings (key, value) VALUES ('quarantine_retention_days', '7')
ON CONFLICT (key) DO NOTHING;

CREATE OR REPLACE FUNCTION pulse_prune_quarantine(p_now timestamptz DEFAULT now(), p_chunk integer DEFAULT 50000)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
DECLARE
    events_cutoff timestamptz := p_now - make_interval(days => pulse_retention_days('quarantine_retention_days', 7));
    deleted bigint;
    counters bigint;
BEGIN
    DELETE FROM quarantine_events
     WHERE id IN (SELECT id FROM quarantine_events WHERE ingested_at < events_cutoff LIMIT p_chunk);
    GET DIAGNOSTICS deleted = ROW_COUNT;
    DELETE FROM quarantine_counters_minute WHERE bucket_minute < p_now - interval '90 days';
    GET DIAGNOSTICS counters = ROW_COUNT;
    RETURN deleted + counters;
END $fn$;
REVOKE ALL ON FUNCTION pulse_prune_quarantine(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pulse_prune_quarantine(timestamptz, integer) TO pulse_operator;
