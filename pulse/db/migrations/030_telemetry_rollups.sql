-- Telemetry rollups: per (tenant, device, metric, UTC minute) the count, min, max, sum and last value
-- of the numeric samples, so charts of 1 minute and wider read one row per minute and metric instead
-- of every raw row (ARCHITECTURE.md, "Time series").
--
-- Maintained incrementally by the ops service (pulse/ops/rollups.py) in the order rows were
-- *received*, not by their device time: `telemetry.received` is the writing transaction's start
-- (now()), and a pass rolls up exactly the rows with received in [rolled_to, U), where U is never
-- later than the start of any transaction still open in this database. A row that arrives late
-- (device time long past, e.g. a device flushing its buffer) is therefore still rolled up once, by
-- the next pass, and merged into its minute; nothing is counted twice and nothing is skipped.
--
-- Readers take whole minutes before `covered_to` from the rollup and everything else from raw rows.

-- Existing rows get the migration's time (a constant default: no table rewrite); new rows the start
-- of the transaction that writes them. Writers name their COPY columns, so none of them changes.
ALTER TABLE telemetry ADD COLUMN received timestamptz NOT NULL DEFAULT now();

-- Rows are appended in received order, so a BRIN index (a few pages per partition, next to nothing
-- per insert) finds a pass's rows: the newest pages of today's partition, plus the pages a late row
-- was appended to in an older partition.
CREATE INDEX telemetry_received_brin ON telemetry USING brin (received)
    WITH (pages_per_range = 16, autosummarize = on);

CREATE TABLE telemetry_rollup_1m (
    tenant_id text NOT NULL,
    device_id text NOT NULL,
    metric    text NOT NULL,
    bucket    timestamptz NOT NULL,          -- start of the UTC minute
    count     bigint NOT NULL,               -- numeric samples in the minute
    min       double precision NOT NULL,
    max       double precision NOT NULL,
    sum       double precision NOT NULL,     -- avg = sum / count (float8 avg() overflows above ~1e154)
    last      double precision NOT NULL,     -- value of the sample with the latest time
    last_time timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, device_id, metric, bucket)   -- one device's metric over a range: one range scan
);
-- Retention deletes by bucket; rows are written roughly in bucket order.
CREATE INDEX telemetry_rollup_1m_bucket_brin ON telemetry_rollup_1m USING brin (bucket);
SELECT pulse_tenant_table('telemetry_rollup_1m');

-- One row: how far the rollup has got.
CREATE TABLE telemetry_rollup_state (
    id         boolean PRIMARY KEY DEFAULT true CHECK (id),
    rolled_to  timestamptz NOT NULL,  -- every telemetry row with received < rolled_to is in the rollup
    covered_to timestamptz NOT NULL,  -- readers use rollup minutes before this, raw rows from it on
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO telemetry_rollup_state (rolled_to, covered_to) VALUES ('-infinity', '-infinity');
-- Chart queries run as pulse_app and read the watermark (two timestamps, no tenant data).
SELECT pulse_global_table('telemetry_rollup_state', true);

-- The start of the oldest transaction still open in this database, other than the caller's: no row
-- with an earlier `received` can still commit. SECURITY DEFINER because pg_stat_activity hides other
-- roles' sessions from pulse_operator; the owner (the migrating role) sees the sessions of the role
-- the services log in as when that is the same role or it has pg_read_all_stats.
CREATE FUNCTION pulse_oldest_open_xact() RETURNS timestamptz
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
    SELECT min(xact_start) FROM pg_stat_activity
     WHERE datname = current_database() AND pid <> pg_backend_pid()
       AND backend_type = 'client backend' AND xact_start IS NOT NULL
$fn$;
REVOKE ALL ON FUNCTION pulse_oldest_open_xact() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pulse_oldest_open_xact() TO pulse_operator;
