"""`pulse_notify_jobs{state}`: the delivery backlog as the database sees it (every tenant, every notify
copy), recounted every `REFRESH_SECONDS` rather than at scrape time, so a scrape never waits on a query.
Completed jobs are not counted (they only grow); each counted state has its own partial index, so the
cost follows the backlog and the dead letters, never the history."""

from __future__ import annotations

import asyncpg

from pulse import metrics
from pulse.db.tx import operator_tx
from pulse.log import get_logger
from pulse.periodic import OUTAGE_ERRORS, run_every

log = get_logger("pulse.notify")

REFRESH_SECONDS = 15.0
STATES = ("PENDING", "PROCESSING", "FAILED")


async def count_jobs(pool: asyncpg.Pool) -> dict[str, int]:
    async with operator_tx(pool, "service:notify") as conn:
        row = await conn.fetchrow(
            """SELECT (SELECT count(*) FROM delivery_jobs WHERE status = 'PENDING') AS pending,
                      (SELECT count(*) FROM delivery_jobs WHERE status = 'PROCESSING') AS processing,
                      (SELECT count(*) FROM delivery_jobs WHERE status = 'FAILED') AS failed"""
        )
    return {state: row[state.lower()] for state in STATES}


async def refresh(pool: asyncpg.Pool) -> None:
    for state, count in (await count_jobs(pool)).items():
        metrics.NOTIFY_JOBS.labels(state=state).set(count)


async def run(pool: asyncpg.Pool) -> None:
    await run_every(
        REFRESH_SECONDS,
        lambda: refresh(pool),
        log=log,
        failure="could not count delivery jobs",
        expected=OUTAGE_ERRORS,
    )
