-- One complete graph of rows for a tenant, touching every tenant-scoped table. The RLS test seeds two
-- tenants with it; a new tenant table needs a line here (the test says so when it is missing).
CREATE FUNCTION pg_temp.seed_tenant(t text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    sub text;
    rule bigint;
    alert bigint;
    sched bigint;
    policy bigint;
    channel bigint;
    nrule bigint;
    integ uuid;
    route uuid;
    job bigint;
    person uuid;
BEGIN
    INSERT INTO tenants (tenant_id, name) VALUES (t, 'Tenant ' || t);
    INSERT INTO subscriptions (tenant_id, subscription_type, device_limit, term_end)
        VALUES (t, 'MAIN', 10, now() + interval '1 year') RETURNING subscription_id INTO sub;
    INSERT INTO subscription_audit (tenant_id, subscription_id, event_type) VALUES (t, sub, 'SUBSCRIPTION_CREATED');
    INSERT INTO subscription_notifications (tenant_id, subscription_id, notification_type, channel)
        VALUES (t, sub, 'RENEWAL_30', 'log');
    INSERT INTO sites (tenant_id, site_id, name) VALUES (t, 'site-1', 'Site 1');
    INSERT INTO device_registry (tenant_id, device_id, site_id, subscription_id) VALUES (t, 'dev-1', 'site-1', sub);
    INSERT INTO device_state (tenant_id, device_id, site_id) VALUES (t, 'dev-1', 'site-1');
    INSERT INTO device_tags (tenant_id, device_id, tag) VALUES (t, 'dev-1', 'floor-2');
    INSERT INTO device_groups (tenant_id, group_id, name) VALUES (t, 'grp-1', 'Group 1');
    INSERT INTO device_group_members (tenant_id, group_id, device_id) VALUES (t, 'grp-1', 'dev-1');
    INSERT INTO device_api_tokens (tenant_id, device_id, client_id, token_hash) VALUES (t, 'dev-1', 'client-' || t, 'h');
    INSERT INTO tenant_broker_accounts (tenant_id, username, password_hash) VALUES (t, 'alerts:' || t || ':x', 'h');
    INSERT INTO device_extended_attributes (tenant_id, device_id) VALUES (t, 'dev-1');
    INSERT INTO device_activation (tenant_id, device_id, activation_code_hash, expires_at)
        VALUES (t, 'dev-1', 'h', now() + interval '1 hour');
    INSERT INTO device_token_history (tenant_id, device_id, token_hash) VALUES (t, 'dev-1', 'h');
    INSERT INTO telemetry (time, tenant_id, device_id, site_id, metrics) VALUES (now(), t, 'dev-1', 'site-1', '{"temp": 1}');
    INSERT INTO quarantine_events (tenant_id, topic, reason, payload) VALUES (t, 'x', 'TOKEN_INVALID', '{}');
    INSERT INTO quarantine_counters_minute (bucket_minute, tenant_id, reason, cnt) VALUES (date_trunc('minute', now()), t, 'TOKEN_INVALID', 1);
    INSERT INTO metric_catalog (tenant_id, metric_name) VALUES (t, 'temp');
    INSERT INTO normalized_metrics (tenant_id, normalized_name) VALUES (t, 'temperature');
    INSERT INTO metric_mappings (tenant_id, raw_metric, normalized_name) VALUES (t, 'temp', 'temperature');
    INSERT INTO users (tenant_id, username, password_hash, roles) VALUES (t, 'user-' || t, 'h', '{customer}')
        RETURNING user_id INTO person;
    INSERT INTO oncall_schedules (tenant_id, name) VALUES (t, 'Primary') RETURNING schedule_id INTO sched;
    INSERT INTO oncall_layers (tenant_id, schedule_id, name, position, rotation, start_date, participants)
        VALUES (t, sched, 'Layer 1', 1, 'daily', current_date, ARRAY[person]);
    INSERT INTO oncall_overrides (tenant_id, schedule_id, user_id, start_at, end_at)
        VALUES (t, sched, person, now(), now() + interval '1 hour');
    INSERT INTO oncall_ical_feeds (tenant_id, user_id, token_hash) VALUES (t, person, 'feed-' || t);
    INSERT INTO escalation_policies (tenant_id, name) VALUES (t, 'Default') RETURNING policy_id INTO policy;
    INSERT INTO escalation_levels (tenant_id, policy_id, level_number, targets)
        VALUES (t, policy, 1, jsonb_build_array(jsonb_build_object('type', 'schedule', 'id', sched)));
    INSERT INTO alert_rules (tenant_id, name, metric_name, operator, threshold, escalation_policy_id)
        VALUES (t, 'Hot', 'temp', 'GT', 50, policy) RETURNING id INTO rule;
    INSERT INTO alerts (tenant_id, site_id, device_id, alert_type, fingerprint, summary)
        VALUES (t, 'site-1', 'dev-1', 'THRESHOLD', 'fp', 'too hot') RETURNING id INTO alert;
    INSERT INTO escalation_events (tenant_id, alert_id, event) VALUES (t, alert, 'fired');
    INSERT INTO alert_ack_links (tenant_id, alert_id, user_id, expires_at) VALUES (t, alert, person, now() + interval '1 day');
    INSERT INTO alert_maintenance_windows (tenant_id, name, starts_at) VALUES (t, 'Upgrade', now());
    INSERT INTO device_health_settings (tenant_id, heartbeat_stale_seconds, offline_seconds) VALUES (t, 60, 600);
    INSERT INTO device_status_history (tenant_id, device_id, from_status, to_status, changed_at)
        VALUES (t, 'dev-1', 'ONLINE', 'STALE', now());
    INSERT INTO alert_events (tenant_id, alert_id, event, status) VALUES (t, alert, 'UPDATED', 'OPEN');
    INSERT INTO alert_rule_state (tenant_id, rule_id, device_id, breach_since)
        SELECT t, r.rule_id, 'dev-1', now() FROM alert_rules r WHERE r.id = rule;
    INSERT INTO alert_digest_settings (tenant_id, email) VALUES (t, 'ops@example.com');
    INSERT INTO notification_channels (tenant_id, name, channel_type) VALUES (t, 'Slack', 'slack') RETURNING channel_id INTO channel;
    INSERT INTO user_contact_methods (tenant_id, user_id, kind, channel_id) VALUES (t, person, 'channel', channel);
    INSERT INTO notification_routing_rules (tenant_id, channel_id) VALUES (t, channel) RETURNING rule_id INTO nrule;
    INSERT INTO notification_log (tenant_id, channel_id, alert_id) VALUES (t, channel, alert);
    INSERT INTO integrations (tenant_id, name, config_json) VALUES (t, 'Hook', '{"url": "https://example.com"}')
        RETURNING integration_id INTO integ;
    INSERT INTO integration_routes (tenant_id, integration_id) VALUES (t, integ) RETURNING route_id INTO route;
    INSERT INTO delivery_jobs (tenant_id, alert_id, integration_id, route_id, event, payload_json, idempotency_key)
        VALUES (t, alert, integ, route, 'OPEN', '{}', 'key-' || t) RETURNING job_id INTO job;
    INSERT INTO mail_outbox (tenant_id, job_id, to_address, subject, body_text) VALUES (t, job, 'a@example.com', 's', 'b');
    INSERT INTO delivery_attempts (tenant_id, job_id, attempt_no, ok) VALUES (t, job, 1, true);
    INSERT INTO delivery_log (tenant_id) VALUES (t);
    INSERT INTO rate_limits (tenant_id, action) VALUES (t, 'test_delivery');
    INSERT INTO report_runs (tenant_id, report_type) VALUES (t, 'sla_summary');
    INSERT INTO audit_log (tenant_id, event_type, category, action, message, source_service)
        VALUES (t, 'device.telemetry', 'device', 'receive', 'm', 'test');
    INSERT INTO telemetry_rollup_1m (tenant_id, device_id, metric, bucket, count, min, max, sum, last, last_time)
        VALUES (t, 'dev-1', 'temp', date_trunc('minute', now()), 1, 20, 20, 20, 20, now());
END $$;
