"""Per-target provider rate limits (shared token buckets) and re-driven dead letters."""

from __future__ import annotations

import itertools

from pulse.db.tx import operator_tx
from pulse.notify.channels.base import Reason
from pulse.notify.dispatch import Dispatcher
from pulse.notify.worker import RetryPolicy
from tests.factories import make_alert, make_integration
from tests.integration.notify.helpers import Answer, Receiver, dispatch, fetch


async def take(pool, key: str, rate: float, burst: float) -> float:
    async with operator_tx(pool, "test") as conn:
        return await conn.fetchval("SELECT pulse_reserve_token($1, $2, $3)", key, rate, burst)


async def test_token_bucket_allows_the_burst_then_reserves_later_slots(pool):
    assert [await take(pool, "k", 0.5, 2) for _ in range(2)] == [0, 0]
    waits = [await take(pool, "k", 0.5, 2) for _ in range(3)]
    assert 0 < waits[0] <= 2.0  # one token per 2 s
    assert [round(b - a) for a, b in itertools.pairwise(waits)] == [2, 2]  # one slot each
    assert await take(pool, "other", 0.5, 2) == 0  # buckets are per target


async def test_slack_jobs_to_one_webhook_get_a_slot_each_without_spending_attempts(pool, tenant, make_worker):
    async with Receiver() as receiver:
        await make_integration(pool, tenant, {"url": receiver.url}, kind="slack")
        for _ in range(3):
            await make_alert(pool, tenant)
        await dispatch(pool, Dispatcher())
        worker = make_worker()
        jobs = await worker.claim(10)
        results = [await worker.process(job) for job in jobs]
        assert [r.reason for r in results] == [Reason.OK, Reason.THROTTLED, Reason.THROTTLED]
        assert len(receiver.requests) == 1
        deferred = await fetch(
            pool,
            "SELECT status, attempts, rate_reserved, extract(epoch FROM next_run_at - now()) AS wait, "
            "(SELECT count(*) FROM delivery_attempts a WHERE a.job_id = j.job_id) AS logged "
            "FROM delivery_jobs j WHERE job_id = ANY($1::bigint[]) ORDER BY next_run_at",
            [j["job_id"] for j in jobs[1:]],
        )
        assert [(d["status"], d["attempts"], d["rate_reserved"], d["logged"]) for d in deferred] == [
            ("PENDING", 0, True, 0)
        ] * 2
        assert 0 < deferred[0]["wait"] < deferred[1]["wait"]  # one slot per second, in order
        # at its slot a reserved job sends without asking the bucket again (which would say wait)
        async with operator_tx(pool, "test") as conn:
            await conn.execute("UPDATE delivery_jobs SET next_run_at = now() WHERE rate_reserved")
        (first,) = await worker.claim(1)
        assert (await worker.process(first)).ok and len(receiver.requests) == 2
    (sent,) = await fetch(
        pool, "SELECT rate_reserved, attempts FROM delivery_jobs WHERE job_id = $1", first["job_id"]
    )
    assert tuple(sent.values()) == (False, 1)


async def test_failed_job_redriven_gets_a_fresh_budget_and_keeps_its_log(pool, tenant, make_worker):
    async with Receiver(Answer(503), Answer(503), Answer(200)) as receiver:
        await make_integration(pool, tenant, {"url": receiver.url})
        await make_alert(pool, tenant)
        await dispatch(pool, Dispatcher())
        worker = make_worker(retry=RetryPolicy(max_attempts=2, base_seconds=0.001, max_seconds=0.001))
        for _ in range(2):
            (job,) = await worker.claim(10)
            await worker.process(job)
        (failed,) = await fetch(pool, "SELECT job_id, status, attempts FROM delivery_jobs")
        assert (failed["status"], failed["attempts"]) == ("FAILED", 2)
        async with operator_tx(pool, "test") as conn:  # what the re-drive endpoint does
            await conn.execute(
                "UPDATE delivery_jobs SET status = 'PENDING', next_run_at = now(), attempts_base = attempts,"
                " redriven_at = now() WHERE job_id = $1",
                failed["job_id"],
            )
        (job,) = await worker.claim(10)
        assert (await worker.process(job)).ok
    attempts = await fetch(pool, "SELECT attempt_no, ok FROM delivery_attempts ORDER BY attempt_no")
    assert [(a["attempt_no"], a["ok"]) for a in attempts] == [(1, False), (2, False), (3, True)]
    (done,) = await fetch(pool, "SELECT status, attempts FROM delivery_jobs")
    assert tuple(done.values()) == ("COMPLETED", 3)
