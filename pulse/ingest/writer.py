"""The batch writer: every message ingest handled — accepted or rejected — is committed here, in batches.

One transaction per batch: binary COPY of telemetry rows, COPY of quarantine rows, one upsert of the
per-minute rejection counters, one upsert of `device_state` for the batch's devices, one location
update, and a `telemetry_batch` NOTIFY per tenant. Each message's `done` callback runs only after the
commit (MQTT: the QoS 1 acknowledgement; HTTP: the response), so nothing acknowledged is ever lost.

On a connection-type error the batch is kept and retried with backoff while new messages wait (the
callers see backpressure). On a data error — a row PostgreSQL refuses — the batch is written again
row by row and the refused rows are quarantined as INGEST_EXCEPTION, so one poison message can neither
block ingest nor take its neighbours down with it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg

from pulse import metrics
from pulse.backoff import Backoff
from pulse.db.tx import operator_tx
from pulse.ingest.reasons import Reason
from pulse.log import get_logger
from pulse.periodic import wait_event

log = get_logger("pulse.ingest")

TELEMETRY_COLUMNS = ("time", "tenant_id", "device_id", "site_id", "msg_type", "seq", "metrics")
QUARANTINE_COLUMNS = (
    "ingested_at", "event_ts", "topic", "tenant_id", "site_id", "device_id", "msg_type", "reason", "payload",
)  # fmt: skip

Done = Callable[[Reason | None], None]  # None: committed as telemetry; a Reason: committed as rejected


@dataclass(slots=True)
class TelemetryRow:
    time: datetime
    tenant_id: str
    device_id: str
    site_id: str
    msg_type: str
    seq: int
    metrics: dict
    received_at: datetime
    topic: str
    location: tuple[float, float] | None = None


@dataclass(slots=True)
class QuarantineRow:
    ingested_at: datetime
    topic: str
    reason: Reason
    payload: dict
    tenant_id: str | None = None
    device_id: str | None = None
    site_id: str | None = None
    msg_type: str | None = None
    event_ts: datetime | None = None
    store: bool = True  # False: over the per-device cap, only counted


@dataclass(slots=True)
class _Item:
    row: TelemetryRow | QuarantineRow
    done: Done | None


@dataclass
class WriterStats:
    rows_written: int = 0
    rejections_written: int = 0
    batches: int = 0
    retries: int = 0
    poison_rows: int = 0
    last_flush_ms: float = 0.0
    last_commit_at: datetime | None = field(default=None)


_TRANSIENT_SQLSTATE_CLASSES = ("08", "40", "53", "55", "57", "58")


def is_transient(exc: BaseException) -> bool:
    """Worth retrying the same batch: the server or the connection, not the data, failed."""
    if isinstance(exc, asyncpg.PostgresError):
        return (exc.sqlstate or "")[:2] in _TRANSIENT_SQLSTATE_CLASSES
    return isinstance(exc, (OSError, TimeoutError, asyncpg.InterfaceError, ConnectionError))


class BatchWriter:
    def __init__(self, pool: asyncpg.Pool, *, batch_size: int, flush_interval: float, max_pending: int):
        self.pool = pool
        self._batch_size = batch_size
        self._interval = flush_interval
        self.max_pending = max_pending
        self._items: list[_Item] = []
        self._full = asyncio.Event()
        self._not_empty = asyncio.Event()
        self._in_flight = 0  # items taken by the flush in progress
        self.stats = WriterStats()

    @property
    def pending(self) -> int:
        """Items accepted but not yet committed."""
        return len(self._items) + self._in_flight

    def has_room(self, count: int = 1) -> bool:
        return self.pending + count <= self.max_pending

    def add(self, row: TelemetryRow | QuarantineRow, done: Done | None = None) -> None:
        self._items.append(_Item(row, done))
        self._not_empty.set()
        if len(self._items) >= self._batch_size:
            self._full.set()

    async def run(self) -> None:
        """Group commit: once something is waiting, gather for at most `flush_interval` (less if the batch
        fills), then write. Idle costs nothing; busy, batches grow to what arrives during a write."""
        try:
            while True:
                await self._not_empty.wait()
                if len(self._items) < self._batch_size:
                    await wait_event(self._full, self._interval)
                self._full.clear()
                self._not_empty.clear()
                await self.flush()
                if self._items:
                    self._not_empty.set()
        except asyncio.CancelledError:
            while self._items:
                items = self._take()
                try:
                    outcomes = await asyncio.wait_for(self._write_once(items), timeout=5)
                except Exception as exc:  # the broker redelivers what was not acknowledged
                    log.warning(
                        "final flush failed; unacknowledged messages will be redelivered", error=str(exc)
                    )
                    break
                _complete(items, outcomes)
            raise

    def _take(self) -> list[_Item]:
        items, self._items = self._items[: self._batch_size], self._items[self._batch_size :]
        if len(self._items) >= self._batch_size:
            self._full.set()
        return items

    async def flush(self) -> None:
        while self._items:
            items = self._take()
            self._in_flight = len(items)
            try:
                await self._write_with_retry(items)
            finally:
                self._in_flight = 0

    async def _write_with_retry(self, items: list[_Item]) -> None:
        backoff = Backoff(0.1, 5.0)
        while True:
            try:
                outcomes = await self._write_once(items)
                break
            except Exception as exc:
                if not is_transient(exc):
                    log.warning("batch refused by the database; isolating the bad rows", error=str(exc))
                    try:
                        outcomes = await self._write_isolating(items)
                        break
                    except Exception as again:
                        exc = again
                        if not is_transient(again):
                            raise
                self.stats.retries += 1
                metrics.INGEST_WRITE_RETRIES.inc()
                delay = backoff.next_delay()
                log.warning("batch write failed; keeping it and retrying", error=str(exc), retry_in=delay)
                await asyncio.sleep(delay)
        _complete(items, outcomes)

    async def _write_once(self, items: list[_Item]) -> list[Reason | None]:
        started = time.perf_counter()
        telemetry = [i.row for i in items if isinstance(i.row, TelemetryRow)]
        rejected = [i.row for i in items if isinstance(i.row, QuarantineRow)]
        async with operator_tx(self.pool, "service:ingest") as conn:
            if telemetry:
                await conn.copy_records_to_table(
                    "telemetry", records=[_telemetry_record(r) for r in telemetry], columns=TELEMETRY_COLUMNS
                )
            await _write_rejections(conn, rejected)
            await _update_device_state(conn, telemetry)
        self._record_stats(len(telemetry), len(rejected), started)
        return [r.reason if isinstance(r, QuarantineRow) else None for r in (i.row for i in items)]

    async def _write_isolating(self, items: list[_Item]) -> list[Reason | None]:
        """Row by row, each in a savepoint; a refused telemetry row becomes an INGEST_EXCEPTION rejection."""
        started = time.perf_counter()
        outcomes: list[Reason | None] = []
        accepted: list[TelemetryRow] = []
        rejected: list[QuarantineRow] = []
        insert = f"INSERT INTO telemetry ({', '.join(TELEMETRY_COLUMNS)}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        async with operator_tx(self.pool, "service:ingest") as conn:
            for item in items:
                row = item.row
                if isinstance(row, QuarantineRow):
                    rejected.append(row)
                    outcomes.append(row.reason)
                    continue
                try:
                    async with conn.transaction():
                        await conn.execute(insert, *_telemetry_record(row))
                except (asyncpg.PostgresError, ValueError, TypeError) as exc:
                    if is_transient(exc):
                        raise
                    self.stats.poison_rows += 1
                    metrics.INGEST_POISON_ROWS.inc()
                    rejected.append(
                        QuarantineRow(
                            ingested_at=row.received_at,
                            topic=row.topic,
                            reason=Reason.INGEST_EXCEPTION,
                            payload={"error": type(exc).__name__, "detail": str(exc)[:500]},
                            tenant_id=row.tenant_id,
                            device_id=row.device_id,
                            site_id=row.site_id,
                            msg_type=row.msg_type,
                        )
                    )
                    outcomes.append(Reason.INGEST_EXCEPTION)
                    continue
                accepted.append(row)
                outcomes.append(None)
            await _write_rejections(conn, rejected)
            await _update_device_state(conn, accepted)
        self._record_stats(len(accepted), len(rejected), started)
        return outcomes

    def _record_stats(self, written: int, rejected: int, started: float) -> None:
        """This writer's own figures (the stats line reads them) and the process's metrics."""
        elapsed = time.perf_counter() - started
        self.stats.rows_written += written
        self.stats.rejections_written += rejected
        self.stats.batches += 1
        self.stats.last_flush_ms = elapsed * 1000
        self.stats.last_commit_at = datetime.now(UTC)
        metrics.INGEST_ROWS_WRITTEN.inc(written)
        metrics.INGEST_REJECTIONS_WRITTEN.inc(rejected)
        metrics.INGEST_BATCHES.inc()
        metrics.INGEST_FLUSH_SECONDS.observe(elapsed)
        metrics.INGEST_BATCH_MESSAGES.observe(written + rejected)
        metrics.INGEST_LAST_COMMIT.set(self.stats.last_commit_at.timestamp())


def _complete(items: list[_Item], outcomes: list[Reason | None]) -> None:
    for item, outcome in zip(items, outcomes, strict=True):
        if item.done is not None:
            try:
                item.done(outcome)
            except Exception:
                log.exception("completion callback failed")


def _telemetry_record(r: TelemetryRow) -> tuple:
    return (r.time, r.tenant_id, r.device_id, r.site_id, r.msg_type, r.seq, r.metrics)


async def _write_rejections(conn: asyncpg.Connection, rejected: list[QuarantineRow]) -> None:
    if not rejected:
        return
    stored = [
        (
            r.ingested_at,
            r.event_ts,
            r.topic,
            r.tenant_id,
            r.site_id,
            r.device_id,
            r.msg_type,
            r.reason.value,
            r.payload,
        )
        for r in rejected
        if r.store
    ]
    if stored:
        await conn.copy_records_to_table("quarantine_events", records=stored, columns=QUARANTINE_COLUMNS)
    counts: dict[tuple[datetime, str, str], int] = {}
    for r in rejected:
        key = (r.ingested_at.replace(second=0, microsecond=0), r.tenant_id or "", r.reason.value)
        counts[key] = counts.get(key, 0) + 1
    minutes, tenants, reasons = zip(*counts, strict=True)
    await conn.execute(
        """INSERT INTO quarantine_counters_minute AS q (bucket_minute, tenant_id, reason, cnt)
           SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::bigint[])
           ON CONFLICT (bucket_minute, tenant_id, reason) DO UPDATE SET cnt = q.cnt + EXCLUDED.cnt""",
        list(minutes),
        list(tenants),
        list(reasons),
        list(counts.values()),
    )


async def _update_device_state(conn: asyncpg.Connection, rows: list[TelemetryRow]) -> None:
    """One upsert for all devices in the batch (sorted, so concurrent writers lock in the same order)."""
    if not rows:
        return
    devices: dict[tuple[str, str], list] = {}  # key -> [site, seen, heartbeat, telemetry, state, location]
    for r in rows:
        d = devices.get((r.tenant_id, r.device_id))
        if d is None:
            d = devices[(r.tenant_id, r.device_id)] = [r.site_id, r.received_at, None, None, {}, None]
        d[0] = r.site_id
        d[1] = max(d[1], r.received_at)
        if r.msg_type == "heartbeat":
            d[2] = r.received_at if d[2] is None else max(d[2], r.received_at)
        elif r.msg_type == "telemetry":
            d[3] = r.received_at if d[3] is None else max(d[3], r.received_at)
            d[4].update(r.metrics)
        if r.location is not None:
            d[5] = r.location
    keys = sorted(devices)
    cols = list(zip(*(devices[k] for k in keys), strict=True))
    await conn.execute(
        """INSERT INTO device_state AS ds (tenant_id, device_id, site_id, status, last_seen_at,
                                           last_heartbeat_at, last_telemetry_at, last_state_change_at, state)
           SELECT u.t, u.d, u.s, 'ONLINE', u.seen, u.hb, u.tel, now(), u.st
             FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[],
                         $6::timestamptz[], $7::jsonb[]) AS u(t, d, s, seen, hb, tel, st)
            ORDER BY u.t, u.d
           ON CONFLICT (tenant_id, device_id) DO UPDATE SET
               site_id = EXCLUDED.site_id,
               last_seen_at = GREATEST(ds.last_seen_at, EXCLUDED.last_seen_at),
               last_heartbeat_at = GREATEST(ds.last_heartbeat_at, EXCLUDED.last_heartbeat_at),
               last_telemetry_at = GREATEST(ds.last_telemetry_at, EXCLUDED.last_telemetry_at),
               state = ds.state || EXCLUDED.state,
               last_state_change_at = CASE WHEN ds.status <> 'ONLINE' THEN now() ELSE ds.last_state_change_at END,
               status = 'ONLINE'""",
        [k[0] for k in keys],
        [k[1] for k in keys],
        list(cols[0]),
        list(cols[1]),
        list(cols[2]),
        list(cols[3]),
        list(cols[4]),
    )
    located = [(k, devices[k][5]) for k in keys if devices[k][5] is not None]
    if located:
        await conn.execute(
            """UPDATE device_registry d
                  SET latitude = u.lat, longitude = u.lng, location_source = COALESCE(d.location_source, 'auto')
                 FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[]) AS u(t, dev, lat, lng)
                WHERE d.tenant_id = u.t AND d.device_id = u.dev
                  AND (d.location_source IS NULL OR d.location_source = 'auto')
                  AND (d.latitude IS DISTINCT FROM u.lat OR d.longitude IS DISTINCT FROM u.lng)""",
            [k[0] for k, _ in located],
            [k[1] for k, _ in located],
            [loc[0] for _, loc in located],
            [loc[1] for _, loc in located],
        )
    await conn.execute(
        "SELECT pg_notify('telemetry_batch', t) FROM unnest($1::text[]) AS t", sorted({k[0] for k in keys})
    )
