-- Wake-up for the evaluator's per-tenant configuration cache: any change to rules, metric mappings,
-- maintenance windows or health thresholds NOTIFYs `evaluator_config` with the tenant id, once per
-- statement and tenant.
CREATE OR REPLACE FUNCTION evaluator_config_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('evaluator_config', t.tenant_id) FROM (SELECT DISTINCT tenant_id FROM changed_rows) t;
    RETURN NULL;
END $$;

DO $$
DECLARE
    tbl text;
    ev text;
BEGIN
    FOREACH tbl IN ARRAY ARRAY['alert_rules', 'metric_mappings', 'alert_maintenance_windows',
                               'device_health_settings'] LOOP
        FOREACH ev IN ARRAY ARRAY['INSERT', 'UPDATE', 'DELETE'] LOOP
            EXECUTE format(
                'CREATE TRIGGER %I AFTER %s ON %I REFERENCING %s TABLE AS changed_rows '
                'FOR EACH STATEMENT EXECUTE FUNCTION evaluator_config_notify()',
                tbl || '_evaluator_' || lower(ev), ev, tbl, CASE ev WHEN 'DELETE' THEN 'OLD' ELSE 'NEW' END);
        END LOOP;
    END LOOP;
END $$;
