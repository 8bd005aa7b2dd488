-- The provider rate limits' token bucket (pulse/notify/worker.py), shared by every notify process:
-- take one token now (0), or reserve the next one: the seconds until it is this caller's. The bucket
-- may go below zero, which is exactly the queue of reservations in front of the caller. Migration 054
-- created it (replacing 052's pulse_take_token); this file is its current definition from now on
-- (edit it here, never copy it into a new migration).
CREATE OR REPLACE FUNCTION pulse_reserve_token(p_key text, p_rate double precision, p_burst double precision)
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
    UPDATE notify_rate_buckets SET tokens = have - 1, updated_at = now_ts WHERE key = p_key;
    RETURN GREATEST(0, (1 - have) / p_rate);
END $$;
