"""Per-target provider rate limits (shared token buckets) and re-driven dead letters."""

from __future__ import annotations

from pulse.db.tx import operator_tx
from pulse.notify.channels.base import Reason
from pulse.notify.dispatch import Dispatcher
from pulse.notify.worker import RetryPolicy
from tests.integration.notify.helpers import Answer, Receiver, dispatch, fetch, make_integration, open_alert


async def take(pool, key: str, rate: float, burst: float) -> float:
    async with operator_tx(pool, "test") as conn:
        return await conn.fetchval("SELECT pulse_take_token($1, $2, $3)", key, rate, burst)


async def test_token_bucket_allows_the_burst_then_names_the_wait(pool):
    assert [await take(pool, "k", 0.5, 2) for _ in range(2)] == [0, 0]
    wait = await take(pool, "k", 0.5, 2)
    assert 0 < wait <= 2.0  # one token per 2 s
    assert await take(pool, "other", 0.5, 2) == 0  # buckets are per target


async def test_slack_jobs_to_one_webhook_are_spaced_without_spending_attempts(pool, tenant, make_worker):
    async with Receiver() as receiver:
        await make_integration(pool, tenant, {"url": receiver.url}, kind="slack")
        first, second = await open_alert(pool, tenant), await open_alert(pool, tenant)
        await dispatch(pool, Dispatcher())
        worker = make_worker()
        jobs = await worker.claim(10)
        results = [await worker.process(job) for job in jobs]
    assert [r.reason for r in results] == [Reason.OK, Reason.THROTTLED]
    assert len(receiver.requests) == 1
    deferred = await fetch(
        pool,
        "SELECT status, attempts, next_run_at > now() AS later, "
        "(SELECT count(*) FROM delivery_attempts a WHERE a.job_id = j.job_id) AS logged "
        "FROM delivery_jobs j WHERE job_id = $1",
        jobs[1]["job_id"],
    )
    assert dict(deferred[0]) == {"status": "PENDING", "attempts": 0, "later": True, "logged": 0}
    assert {first, second} == {j["alert_id"] for j in jobs}


async def test_failed_job_redriven_gets_a_fresh_budget_and_keeps_its_log(pool, tenant, make_worker):
    async with Receiver(Answer(503), Answer(503), Answer(200)) as receiver:
        await make_integration(pool, tenant, {"url": receiver.url})
        await open_alert(pool, tenant)
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
