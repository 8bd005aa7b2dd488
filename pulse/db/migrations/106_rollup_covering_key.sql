-- The device chart (/api/v2/devices/{id}/chart) reads all of a device's rollup minutes: with the
-- aggregates in the primary key's index that read is an index-only scan over a few adjacent index
-- pages, instead of one heap page per minute (the ops service appends minutes of every device
-- together, so one device's minutes are spread over the heap). Measured in `pulse bench api`.
--
-- The unique index is built first and then becomes the primary key: during the build readers carry
-- on and only the rollup pass waits. INCLUDE columns are not key columns, so `ON CONFLICT (tenant_id,
-- device_id, metric, bucket)` still infers this key. Merges that change the aggregates are no longer
-- HOT updates; PostgreSQL's bottom-up index deletion removes the superseded entries.
CREATE UNIQUE INDEX telemetry_rollup_1m_key_covering ON telemetry_rollup_1m (tenant_id, device_id, metric, bucket)
    INCLUDE (count, min, max, sum);
ALTER TABLE telemetry_rollup_1m DROP CONSTRAINT telemetry_rollup_1m_pkey;
ALTER TABLE telemetry_rollup_1m ADD CONSTRAINT telemetry_rollup_1m_pkey PRIMARY KEY USING INDEX telemetry_rollup_1m_key_covering;
