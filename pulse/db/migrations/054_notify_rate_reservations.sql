-- Provider rate limits reserve a slot instead of asking again. With "take a token or say how long to
-- wait", every job waiting for one Slack webhook woke at the same moment, one got the token and the
-- rest were claimed and put back again, second after second (n waiting jobs: ~n²/2 claims). Now a job
-- that must wait takes the next free slot — the bucket may go below zero, which is exactly the queue
-- in front of it — and is marked, so when its time comes it sends without asking again.
ALTER TABLE delivery_jobs ADD COLUMN rate_reserved boolean NOT NULL DEFAULT false;

-- Take one token now (0), or reserve the next one: the seconds until it is this caller's.
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

DROP FUNCTION pulse_take_token(text, double precision, double precision);
