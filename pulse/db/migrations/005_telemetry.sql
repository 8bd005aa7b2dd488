-- Time series: device telemetry and platform metrics, partitioned by UTC day.
--
-- Native range partitions, created ahead and dropped past retention by pulse_maintain_partitions()
-- (the ops service calls it on a timer). Where TimescaleDB can be loaded, hypertables instead, with
-- TimescaleDB's own retention and compression policies.
--
-- Rows outside the existing partitions (older than retention, more than p_days_ahead in the
-- future) are refused by PostgreSQL: writers must check `time` before they write a batch.
-- Writers use COPY, which PostgreSQL refuses for a role subject to RLS: ingest writes as
-- pulse_operator (BYPASSRLS); pulse_app reads through the parent's policy.

CREATE OR REPLACE FUNCTION pulse_retention_days(p_key text, p_default integer) RETURNS integer
LANGUAGE plpgsql STABLE SET search_path FROM CURRENT AS $$
DECLARE
    v text;
BEGIN
    SELECT value INTO v FROM app_settings WHERE key = p_key;
    IF v ~ '^\s*[0-9]{1,5}\s*$' AND trim(v)::integer >= 1 THEN
        RETURN trim(v)::integer;
    END IF;
    RETURN p_default;   -- missing or invalid: never let a typo drop data
END $$;

DO $$
DECLARE
    hyper boolean := EXISTS (SELECT FROM pg_available_extensions WHERE name = 'timescaledb')
                     AND coalesce(current_setting('shared_preload_libraries', true), '') LIKE '%timescaledb%';
    partitioning text := CASE WHEN hyper THEN '' ELSE 'PARTITION BY RANGE (time)' END;
BEGIN
    IF hyper THEN
        EXECUTE 'CREATE EXTENSION IF NOT EXISTS timescaledb';
    END IF;
    EXECUTE format($t$
        CREATE TABLE telemetry (
            time      timestamptz NOT NULL,
            tenant_id text NOT NULL,
            device_id text NOT NULL,
            site_id   text,
            msg_type  text NOT NULL DEFAULT 'telemetry',
            seq       bigint DEFAULT 0,
            metrics   jsonb NOT NULL DEFAULT '{}'
        ) %s$t$, partitioning);
    EXECUTE format($t$
        CREATE TABLE system_metrics (
            time        timestamptz NOT NULL,
            metric_name text NOT NULL,
            service     text,
            tags        jsonb NOT NULL DEFAULT '{}',
            value       double precision NOT NULL
        ) %s$t$, partitioning);
    IF hyper THEN
        EXECUTE $q$SELECT create_hypertable('telemetry', 'time', chunk_time_interval => INTERVAL '1 day')$q$;
        EXECUTE $q$SELECT create_hypertable('system_metrics', 'time', chunk_time_interval => INTERVAL '1 day')$q$;
    END IF;
END $$;

-- Each index costs ingest throughput: only what the read paths need (no GIN on metrics).
CREATE INDEX telemetry_device_time_idx ON telemetry (tenant_id, device_id, time DESC);
CREATE INDEX telemetry_tenant_time_idx ON telemetry (tenant_id, time DESC);
CREATE INDEX telemetry_msg_type_time_idx ON telemetry (tenant_id, msg_type, time DESC);
SELECT pulse_tenant_table('telemetry');

CREATE INDEX system_metrics_name_time_idx ON system_metrics (metric_name, time DESC);
CREATE INDEX system_metrics_service_time_idx ON system_metrics (service, time DESC);
CREATE INDEX system_metrics_name_service_time_idx ON system_metrics (metric_name, service, time DESC);
SELECT pulse_global_table('system_metrics');

-- TimescaleDB policies. Retention is fixed here from app_settings; compression may refuse a table
-- with RLS, which must not fail the migration.
DO $$
DECLARE
    t record;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'timescaledb')
       OR EXISTS (SELECT FROM pg_partitioned_table WHERE partrelid = 'telemetry'::regclass) THEN
        RETURN;
    END IF;
    FOR t IN SELECT * FROM (VALUES
            ('telemetry', 'telemetry_retention_days', 30, 'tenant_id, device_id'),
            ('system_metrics', 'system_metrics_retention_days', 7, 'metric_name, service')
        ) v(tbl, setting, dflt, segmentby)
    LOOP
        EXECUTE format('SELECT add_retention_policy(%L, %L::interval, if_not_exists => true)',
                       t.tbl, pulse_retention_days(t.setting, t.dflt) || ' days');
        BEGIN
            EXECUTE format('ALTER TABLE %I SET (timescaledb.compress, timescaledb.compress_segmentby = %L, '
                           'timescaledb.compress_orderby = %L)', t.tbl, t.segmentby, 'time DESC');
            EXECUTE format('SELECT add_compression_policy(%L, INTERVAL ''1 day'', if_not_exists => true)', t.tbl);
        EXCEPTION WHEN others THEN
            RAISE NOTICE '%: compression not enabled: %', t.tbl, SQLERRM;
        END;
    END LOOP;
