"""Delivery workers: claim due jobs, send once, record the attempt, schedule the retry or end.

- claim: due PENDING jobs `FOR UPDATE SKIP LOCKED` → PROCESSING with `claimed_at`/`locked_by`, so
  several workers (in one process or many) never take the same job;
- every attempt is a `delivery_attempts` row; a success → COMPLETED; a permanent failure or the last
  allowed attempt → FAILED (the dead letter, re-drivable); otherwise PENDING again at
  now + max(Retry-After, full-jitter backoff) — uniform(0, min(cap, base·2^(n-1)));
- a PROCESSING job whose claim is older than `stuck_after` (its worker died) is put back to PENDING;
  the outcome of a worker whose job was reclaimed meanwhile is recorded as an attempt but does not
  change the job (its update is conditional on still holding the claim).

Code that reads the clock takes `now`, so backoff is tested without sleeping.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import asyncpg
import httpx
import orjson
from pydantic import SecretStr, ValidationError

from pulse.db.tx import operator_tx
from pulse.log import get_logger
from pulse.notify import ssrf
from pulse.notify.channels import CHANNELS
from pulse.notify.channels.base import Reason, SendContext, SendResult
from pulse.notify.events import AlertEvent

ACTOR = "service:notify"
log = get_logger("pulse.notify")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_seconds: float = 30.0
    max_seconds: float = 7200.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds before attempt `attempt + 1`: full jitter, never sooner than Retry-After."""
        ceiling = min(self.max_seconds, self.base_seconds * 2 ** (attempt - 1))
        jittered = rng.uniform(0, ceiling)
        if retry_after is not None:
            return min(self.max_seconds, max(jittered, retry_after))
        return jittered


def config_error(exc: ValidationError) -> str:
    """Field names and error types only: pydantic's message would echo input values (secrets)."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['type']}" for e in exc.errors())


def scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text[:500]


def secrets_of(config: object) -> list[str]:
    """Secret values of a channel config (and header values); for a secret URL (Slack) also its path,
    the credential part, which a provider's error body may echo without the host."""
    found = []
    for value in vars(config).values():
        if isinstance(value, dict):  # custom headers often carry tokens
            found += [v for v in value.values() if isinstance(v, str) and len(v) >= 8]
        if isinstance(value, SecretStr):
            secret = value.get_secret_value()
            found.append(secret)
            parts = urlsplit(secret)
            if parts.scheme and parts.path.strip("/"):
                found.append(parts.path.strip("/"))
    return sorted(found, key=len, reverse=True)


