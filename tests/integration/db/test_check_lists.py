"""CHECK constraints that repeat a closed set the code keeps in one place list exactly that set, read from
a migrated database, so a value added in the code cannot be refused by the schema (or the reverse)."""

import re
from typing import get_args

import asyncpg
import pytest

from pulse.api.queries.alerts import AlertStatus, AlertType, LifecycleEventKind
from pulse.api.queries.devices import ConnectionStatus
from pulse.api.routes.customer.deliveries import JobStatus
from pulse.evaluator.rules import SYMBOLS
from pulse.notify.channels import CHANNELS
from pulse.notify.events import DELIVERY_EVENTS

# pg_get_constraintdef renders `col IN ('a', 'b')` as `(col = ANY (ARRAY['a'::text, 'b'::text]))`.
_IN_LIST = r"\({column} = ANY \(ARRAY\[(?P<values>[^\]]*)\]\)\)"

# alert_events.event: the events that become deliveries, and two that deliver nothing (pulse/notify/events.py).
_UNDELIVERED_ALERT_EVENTS = {"UPDATED", "SILENCED"}

CASES = [
    ("integrations", "type", set(CHANNELS)),
    ("notification_channels", "channel_type", set(CHANNELS)),
    ("delivery_jobs", "event", set(DELIVERY_EVENTS.values())),
    ("delivery_jobs", "status", set(get_args(JobStatus))),
    ("alert_events", "event", set(DELIVERY_EVENTS) | _UNDELIVERED_ALERT_EVENTS),
    ("alerts", "status", set(get_args(AlertStatus))),
    ("alerts", "alert_type", set(get_args(AlertType))),
    ("alert_rules", "operator", set(SYMBOLS)),
    ("device_state", "status", set(get_args(ConnectionStatus))),
    ("device_status_history", "from_status", set(get_args(ConnectionStatus))),
    ("device_status_history", "to_status", set(get_args(ConnectionStatus))),
]


async def _allowed_values(conn: asyncpg.Connection, table: str, column: str) -> set[str]:
    definitions = await conn.fetch(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'c' AND conrelid = $1::regclass",
        table,
    )
    pattern = re.compile(_IN_LIST.format(column=re.escape(column)))
    lists = [m["values"] for (d,) in definitions if (m := pattern.search(d))]
    assert len(lists) == 1, f"{table}.{column}: expected one CHECK … IN list, found {len(lists)}"
    return set(re.findall(r"'([^']*)'::text", lists[0]))


@pytest.mark.parametrize(("table", "column", "code_set"), CASES, ids=[f"{t}.{c}" for t, c, _ in CASES])
async def test_check_list_is_the_codes_set(
    database_url: str, table: str, column: str, code_set: set[str]
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        assert await _allowed_values(conn, table, column) == code_set
    finally:
        await conn.close()


async def test_the_api_shows_every_alert_event_the_schema_allows(database_url: str) -> None:
    """An event the triggers may write but the API's model refused would make the timeline a 500."""
    conn = await asyncpg.connect(database_url)
    try:
        assert await _allowed_values(conn, "alert_events", "event") == set(get_args(LifecycleEventKind))
    finally:
        await conn.close()
