"""Delivery workers: claim due jobs, send once (`deliver.deliver_once`), record the attempt, schedule the
retry or end.

- claim: due PENDING jobs `FOR UPDATE SKIP LOCKED` → PROCESSING with `claimed_at`/`locked_by`, so
  several workers (in one process or many) never take the same job; each comes with its target's
  (integration's or notification channel's) kind and config;
- a provider rate limit (the channel's `rate_limit`, a token bucket in PostgreSQL shared by every
  process) that says wait reserves the job's slot and puts it back to PENDING until then, without
  spending an attempt; at its slot it sends without asking again;
- every attempt is a `delivery_attempts` row; a success → COMPLETED (a channel job also →
  `notification_log`); a permanent failure or the last allowed attempt → FAILED (the dead letter; a
  re-drive sets `attempts_base`, so the budget counts from there while attempt numbers go on);
  otherwise PENDING again at now + max(Retry-After, full-jitter backoff) — uniform(0, min(cap,
  base·2^(n-1))), `pulse.backoff.full_jitter`;
- a PROCESSING job whose claim is older than `stuck_after` (its worker died) is put back to PENDING;
  the outcome of a worker whose job was reclaimed meanwhile is recorded as an attempt but does not
  change the job (its update is conditional on still holding the claim).

Code that reads the clock takes `now`, so backoff is tested without sleeping.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from types import ModuleType

import asyncpg
import httpx
import orjson

from pulse import metrics
from pulse.backoff import full_jitter
from pulse.crypto import Keyring
from pulse.db.tx import operator_tx
from pulse.escalation import ack_links
from pulse.log import get_logger
from pulse.notify import ssrf
from pulse.notify.channels.base import Reason, SendContext, SendResult
from pulse.notify.deliver import Outcome, deliver_mail, deliver_once, refused
from pulse.notify.events import AlertEvent
from pulse.notify.mailer import Mailer
from pulse.notify.targets import job_target_sql

ACTOR = "service:notify"
log = get_logger("pulse.notify")
# a claimed job's target (integration or notification channel) as one shape: target_kind, …
_TARGET_COLUMNS, _TARGET_JOINS = job_target_sql("c")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_seconds: float = 30.0
    max_seconds: float = 7200.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds before attempt `attempt + 1`: full jitter, never sooner than Retry-After."""
        jittered = full_jitter(attempt, self.base_seconds, self.max_seconds, rng)
        if retry_after is not None:
            return min(self.max_seconds, max(jittered, retry_after))
        return jittered