class Worker:
    def __init__(
        self,
        pool: asyncpg.Pool,
        http: httpx.AsyncClient,
        policy: ssrf.Policy,
        *,
        retry: RetryPolicy | None = None,
        stuck_after: timedelta = timedelta(minutes=5),
        name: str | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] = utcnow,
    ):
        self._pool = pool
        self._http = http
        self.policy = policy
        self.retry = retry or RetryPolicy()
        self.stuck_after = stuck_after
        self.name = name or f"notify-{uuid.uuid4().hex[:12]}"
        self._rng = rng or random.Random()
        self.clock = clock
        self.stats = {"sent": 0, "failed": 0, "retried": 0, "reclaimed": 0}

    async def reclaim(self, now: datetime | None = None) -> int:
        """`now` None: the database clock (job times default to it, so no host clock skew)."""
        async with operator_tx(self._pool, ACTOR) as conn:
            rows = await conn.fetch(
                """
                UPDATE delivery_jobs
                   SET status = 'PENDING', next_run_at = COALESCE($1::timestamptz, now()), claimed_at = NULL,
                       locked_by = NULL, last_error = 'stuck_requeued'
                 WHERE status = 'PROCESSING' AND claimed_at < COALESCE($1::timestamptz, now()) - $2::interval
                RETURNING job_id
                """,
                now,
                self.stuck_after,
            )
        self.stats["reclaimed"] += len(rows)
        return len(rows)

    async def claim(self, limit: int, now: datetime | None = None) -> list[asyncpg.Record]:
        """Due jobs → PROCESSING for this worker. `now` None: the database clock."""
        async with operator_tx(self._pool, ACTOR) as conn:
            return await conn.fetch(
                """
                WITH due AS (
                    SELECT job_id FROM delivery_jobs
                     WHERE status = 'PENDING' AND next_run_at <= COALESCE($1::timestamptz, now())
                     ORDER BY next_run_at, job_id
                     LIMIT $3 FOR UPDATE SKIP LOCKED)
                UPDATE delivery_jobs j
                   SET status = 'PROCESSING', claimed_at = COALESCE($1::timestamptz, now()), locked_by = $2
                  FROM due WHERE j.job_id = due.job_id
                RETURNING j.job_id, j.tenant_id, j.integration_id, j.attempts, j.payload_json, j.claimed_at
                """,
                now,
                self.name,
                limit,
            )

    async def _send(self, job: asyncpg.Record, now: datetime) -> tuple[SendResult, list[str]]:
        payload = job["payload_json"]
        payload = orjson.loads(payload) if isinstance(payload, str) else payload
        async with operator_tx(self._pool, ACTOR) as conn:
            integration = await conn.fetchrow(
                "SELECT type, enabled, config_json FROM integrations WHERE tenant_id = $1 AND integration_id = $2",
                job["tenant_id"],
                job["integration_id"],
            )
        if integration is None:
            return SendResult(False, False, Reason.CONFIG_INVALID, detail="integration_not_found"), []
        if not integration["enabled"]:
            return SendResult(False, False, Reason.CONFIG_INVALID, detail="integration_disabled"), []
        channel = CHANNELS.get(integration["type"])
        if channel is None:
            return SendResult(False, False, Reason.CONFIG_INVALID, detail="channel_unsupported"), []
        raw = integration["config_json"]
        raw = orjson.loads(raw) if isinstance(raw, str) else raw
        try:
            config = channel.Config.model_validate(raw)
        except ValidationError as exc:
            return SendResult(False, False, Reason.CONFIG_INVALID, detail=config_error(exc)), []
        event = AlertEvent.from_json(payload["event"])
        ctx = SendContext(self.policy, f"pulse-job-{job['job_id']}", int(now.timestamp()))
        try:
            result = await channel.send(event, config, self._http, ctx)
        except Exception as exc:  # a channel bug is a failed attempt, never a lost job
            result = SendResult(False, True, Reason.NETWORK, detail=f"{type(exc).__name__}")
        return result, secrets_of(config)

    async def process(self, job: asyncpg.Record, now: datetime | None = None) -> SendResult:
        """Send one claimed job and record the outcome."""
        now = now or self.clock()
        started = time.monotonic()
        result, secrets = await self._send(job, now)
        latency_ms = int((time.monotonic() - started) * 1000)
        attempt = job["attempts"] + 1
        error = None if result.ok else scrub(f"{result.reason}: {result.detail}".rstrip(": "), secrets)
        if result.ok:
            status, next_run = "COMPLETED", now
        elif not result.retryable or attempt >= self.retry.max_attempts:
            status, next_run = "FAILED", now
        else:
            status = "PENDING"
            next_run = now + timedelta(seconds=self.retry.delay(attempt, result.retry_after, self._rng))
        async with operator_tx(self._pool, ACTOR) as conn:
            await conn.execute(
                """
                INSERT INTO delivery_attempts (tenant_id, job_id, attempt_no, ok, http_status, reason,
                                               latency_ms, error, started_at, finished_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                """,
                job["tenant_id"],
                job["job_id"],
                attempt,
                result.ok,
                result.http_status,
                str(result.reason),
                latency_ms,
                error,
                now,
                now + timedelta(milliseconds=latency_ms),
            )
            await conn.execute(
                """
                UPDATE delivery_jobs
                   SET status = $4, attempts = $5, next_run_at = $6, last_error = $7,
                       completed_at = CASE WHEN $4::text = 'COMPLETED' THEN $8::timestamptz END,
                       claimed_at = NULL, locked_by = NULL
                 WHERE job_id = $1 AND status = 'PROCESSING' AND locked_by = $2 AND claimed_at = $3
                """,
                job["job_id"],
                self.name,
                job["claimed_at"],
                status,
                attempt,
                next_run,
                error,
                now,
            )
        if status == "FAILED":
            log.warning(
                "delivery failed; job is dead-lettered",
                tenant_id=job["tenant_id"],
                job_id=job["job_id"],
                attempts=attempt,
                reason=str(result.reason),
            )
        key = {"COMPLETED": "sent", "FAILED": "failed"}.get(status, "retried")
        self.stats[key] += 1
        return result
