-- Roles, and the helpers every later migration uses to put a table under tenant isolation.
--
-- pulse_app       customer requests: SET LOCAL ROLE pulse_app + app.tenant_id; RLS hides other tenants.
-- pulse_operator  operators and background services: BYPASSRLS, every tenant.
-- Roles are cluster-wide and each test database runs these files, possibly at the same time, so
-- creation and membership are guarded and tolerate losing a race.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pulse_app') THEN
        BEGIN
            CREATE ROLE pulse_app NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pulse_operator') THEN
        BEGIN
            CREATE ROLE pulse_operator NOLOGIN BYPASSRLS;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END;
    END IF;
    IF NOT (SELECT rolbypassrls FROM pg_roles WHERE rolname = 'pulse_operator') THEN
        ALTER ROLE pulse_operator BYPASSRLS;
    END IF;
END $$;

-- The connecting user must be able to SET ROLE to both. pg_has_role() is true for any superuser,
-- so look at pg_auth_members itself.
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['pulse_app', 'pulse_operator'] LOOP
        IF NOT EXISTS (
            SELECT FROM pg_auth_members m
            WHERE m.roleid = (SELECT oid FROM pg_roles WHERE rolname = r)
              AND m.member = (SELECT oid FROM pg_roles WHERE rolname = current_user)
        ) THEN
            BEGIN
                EXECUTE format('GRANT %I TO %I', r, current_user);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
            END;
        END IF;
    END LOOP;
END $$;

-- Tenant-scoped table: ENABLE + FORCE RLS, one policy for pulse_app, DML for both roles.
-- NULLIF makes an unset ('' after a SET LOCAL ended) or empty tenant match nothing: fail closed.
CREATE OR REPLACE FUNCTION pulse_tenant_table(tbl regclass) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
    IF EXISTS (SELECT FROM pg_policy WHERE polrelid = tbl AND polname = 'tenant_isolation') THEN
        EXECUTE format('DROP POLICY tenant_isolation ON %s', tbl);
    END IF;
    EXECUTE format(
        'CREATE POLICY tenant_isolation ON %s AS PERMISSIVE FOR ALL TO pulse_app '
        'USING (tenant_id = NULLIF(current_setting(''app.tenant_id'', true), '''')) '
        'WITH CHECK (tenant_id = NULLIF(current_setting(''app.tenant_id'', true), ''''))', tbl);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO pulse_app, pulse_operator', tbl);
END $$;

-- Platform table without tenant_id: operators (and services) only; customers may read it if asked.
CREATE OR REPLACE FUNCTION pulse_global_table(tbl regclass, app_can_read boolean DEFAULT false) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO pulse_operator', tbl);
    EXECUTE format('REVOKE ALL ON %s FROM pulse_app', tbl);
    IF app_can_read THEN
        EXECUTE format('GRANT SELECT ON %s TO pulse_app', tbl);
    END IF;
END $$;

CREATE OR REPLACE FUNCTION pulse_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END $$;

REVOKE ALL ON FUNCTION pulse_tenant_table(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION pulse_global_table(regclass, boolean) FROM PUBLIC;

-- The migration runner's own record (it exists before this file runs): operators may read it.
DO $$
BEGIN
    IF to_regclass('schema_migrations') IS NOT NULL THEN
        GRANT SELECT ON schema_migrations TO pulse_operator;
    END IF;
END $$;