class Worker:
    def __init__(
        self,
        pool: asyncpg.Pool,
        http: httpx.AsyncClient,
        policy: ssrf.Policy,
        *,
        mqtt_url: str | None = None,
        ca_file: str | None = None,
        timeout: float = 10.0,
        keyring: Keyring | None = None,
        retry: RetryPolicy | None = None,
        stuck_after: timedelta = timedelta(minutes=5),
        name: str | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] = utcnow,
        mailer: Mailer | None = None,
        base_url: str = "http://127.0.0.1:8080",
    ):
        self._pool = pool
        self.mailer = mailer
        self.base_url = base_url  # where acknowledge links in messages point
        self._ack_key: bytes | None = None
        self._http = http
        self.context = SendContext(
            policy, "", 0, mqtt_url=mqtt_url, ca_file=ca_file, timeout=timeout, keyring=keyring
        )
        self.retry = retry or RetryPolicy()
        self.stuck_after = stuck_after
        self.name = name or f"notify-{uuid.uuid4().hex[:12]}"
        self._rng = rng or random.Random()
        self.clock = clock
        self.stats = metrics.Tally(
            {
                **{
                    outcome: metrics.NOTIFY_DELIVERIES.labels(outcome=outcome)
                    for outcome in ("sent", "failed", "retried")
                },
                "reclaimed": metrics.NOTIFY_JOBS_RECLAIMED,
                "deferred": metrics.NOTIFY_JOBS_DEFERRED,
            }
        )

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
        self.stats.inc("reclaimed", len(rows))
        return len(rows)

    async def claim(self, limit: int, now: datetime | None = None) -> list[asyncpg.Record]:
        """Due jobs → PROCESSING for this worker, each with its target's kind, enabled flag and config
        (one transaction for both). `now` None: the database clock."""
        async with operator_tx(self._pool, ACTOR) as conn:
            return await conn.fetch(
                f"""
                WITH due AS (
                    SELECT job_id FROM delivery_jobs
                     WHERE status = 'PENDING' AND next_run_at <= COALESCE($1::timestamptz, now())
                     ORDER BY next_run_at, job_id
                     LIMIT $3 FOR UPDATE SKIP LOCKED),
                claimed AS (
                    UPDATE delivery_jobs j
                       SET status = 'PROCESSING', claimed_at = COALESCE($1::timestamptz, now()), locked_by = $2
                      FROM due WHERE j.job_id = due.job_id
                    RETURNING j.job_id, j.tenant_id, j.alert_id, j.event, j.integration_id, j.channel_id,
                              j.routing_rule_id, j.attempts, j.attempts_base, j.rate_reserved, j.payload_json,
                              j.claimed_at, j.recipient, j.ack_link_id)
                SELECT c.*, {_TARGET_COLUMNS}
                  FROM claimed c
                {_TARGET_JOINS}
                """,
                now,
                self.name,
                limit,
            )

    async def _send(self, job: asyncpg.Record, now: datetime) -> Outcome:
        payload = job["payload_json"]
        payload = orjson.loads(payload) if isinstance(payload, str) else payload
        event = AlertEvent.from_json(payload["event"])
        if job["ack_link_id"] is not None:  # a message to a person carries their acknowledge link
            event = replace(
                event, ack_url=ack_links.url_for(self.base_url, await self._link_key(), job["ack_link_id"])
            )
        ctx = replace(self.context, message_id=f"pulse-job-{job['job_id']}", timestamp=int(now.timestamp()))
        if job["recipient"] is not None:  # mail to a person: the installation's mail, not a tenant target
            if self.mailer is None:
                return refused("mail_not_configured")
            return await deliver_mail(
                self.mailer, self._pool, job["job_id"], event, job["recipient"], self._http, ctx
            )
        if job["target_kind"] is None:
            return refused("target_not_found")
        if not job["target_enabled"]:
            return refused("target_disabled")
        return await deliver_once(
            job["target_kind"],
            job["target_config"],
            event,
            self._http,
            ctx,
            # a slot reserved by an earlier claim is ours: send without asking the bucket again
            gate=None if job["rate_reserved"] else self._rate_gate,
        )

    async def _link_key(self) -> bytes:
        if self._ack_key is None:
            async with operator_tx(self._pool, ACTOR) as conn:
                self._ack_key = await ack_links.link_key(conn)
        return self._ack_key

    async def _rate_gate(self, kind: str, channel: ModuleType, config: object) -> SendResult | None:
        wait = await self._rate_wait(kind, channel, config)
        if not wait:
            return None
        return SendResult(False, True, Reason.THROTTLED, retry_after=wait, detail="provider_rate_limit")

    async def _rate_wait(self, kind: str, channel: ModuleType, config: object) -> float:
        """Seconds until this job's slot under the target's provider rate limit (0: go now), shared by
        every process through `pulse_reserve_token`: a job that must wait has its slot reserved and
        sends without asking again when it comes. The bucket key is a hash, never the secret itself."""
        limit = getattr(channel, "rate_limit", None)
        spec = limit(config) if limit else None
        if spec is None:
            return 0.0
        target, per_second, burst = spec
        key = hashlib.sha256(f"{kind}\x1f{target}".encode()).hexdigest()
        async with operator_tx(self._pool, ACTOR) as conn:
            return float(
                await conn.fetchval("SELECT pulse_reserve_token($1, $2, $3)", key, per_second, burst)
            )

    async def process(self, job: asyncpg.Record, now: datetime | None = None) -> SendResult:
        """Send one claimed job and record the outcome."""
        now = now or self.clock()
        outcome = await self._send(job, now)
        result, error = outcome.result, outcome.error
        if result.reason is Reason.THROTTLED:
            await self._defer(job, now + timedelta(seconds=result.retry_after or 1.0))
            return result
        latency_ms = outcome.latency_ms
        attempt = job["attempts"] + 1
        if result.ok:
            status, next_run = "COMPLETED", now
        elif not result.retryable or attempt - job["attempts_base"] >= self.retry.max_attempts:
            status, next_run = "FAILED", now
        else:
            status = "PENDING"
            delay = self.retry.delay(attempt - job["attempts_base"], result.retry_after, self._rng)
            next_run = now + timedelta(seconds=delay)
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
            updated = await conn.execute(
                """
                UPDATE delivery_jobs
                   SET status = $4, attempts = $5, next_run_at = $6, last_error = $7, rate_reserved = false,
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
            if status == "COMPLETED" and job["channel_id"] is not None and updated.endswith(" 1"):
                await conn.execute(
                    """INSERT INTO notification_log (tenant_id, channel_id, alert_id, job_id, event,
                                                     routing_rule_id, sent_at)
                       VALUES ($1, $2, $3, $4, $5, $6, $7)""",
                    job["tenant_id"],
                    job["channel_id"],
                    job["alert_id"] or 0,
                    job["job_id"],
                    job["event"],
                    job["routing_rule_id"],
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
        self.stats.inc(key)
        metrics.NOTIFY_DELIVERY_SECONDS.labels(outcome=key).observe(latency_ms / 1000)
        return result

    async def _defer(self, job: asyncpg.Record, until: datetime) -> None:
        """Our own rate limit reserved a later slot: back to PENDING until then, without spending an
        attempt."""
        async with operator_tx(self._pool, ACTOR) as conn:
            await conn.execute(
                """UPDATE delivery_jobs SET status = 'PENDING', next_run_at = $4, rate_reserved = true,
                          claimed_at = NULL, locked_by = NULL
                    WHERE job_id = $1 AND status = 'PROCESSING' AND locked_by = $2 AND claimed_at = $3""",
                job["job_id"],
                self.name,
                job["claimed_at"],
                until,
            )
        self.stats.inc("deferred")
