"""The escalation worker on real PostgreSQL: the snapshot taken at open, each level fired once by
several workers, a worker dying mid-batch, acknowledge/close/silence/maintenance, repeats, missing
targets, and every step on the alert's timeline. Time is driven through `fire_due(now=…)`."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from pulse.api.queries.alerts import list_events
from pulse.db.tx import operator_tx
from pulse.escalation.worker import Escalator
from tests.factories import (
    make_alert,
    make_alert_rule,
    make_channel,
    make_person,
    make_policy,
    make_schedule,
    make_tenant,
)


@pytest.fixture
async def tenant(pool) -> str:
    return await make_tenant(pool)


def escalator(pool, **kwargs) -> Escalator:
    return Escalator(pool, base_url="http://pulse.test", **kwargs)


async def alert_row(pool, alert_id: int):
    async with operator_tx(pool, "test") as conn:
        return await conn.fetchrow("SELECT * FROM alerts WHERE id = $1", alert_id)


async def person_jobs(pool, alert_id: int):
    async with operator_tx(pool, "test") as conn:
        return await conn.fetch(
            """SELECT job_id, recipient, user_id, channel_id, ack_link_id, escalation_level, event, payload_json
                 FROM delivery_jobs WHERE alert_id = $1 ORDER BY job_id""",
            alert_id,
        )


async def fired_events(pool, alert_id: int):
    async with operator_tx(pool, "test") as conn:
        return await conn.fetch(
            "SELECT level_number, event, details FROM escalation_events WHERE alert_id = $1 ORDER BY id",
            alert_id,
        )


async def due_at(pool, alert_id: int) -> datetime:
    return (await alert_row(pool, alert_id))["next_escalation_at"]


async def two_level_policy(pool, tenant: str, **kwargs) -> tuple[int, object, object]:
    """Level 1 (at once) → the person on call; level 2 (after 10 minutes) → a second person."""
    first = await make_person(pool, tenant)
    second = await make_person(pool, tenant)
    schedule = await make_schedule(pool, tenant, [first])
    policy = await make_policy(
        pool,
        tenant,
        [(0, [{"type": "schedule", "id": schedule}]), (10, [{"type": "user", "id": str(second)}])],
        **kwargs,
    )
    return policy, first, second


async def test_an_alert_opens_with_its_rules_policy_snapshot_and_first_due_time(pool, tenant):
    policy, _, _ = await two_level_policy(pool, tenant)
    rule_id = await make_alert_rule(pool, tenant, escalation_policy_id=policy)
    async with operator_tx(pool, "test") as conn:
        alert_id = await conn.fetchval(
            """INSERT INTO alerts (tenant_id, site_id, device_id, alert_type, fingerprint, rule_id, summary)
               VALUES ($1, 's', 'd', 'THRESHOLD', 'fp', $2, 'hot') RETURNING id""",
            tenant,
            rule_id,
        )
    row = await alert_row(pool, alert_id)
    snapshot = row["escalation_snapshot"]
    assert snapshot["policy_id"] == policy and [lv["level"] for lv in snapshot["levels"]] == [1, 2]
    assert snapshot["progress"] == {"next_index": 0, "pass": 0, "fired": 0}
    assert row["next_escalation_at"] == row["created_at"]  # level 1 has no delay
    assert row["escalation_run_id"] is not None


async def test_alerts_without_a_rule_use_the_tenant_default_and_no_policy_means_no_escalation(pool, tenant):
    bare = await make_alert(pool, tenant, alert_type="NO_HEARTBEAT")
    assert (await alert_row(pool, bare))["escalation_snapshot"] is None
    policy, _, _ = await two_level_policy(pool, tenant, is_default=True)
    heartbeat = await make_alert(pool, tenant, alert_type="NO_HEARTBEAT")
    assert (await alert_row(pool, heartbeat))["escalation_snapshot"]["policy_id"] == policy


async def test_levels_fire_in_order_after_their_delays_and_reach_the_person_on_call(pool, tenant):
    policy, first, second = await two_level_policy(pool, tenant, is_default=True)
    alert_id = await make_alert(pool, tenant)
    worker = escalator(pool)
    opened = await due_at(pool, alert_id)

    assert await worker.fire_due(now=opened + timedelta(seconds=1)) == 1
    jobs = await person_jobs(pool, alert_id)
    assert [(j["user_id"], j["recipient"], j["escalation_level"], j["event"]) for j in jobs] == [
        (first, f"{(await username(pool, first))}@example.com", 1, "ESCALATED")
    ]
    assert jobs[0]["ack_link_id"] is not None
    row = await alert_row(pool, alert_id)
    assert row["escalation_level"] == 1
    assert row["next_escalation_at"] == opened + timedelta(seconds=1) + timedelta(minutes=10)

    # nothing more until level 2's delay has passed
    assert await worker.fire_due(now=opened + timedelta(minutes=5)) == 0
    assert await worker.fire_due(now=opened + timedelta(minutes=11)) == 1
    jobs = await person_jobs(pool, alert_id)
    assert [j["user_id"] for j in jobs] == [first, second]
    row = await alert_row(pool, alert_id)
    assert (row["escalation_level"], row["next_escalation_at"]) == (2, None)  # exhausted
    fired = await fired_events(pool, alert_id)
    assert [(e["level_number"], e["details"]["exhausted"]) for e in fired] == [(1, False), (2, True)]
    assert fired[0]["details"]["notified"][0]["via"] == f"schedule:{(await schedule_of(pool, policy))}"
    assert fired[0]["details"]["notified"][0]["job_id"] == jobs[0]["job_id"]


async def username(pool, user_id) -> str:
    async with operator_tx(pool, "test") as conn:
        return await conn.fetchval("SELECT username FROM users WHERE user_id = $1", user_id)


async def schedule_of(pool, policy_id: int) -> int:
    async with operator_tx(pool, "test") as conn:
        targets = await conn.fetchval(
            "SELECT targets FROM escalation_levels WHERE policy_id = $1 AND level_number = 1", policy_id
        )
    return targets[0]["id"]


async def test_the_timeline_shows_each_step_and_escalated_events_reach_the_stream(pool, tenant):
    await two_level_policy(pool, tenant, is_default=True)
    alert_id = await make_alert(pool, tenant)
    await escalator(pool).fire_due(now=await due_at(pool, alert_id))
    async with operator_tx(pool, "test") as conn:
        events = await list_events(conn, tenant, alert_id)
    kinds = [e.event for e in events]
    assert kinds == ["OPENED", "ESCALATED", "NOTIFIED"]
    notified = events[-1]
    assert notified.level == 1 and notified.details["notified"][0]["route"] == "email"
    assert events[1].details["escalation_level"] == 1


async def test_editing_or_deleting_the_policy_never_changes_a_running_escalation(pool, tenant):
    policy, first, second = await two_level_policy(pool, tenant, is_default=True)
    alert_id = await make_alert(pool, tenant)
    before = (await alert_row(pool, alert_id))["escalation_snapshot"]
    async with operator_tx(pool, "test") as conn:
        await conn.execute("UPDATE escalation_levels SET delay_minutes = 999 WHERE policy_id = $1", policy)
        await conn.execute("DELETE FROM escalation_levels WHERE policy_id = $1 AND level_number = 2", policy)
    assert (await alert_row(pool, alert_id))["escalation_snapshot"] == before
    async with operator_tx(pool, "test") as conn:
        await conn.execute("DELETE FROM escalation_policies WHERE policy_id = $1", policy)
    opened = await due_at(pool, alert_id)
    worker = escalator(pool)
    await worker.fire_due(now=opened)
    await worker.fire_due(now=opened + timedelta(minutes=10))
    assert [j["user_id"] for j in await person_jobs(pool, alert_id)] == [first, second]


async def test_two_workers_fire_each_level_once(pool, tenant):
    await two_level_policy(pool, tenant, is_default=True)
    alerts = [await make_alert(pool, tenant) for _ in range(30)]
    now = datetime.now(UTC) + timedelta(seconds=5)
    a, b = escalator(pool, batch=7), escalator(pool, batch=7)

    async def drain(worker: Escalator) -> int:
        total = 0
        while claimed := await worker.fire_due(now=now):
            total += claimed
        return total

    counts = await asyncio.gather(drain(a), drain(b))
    assert sum(counts) == 30
    async with operator_tx(pool, "test") as conn:
        fired = await conn.fetch(
            "SELECT alert_id, count(*) AS n FROM escalation_events WHERE event = 'fired' GROUP BY alert_id"
        )
        jobs = await conn.fetchval(
            "SELECT count(*) FROM delivery_jobs WHERE alert_id = ANY($1::bigint[])", alerts
        )
    assert sorted(r["alert_id"] for r in fired) == sorted(alerts) and {r["n"] for r in fired} == {1}
    assert jobs == 30


async def test_a_worker_dying_mid_batch_loses_no_level_and_fires_none_twice(pool, tenant, monkeypatch):
    await two_level_policy(pool, tenant, is_default=True)
    alert_id = await make_alert(pool, tenant)
    now = await due_at(pool, alert_id)
    dying = escalator(pool)
    original = dying._create_jobs

    async def die_after_the_jobs(*args, **kwargs):
        await original(*args, **kwargs)  # jobs and links written, alert advanced … then the process dies
        raise ConnectionResetError("killed")

    monkeypatch.setattr(dying, "_create_jobs", die_after_the_jobs)
    with pytest.raises(ConnectionResetError):
        await dying.fire_due(now=now)
    assert await person_jobs(pool, alert_id) == []  # rolled back with the rest
    assert (await alert_row(pool, alert_id))["escalation_level"] == 0

    assert await escalator(pool).fire_due(now=now) == 1
    assert len(await person_jobs(pool, alert_id)) == 1
    assert await escalator(pool).fire_due(now=now) == 0


async def test_a_stale_claim_is_fenced_off_by_the_run_id(pool, tenant):
    await two_level_policy(pool, tenant, is_default=True)
    alert_id = await make_alert(pool, tenant)
    now = await due_at(pool, alert_id)
    worker = escalator(pool)
    async with operator_tx(pool, "test") as conn:
        (stale,) = await conn.fetch("SELECT * FROM alerts WHERE id = $1", alert_id)
        # meanwhile "escalate now" / acknowledge and re-open rotate the run id
        await conn.execute("UPDATE alerts SET escalation_run_id = gen_random_uuid() WHERE id = $1", alert_id)
    async with operator_tx(pool, "test") as conn:
        tenants = await worker._load(conn, [stale], now)
        await worker._write(conn, [worker._decide(stale, tenants[tenant], now)], tenants, now)
    assert await person_jobs(pool, alert_id) == []
    assert (await alert_row(pool, alert_id))["escalation_level"] == 0


@pytest.mark.parametrize("how", ["acknowledge", "close"])
async def test_acknowledge_or_close_stops_further_levels(pool, tenant, how):
    await two_level_policy(pool, tenant, is_default=True)
    alert_id = await make_alert(pool, tenant)
    opened = await due_at(pool, alert_id)
    worker = escalator(pool)
    await worker.fire_due(now=opened)
    async with operator_tx(pool, "test") as conn:
        if how == "acknowledge":
            await conn.execute(
                "UPDATE alerts SET status = 'ACKNOWLEDGED', next_escalation_at = NULL,"
                " escalation_run_id = gen_random_uuid() WHERE id = $1",
                alert_id,
            )
        else:
            await conn.execute(
                "UPDATE alerts SET status = 'CLOSED', closed_at = now(), next_escalation_at = NULL,"
                " escalation_run_id = gen_random_uuid() WHERE id = $1",
                alert_id,
            )
    assert await worker.fire_due(now=opened + timedelta(hours=1)) == 0
    assert len(await person_jobs(pool, alert_id)) == 1


async def test_a_silence_holds_the_escalation_until_it_ends(pool, tenant):
    await two_level_policy(pool, tenant, is_default=True)
    alert_id = await make_alert(pool, tenant)
    opened = await due_at(pool, alert_id)
    until = opened + timedelta(minutes=30)
    async with operator_tx(pool, "test") as conn:
        await conn.execute("UPDATE alerts SET silenced_until = $2 WHERE id = $1", alert_id, until)
    worker = escalator(pool)
    assert await worker.fire_due(now=opened) == 1
    assert await person_jobs(pool, alert_id) == [] and await due_at(pool, alert_id) == until
    assert [e["event"] for e in await fired_events(pool, alert_id)] == ["held"]
    assert await worker.fire_due(now=until) == 1  # the silence is over: level 1 fires
    assert len(await person_jobs(pool, alert_id)) == 1


async def test_a_maintenance_window_holds_the_escalation(pool, tenant):
    await two_level_policy(pool, tenant, is_default=True)
    alert_id = await make_alert(pool, tenant)
    opened = await due_at(pool, alert_id)
    async with operator_tx(pool, "test") as conn:
        await conn.execute(
            "INSERT INTO alert_maintenance_windows (tenant_id, name, starts_at, ends_at)"
            " VALUES ($1, 'upgrade', $2, $3)",
            tenant,
            opened - timedelta(minutes=1),
            opened + timedelta(minutes=5),
        )
    worker = escalator(pool)
    await worker.fire_due(now=opened)
    await worker.fire_due(now=opened + timedelta(minutes=1))  # still held: no second "held" entry
    assert await person_jobs(pool, alert_id) == []
    assert [(e["event"], e["details"]["reason"]) for e in await fired_events(pool, alert_id)] == [
        ("held", "maintenance")
    ]
    await worker.fire_due(now=opened + timedelta(minutes=6))
    assert len(await person_jobs(pool, alert_id)) == 1


async def test_a_policy_repeats_its_levels_while_nobody_acknowledges(pool, tenant):
    person = await make_person(pool, tenant)
    await make_policy(
        pool, tenant, [(0, [{"type": "user", "id": str(person)}])], is_default=True, repeat_count=2
    )
    alert_id = await make_alert(pool, tenant)
    now = await due_at(pool, alert_id)
    worker = escalator(pool)
    for _ in range(5):
        await worker.fire_due(now=now)
        now += timedelta(minutes=1)
    assert len(await person_jobs(pool, alert_id)) == 3  # once and two repeats
    assert await due_at(pool, alert_id) is None
    async with operator_tx(pool, "test") as conn:
        escalated = await conn.fetchval(
            "SELECT count(*) FROM alert_events WHERE alert_id = $1 AND event = 'ESCALATED'", alert_id
        )
    assert escalated == 3


async def test_missing_targets_are_recorded_and_the_escalation_goes_on(pool, tenant):
    gone = await make_person(pool, tenant)
    nobody = await make_schedule(pool, tenant, [])
    channel = await make_channel(pool, tenant, {"url": "https://example.com/hook"})
    await make_policy(
        pool,
        tenant,
        [
            (
                0,
                [
                    {"type": "user", "id": str(gone)},
                    {"type": "schedule", "id": nobody},
                    {"type": "schedule", "id": 987654},
                    {"type": "channel", "id": channel},
                ],
            ),
            (5, [{"type": "channel", "id": channel}]),
        ],
        is_default=True,
    )
    async with operator_tx(pool, "test") as conn:
        await conn.execute("DELETE FROM users WHERE user_id = $1", gone)
    alert_id = await make_alert(pool, tenant)
    now = await due_at(pool, alert_id)
    await escalator(pool).fire_due(now=now)
    (event,) = await fired_events(pool, alert_id)
    assert sorted((p["code"], p["target"]) for p in event["details"]["problems"]) == sorted(
        [
            ("target_missing", f"user:{gone}"),
            ("no_responder", f"schedule:{nobody}"),
            ("target_missing", "schedule:987654"),
        ]
    )
    jobs = await person_jobs(pool, alert_id)
    assert [(j["channel_id"], j["user_id"], j["ack_link_id"]) for j in jobs] == [(channel, None, None)]
    assert await due_at(pool, alert_id) == now + timedelta(minutes=5)
