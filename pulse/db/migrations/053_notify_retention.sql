-- Retention of the notification engine's history, run by the ops service like quarantine pruning.
-- COMPLETED delivery jobs (with their attempts) and the notification log are kept
-- `delivery_retention_days` (default 30). FAILED jobs are dead letters someone may still re-drive:
-- kept twice as long. Test-send rate-limit rows older than an hour and token buckets idle for a day
-- mean nothing any more.
INSERT INTO app_settings (key, value) VALUES ('delivery_retention_days', '30') ON CONFLICT (key) DO NOTHING;

CREATE INDEX delivery_jobs_finished_idx ON delivery_jobs (updated_at) WHERE status IN ('COMPLETED', 'FAILED');

CREATE OR REPLACE FUNCTION pulse_prune_notifications(p_now timestamptz DEFAULT now(), p_chunk integer DEFAULT 50000)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
DECLARE
    keep    interval := make_interval(days => pulse_retention_days('delivery_retention_days', 30));
    jobs    bigint;
    logged  bigint;
    other   bigint;
BEGIN
    DELETE FROM delivery_jobs
     WHERE job_id IN (SELECT job_id FROM delivery_jobs
                       WHERE (status = 'COMPLETED' AND updated_at < p_now - keep)
                          OR (status = 'FAILED' AND updated_at < p_now - 2 * keep)
                       LIMIT p_chunk);
    GET DIAGNOSTICS jobs = ROW_COUNT;
    DELETE FROM notification_log
     WHERE log_id IN (SELECT log_id FROM notification_log WHERE sent_at < p_now - keep LIMIT p_chunk);
    GET DIAGNOSTICS logged = ROW_COUNT;
    DELETE FROM rate_limits WHERE created_at < p_now - interval '1 hour';
    GET DIAGNOSTICS other = ROW_COUNT;
    DELETE FROM notify_rate_buckets WHERE updated_at < p_now - interval '1 day';
    RETURN jobs + logged + other;
END $fn$;
REVOKE ALL ON FUNCTION pulse_prune_notifications(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pulse_prune_notifications(timestamptz, integer) TO pulse_operator;
