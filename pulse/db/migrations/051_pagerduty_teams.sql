-- PagerDuty (Events API v2) and Microsoft Teams (incoming webhook) as integration types.
-- pagerduty: config_json = {routing_key, url?}; teams: config_json = {url}.
ALTER TABLE integrations DROP CONSTRAINT integrations_type_check;
ALTER TABLE integrations ADD CONSTRAINT integrations_type_check
    CHECK (type IN ('webhook', 'slack', 'pagerduty', 'teams', 'snmp', 'email', 'mqtt'));
ALTER TABLE integrations ADD CONSTRAINT integrations_pagerduty_config
    CHECK (type <> 'pagerduty' OR config_json->>'routing_key' IS NOT NULL);
ALTER TABLE integrations ADD CONSTRAINT integrations_teams_config
    CHECK (type <> 'teams' OR config_json->>'url' IS NOT NULL);
