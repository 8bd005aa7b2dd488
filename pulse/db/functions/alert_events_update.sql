-- The one trigger function behind every alert event but the first (AFTER UPDATE ON alerts, statement
-- level, transition tables old_rows/new_rows; the trigger itself is created in migration 041). One
-- event per changed row: a status change wins over an escalation, which wins over a silence, which
-- wins over an update. Migration 041 created it, 052 added ESCALATED and issue 12 made it follow escalated_at; this file is its current
-- definition from now on (edit it here, never copy it into a new migration).
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
                   -- a level fired (escalated_at moves on every fire, repeats of a policy included)
                   WHEN n.escalated_at IS DISTINCT FROM o.escalated_at AND n.escalated_at IS NOT NULL THEN 'ESCALATED'
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