END $$;

-- Day partitions of a natively partitioned table, with their bounds parsed from the catalog
-- (partitions not of the FROM (x) TO (y) form, e.g. MINVALUE, are left out).
CREATE OR REPLACE FUNCTION pulse_partition_bounds(parent regclass)
RETURNS TABLE (part regclass, lower_bound timestamptz, upper_bound timestamptz)
LANGUAGE sql STABLE AS $fn$
    SELECT c.oid::regclass, m.b[1]::timestamptz, m.b[2]::timestamptz
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    CROSS JOIN LATERAL regexp_match(pg_get_expr(c.relpartbound, c.oid),
                                    $r$^FOR VALUES FROM \('([^']+)'\) TO \('([^']+)'\)$r$) AS m(b)
    WHERE i.inhparent = parent AND m.b IS NOT NULL
$fn$;

-- Creates the missing UTC-day partitions from the oldest day still inside retention up to
-- p_days_ahead days after p_now, and drops partitions that end at or before p_now - retention.
-- SECURITY DEFINER so the ops service can run it as pulse_operator; partitions get no grants, so
-- pulse_app cannot get around the parent's RLS by naming one.
CREATE OR REPLACE FUNCTION pulse_maintain_partitions(p_now timestamptz DEFAULT now(), p_days_ahead integer DEFAULT 3)
RETURNS TABLE (action text, partition_name text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path FROM CURRENT
SET TimeZone = 'UTC'
AS $fn$
DECLARE
    t           record;
    b           record;
    parent      regclass;
    parent_name text;
    parent_nsp  text;
    cutoff      timestamptz;
    d           date;
    last_day    date;
    lo          timestamptz;
    hi          timestamptz;
    new_name    text;
BEGIN
    -- One maintainer at a time (two ops processes may tick together); the second waits, then
    -- finds nothing left to do.
    PERFORM pg_advisory_xact_lock(5075736501);
    FOR t IN SELECT * FROM (VALUES
            ('telemetry', 'telemetry_retention_days', 30),
            ('system_metrics', 'system_metrics_retention_days', 7)
        ) v(tbl, setting, dflt)
    LOOP
        parent := to_regclass(t.tbl);
        -- a hypertable (or a table missing) is not ours to manage
        CONTINUE WHEN parent IS NULL
            OR NOT EXISTS (SELECT FROM pg_partitioned_table WHERE partrelid = parent);
        SELECT c.relname, n.nspname INTO parent_name, parent_nsp
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = parent;
        cutoff := p_now - make_interval(days => pulse_retention_days(t.setting, t.dflt));

        FOR b IN SELECT p.part, c.relname FROM pulse_partition_bounds(parent) p
                 JOIN pg_class c ON c.oid = p.part
                 WHERE p.upper_bound <= cutoff ORDER BY p.lower_bound
        LOOP
            EXECUTE format('DROP TABLE %s', b.part);
            action := 'dropped';
            partition_name := b.relname;
            RETURN NEXT;
        END LOOP;

        d := (cutoff AT TIME ZONE 'UTC')::date;   -- the day holding the oldest instant still kept
        last_day := (p_now AT TIME ZONE 'UTC')::date + greatest(coalesce(p_days_ahead, 0), 0);
        WHILE d <= last_day LOOP
            lo := d::timestamp AT TIME ZONE 'UTC';
            hi := (d + 1)::timestamp AT TIME ZONE 'UTC';
            IF NOT EXISTS (SELECT FROM pulse_partition_bounds(parent) p
                           WHERE p.lower_bound < hi AND p.upper_bound > lo) THEN
                new_name := format('%s_p%s', parent_name, to_char(d, 'YYYYMMDD'));
                EXECUTE format('CREATE TABLE %I.%I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                               parent_nsp, new_name, parent, lo, hi);
                EXECUTE format('REVOKE ALL ON %I.%I FROM PUBLIC, pulse_app', parent_nsp, new_name);
                -- belt and braces: with RLS on and no policy, a direct read finds nothing even if
                -- someone grants access later (rows routed through the parent are unaffected)
                EXECUTE format('ALTER TABLE %I.%I ENABLE ROW LEVEL SECURITY', parent_nsp, new_name);
                EXECUTE format('ALTER TABLE %I.%I FORCE ROW LEVEL SECURITY', parent_nsp, new_name);
                action := 'created';
                partition_name := new_name;
                RETURN NEXT;
            END IF;
            d := d + 1;
        END LOOP;
    END LOOP;
END $fn$;
REVOKE ALL ON FUNCTION pulse_maintain_partitions(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pulse_maintain_partitions(timestamptz, integer) TO pulse_operator;

-- A fresh database takes rows at once.
SELECT * FROM pulse_maintain_partitions();
