-- Tenants and their subscriptions (device capacity, term, lifecycle).

CREATE TABLE tenants (
    tenant_id     text PRIMARY KEY CHECK (tenant_id <> ''),
    name          text NOT NULL,
    status        text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'SUSPENDED', 'DELETED')),
    contact_email text,
    contact_name  text,
    metadata      jsonb NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz
);
CREATE INDEX tenants_status_idx ON tenants (status) WHERE status <> 'DELETED';
CREATE TRIGGER tenants_touch BEFORE UPDATE ON tenants FOR EACH ROW EXECUTE FUNCTION pulse_touch_updated_at();

-- Customers may read their own tenant row and nothing else; tenants are managed by operators.
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_self_read ON tenants FOR SELECT TO pulse_app
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
GRANT SELECT ON tenants TO pulse_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON tenants TO pulse_operator;

-- SUB-YYYYMMDD-NNNNN: a per-day counter. It lives in its own table (not max()+1 over subscriptions)
-- so that concurrent creators and RLS, which hides other tenants' ids, cannot produce duplicates.
CREATE TABLE subscription_id_counters (
    day     date PRIMARY KEY,
    last_no integer NOT NULL
);
SELECT pulse_global_table('subscription_id_counters');

CREATE OR REPLACE FUNCTION generate_subscription_id() RETURNS text
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path FROM CURRENT AS $$
    INSERT INTO subscription_id_counters AS c (day, last_no)
    VALUES ((now() AT TIME ZONE 'UTC')::date, 1)
    ON CONFLICT (day) DO UPDATE SET last_no = c.last_no + 1
    RETURNING 'SUB-' || to_char(day, 'YYYYMMDD') || '-'
              || lpad(last_no::text, greatest(5, length(last_no::text)), '0');
$$;
REVOKE ALL ON FUNCTION generate_subscription_id() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION generate_subscription_id() TO pulse_app, pulse_operator;

CREATE TABLE subscriptions (
    subscription_id        text PRIMARY KEY DEFAULT generate_subscription_id(),
    tenant_id              text NOT NULL REFERENCES tenants ON DELETE CASCADE,
    subscription_type      text NOT NULL CHECK (subscription_type IN ('MAIN', 'ADDON', 'TRIAL', 'TEMPORARY')),
    parent_subscription_id text,
    device_limit           integer NOT NULL DEFAULT 0 CHECK (device_limit >= 0),
    active_device_count    integer NOT NULL DEFAULT 0 CHECK (active_device_count >= 0),
    term_start             timestamptz NOT NULL DEFAULT now(),
    term_end               timestamptz NOT NULL,
    status                 text NOT NULL DEFAULT 'ACTIVE'
                           CHECK (status IN ('TRIAL', 'ACTIVE', 'GRACE', 'SUSPENDED', 'EXPIRED')),
    grace_end              timestamptz,
    plan_id                text,
    description            text,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    created_by             text,
    UNIQUE (tenant_id, subscription_id),
    CONSTRAINT subscriptions_addon_has_parent CHECK (subscription_type <> 'ADDON' OR parent_subscription_id IS NOT NULL),
    CONSTRAINT subscriptions_main_no_parent CHECK (subscription_type <> 'MAIN' OR parent_subscription_id IS NULL),
    -- the parent must belong to the same tenant
    FOREIGN KEY (tenant_id, parent_subscription_id) REFERENCES subscriptions (tenant_id, subscription_id)
);
CREATE INDEX subscriptions_tenant_status_idx ON subscriptions (tenant_id, status);
CREATE INDEX subscriptions_status_term_end_idx ON subscriptions (status, term_end);
CREATE INDEX subscriptions_parent_idx ON subscriptions (tenant_id, parent_subscription_id)
    WHERE parent_subscription_id IS NOT NULL;
CREATE TRIGGER subscriptions_touch BEFORE UPDATE ON subscriptions
    FOR EACH ROW EXECUTE FUNCTION pulse_touch_updated_at();
SELECT pulse_tenant_table('subscriptions');

-- An ADDON always ends with its MAIN parent.
CREATE OR REPLACE FUNCTION subscriptions_sync_addon_term() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    parent record;
BEGIN
    SELECT subscription_type, term_end INTO parent
    FROM subscriptions
    WHERE tenant_id = NEW.tenant_id AND subscription_id = NEW.parent_subscription_id;
    IF FOUND THEN
        IF parent.subscription_type <> 'MAIN' THEN
            RAISE EXCEPTION 'ADDON subscription % must have a MAIN parent (% is %)',
                NEW.subscription_id, NEW.parent_subscription_id, parent.subscription_type
                USING ERRCODE = 'check_violation';
        END IF;
        NEW.term_end := parent.term_end;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER trg_sync_addon_term BEFORE INSERT OR UPDATE ON subscriptions
    FOR EACH ROW WHEN (NEW.subscription_type = 'ADDON') EXECUTE FUNCTION subscriptions_sync_addon_term();

CREATE OR REPLACE FUNCTION subscriptions_cascade_term_end() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE subscriptions SET term_end = NEW.term_end
    WHERE tenant_id = NEW.tenant_id
      AND parent_subscription_id = NEW.subscription_id
      AND subscription_type = 'ADDON'
      AND term_end IS DISTINCT FROM NEW.term_end;
    RETURN NULL;
END $$;
CREATE TRIGGER trg_cascade_term_end AFTER UPDATE OF term_end ON subscriptions
    FOR EACH ROW WHEN (NEW.subscription_type = 'MAIN' AND OLD.term_end IS DISTINCT FROM NEW.term_end)
    EXECUTE FUNCTION subscriptions_cascade_term_end();

CREATE TABLE subscription_audit (
    id              bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    tenant_id       text NOT NULL REFERENCES tenants ON DELETE CASCADE,
    subscription_id text,          -- no FK: the trail outlives the subscription
    event_type      text NOT NULL,
    event_timestamp timestamptz NOT NULL DEFAULT now(),
    actor_type      text,
    actor_id        text,
    previous_state  jsonb,
    new_state       jsonb,
    details         jsonb NOT NULL DEFAULT '{}',
    ip_address      inet,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX subscription_audit_tenant_time_idx ON subscription_audit (tenant_id, event_timestamp DESC);
CREATE INDEX subscription_audit_subscription_idx ON subscription_audit (subscription_id, event_timestamp DESC);
CREATE INDEX subscription_audit_created_idx ON subscription_audit (created_at);
SELECT pulse_tenant_table('subscription_audit');

CREATE TABLE subscription_notifications (
    id                bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    tenant_id         text NOT NULL REFERENCES tenants ON DELETE CASCADE,
    subscription_id   text,
    notification_type text NOT NULL CHECK (notification_type IN (
                          'RENEWAL_90', 'RENEWAL_60', 'RENEWAL_30', 'RENEWAL_14', 'RENEWAL_7', 'RENEWAL_1',
                          'GRACE_START', 'SUSPENDED')),
    scheduled_at      timestamptz NOT NULL DEFAULT now(),
    sent_at           timestamptz,
    channel           text CHECK (channel IN ('email', 'webhook', 'log')),
    status            text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'SENT', 'FAILED')),
    error             text,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX subscription_notifications_pending_idx ON subscription_notifications (scheduled_at)
    WHERE status = 'PENDING';
CREATE INDEX subscription_notifications_tenant_type_idx
    ON subscription_notifications (tenant_id, notification_type, scheduled_at DESC);
SELECT pulse_tenant_table('subscription_notifications');
