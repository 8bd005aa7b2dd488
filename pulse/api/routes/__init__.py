"""One router per URL prefix / resource. `API_ROUTERS` lists the identity and API routers that
`pulse/api/app.py` includes (the health and ingest routers are included there on their own)."""

from __future__ import annotations

from pulse.api.routes import ack, broker_hook, oauth, oncall_feed
from pulse.api.routes.customer import (
    alert_rule_backtest,
    alert_rules,
    broker_accounts,
    deliveries,
    device_import,
    device_tokens,
    devices,
    escalation_policies,
    exports,
    groups,
    integration_routes,
    integrations,
    maintenance_windows,
    my_contact_methods,
    my_oncall_feed,
    notification_channels,
    notification_routing_rules,
    oncall_schedules,
    outbox,
    sites,
    tags,
    user_contact_methods,
    users,
)
from pulse.api.routes.customer import alerts as customer_alerts
from pulse.api.routes.customer import audit_log as customer_audit_log
from pulse.api.routes.customer import quarantine as customer_quarantine
from pulse.api.routes.operator import alerts as operator_alerts
from pulse.api.routes.operator import audit_log, settings, system, tenants
from pulse.api.routes.operator import deliveries as operator_deliveries
from pulse.api.routes.operator import devices as operator_devices
from pulse.api.routes.operator import outbox as operator_outbox
from pulse.api.routes.operator import quarantine as operator_quarantine
from pulse.api.routes.v2 import alerts as v2_alerts
from pulse.api.routes.v2 import devices as v2_devices
from pulse.api.routes.v2 import fleet, ws

API_ROUTERS = [
    oauth.router,
    broker_hook.router,
    ack.router,
    # /api/v2
    v2_devices.router,
    v2_alerts.router,
    fleet.router,
    ws.router,
    # /customer (the import route before /{device_id} routes of the same prefix)
    device_import.router,
    devices.router,
    tags.router,
    device_tokens.router,
    broker_accounts.router,
    sites.router,
    groups.router,
    customer_alerts.router,
    alert_rule_backtest.router,
    alert_rules.router,
    maintenance_windows.router,
    users.router,
    exports.router,
    integrations.router,
    integration_routes.router,
    notification_channels.router,
    notification_routing_rules.router,
    deliveries.router,
    oncall_schedules.router,
    my_oncall_feed.router,
    # /oncall/feeds: personal iCalendar feeds, authenticated by the URL's secret
    oncall_feed.router,
    escalation_policies.router,
    user_contact_methods.router,
    my_contact_methods.router,
    outbox.router,
    customer_audit_log.router,
    customer_quarantine.router,
    # /operator
    tenants.router,
    operator_devices.router,
    operator_alerts.router,
    operator_deliveries.router,
    operator_outbox.router,
    settings.router,
    audit_log.router,
    operator_quarantine.router,
    system.router,
]
