"""Alert events → delivery jobs: route filters, idempotency and the durable cursor."""

from __future__ import annotations

import asyncpg

from pulse.db.tx import operator_tx
from pulse.notify.dispatch import Dispatcher
from tests.factories import make_alert, make_integration
from tests.integration.notify.helpers import dispatch, fetch, set_status

URL = "https://hooks.example.com/pulse"


async def jobs_by_route(pool) -> list[tuple[str, int, str]]:
    rows = await fetch(pool, "SELECT route_id::text, alert_id, event FROM delivery_jobs ORDER BY job_id")
    return [(r["route_id"], r["alert_id"], r["event"]) for r in rows]


async def cursor(pool) -> int:
    (row,) = await fetch(pool, "SELECT last_event_id FROM notify_cursor WHERE name = 'alert_events'")
    return row["last_event_id"]


async def test_same_event_dispatched_twice_makes_one_job(pool, tenant):
    await make_integration(pool, tenant, {"url": URL})
    await make_alert(pool, tenant)
    assert await dispatch(pool, Dispatcher()) == 1
    async with operator_tx(pool, "test") as conn:  # as if the cursor had been lost
        await conn.execute("UPDATE notify_cursor SET last_event_id = 0")
    assert await dispatch(pool, Dispatcher()) == 0
    (job,) = await fetch(pool, "SELECT status, attempts, length(idempotency_key) AS n FROM delivery_jobs")
    assert job["status"] == "PENDING" and job["attempts"] == 0 and job["n"] == 64


async def test_route_filters_and_deliver_on(pool, tenant):
    _, critical = await make_integration(pool, tenant, {"url": URL}, severities=["CRITICAL"])
    _, info = await make_integration(pool, tenant, {"url": URL}, severities=["INFO"])
    _, lifecycle = await make_integration(
        pool, tenant, {"url": URL}, deliver_on=["OPEN", "ACKNOWLEDGED", "CLOSED"]
    )
    _, types = await make_integration(pool, tenant, {"url": URL}, alert_types=["NO_HEARTBEAT"])
    _, prefix = await make_integration(pool, tenant, {"url": URL}, device_prefixes=["pump-"], min_severity=4)
    _, disabled = await make_integration(pool, tenant, {"url": URL}, enabled=False)
    dispatcher = Dispatcher()
    alert = await make_alert(pool, tenant, severity=5, device_id="pump-1")
    low = await make_alert(pool, tenant, severity=1, alert_type="NO_HEARTBEAT", device_id="pump-2")
    await dispatch(pool, dispatcher)
    await set_status(pool, tenant, alert, "ACKNOWLEDGED")
    await set_status(pool, tenant, alert, "CLOSED")
    await dispatch(pool, dispatcher)
    jobs = await jobs_by_route(pool)
    assert sorted(jobs) == sorted(
        [
            (critical, alert, "OPEN"),
            (lifecycle, alert, "OPEN"),
            (prefix, alert, "OPEN"),
            (info, low, "OPEN"),
            (lifecycle, low, "OPEN"),
            (types, low, "OPEN"),
            (lifecycle, alert, "ACKNOWLEDGED"),
            (lifecycle, alert, "CLOSED"),
        ]
    )
    assert disabled not in {j[0] for j in jobs}


async def test_other_tenants_routes_never_match(pool, tenant):
    from tests.factories import make_tenant

    other = await make_tenant(pool, "globex")
    await make_integration(pool, other, {"url": URL})
    await make_alert(pool, tenant)
    assert await dispatch(pool, Dispatcher()) == 0


async def test_cursor_waits_for_an_uncommitted_event_and_skips_a_rolled_back_one(pool, tenant):
    await make_integration(pool, tenant, {"url": URL})
    dispatcher = Dispatcher()
    start = await cursor(pool)
    async with pool.acquire() as slow:
        late = slow.transaction()
        await late.start()
        await slow.execute("SET LOCAL ROLE pulse_operator")
        slow_alert = await slow.fetchval(
            "INSERT INTO alerts (tenant_id, site_id, device_id, alert_type, fingerprint, severity, summary) "
            "VALUES ($1, 's', 'd-slow', 'THRESHOLD', 'slow', 5, 'late') RETURNING id",
            tenant,
        )
        quick = await make_alert(pool, tenant)  # commits after the slow one took its event id
        assert await dispatch(pool, dispatcher) == 1  # the committed event is delivered at once
        assert await cursor(pool) == start  # but the cursor stays below the uncommitted id
        assert await dispatch(pool, dispatcher) == 0
        await late.commit()
    assert await dispatch(pool, dispatcher) == 1
    assert {j[1] for j in await jobs_by_route(pool)} == {slow_alert, quick}
    assert await cursor(pool) == start + 2

    async with pool.acquire() as doomed:
        tx = doomed.transaction()
        await tx.start()
        await doomed.execute("SET LOCAL ROLE pulse_operator")
        await doomed.execute(
            "INSERT INTO alerts (tenant_id, site_id, device_id, alert_type, fingerprint, severity, summary) "
            "VALUES ($1, 's', 'd-doomed', 'THRESHOLD', 'doomed', 5, 'never') RETURNING id",
            tenant,
        )
        after = await make_alert(pool, tenant)
        assert await dispatch(pool, dispatcher) == 1
        await tx.rollback()
    # The gap is settled once its writer has ended: the cursor moves past it, nothing is lost.
    assert await dispatch(pool, dispatcher) == 0
    assert await dispatch(pool, dispatcher) == 0
    assert await cursor(pool) == start + 4
    assert after in {j[1] for j in await jobs_by_route(pool)}
    # A fresh dispatcher (a restart) from the stored cursor re-creates nothing.
    assert await dispatch(pool, Dispatcher()) == 0


async def test_a_rolled_back_gap_is_passed_while_another_database_is_busy_writing(
    pool, tenant, empty_database_url
):
    """PostgreSQL may be shared: a long write transaction in another database (which holds back the
    cluster-wide snapshot xmin) must not keep the cursor below a rolled-back event id."""
    await make_integration(pool, tenant, {"url": URL})
    dispatcher = Dispatcher()
    start = await cursor(pool)
    neighbour = await asyncpg.connect(empty_database_url)
    try:
        busy = neighbour.transaction()
        await busy.start()
        await neighbour.fetchval("SELECT pg_current_xact_id()")  # an xid: it now holds back xmin
        async with pool.acquire() as doomed:
            tx = doomed.transaction()
            await tx.start()
            await doomed.execute("SET LOCAL ROLE pulse_operator")
            await doomed.execute(
                "INSERT INTO alerts (tenant_id, site_id, device_id, alert_type, fingerprint, severity, summary) "
                "VALUES ($1, 's', 'd-doomed', 'THRESHOLD', 'doomed', 5, 'never')",
                tenant,
            )
            after = await make_alert(pool, tenant)
            assert await dispatch(pool, dispatcher) == 1
            await tx.rollback()
        assert await dispatch(pool, dispatcher) == 0
        assert await cursor(pool) == start + 2  # past the rolled-back id, the neighbour still busy
        assert after in {j[1] for j in await jobs_by_route(pool)}
        await busy.rollback()
    finally:
        await neighbour.close()
