"""The `ingest` service: MQTT messages → validation → batch writer → PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib

from pulse.config import Settings
from pulse.db.pool import create_pool
from pulse.ingest.mqtt_consumer import Inbox, MqttConsumer, client_id_of
from pulse.ingest.pipeline import Ingestor, build_ingestor, wait_for_limits
from pulse.ingest.subscriptions import forget_when_removed, previous_filters
from pulse.log import get_logger
from pulse.periodic import run_every

log = get_logger("pulse.ingest")

STATS_INTERVAL = 30.0


async def log_stats(ingestor: Ingestor) -> None:
    """A summary line every `STATS_INTERVAL` seconds, until cancelled."""
    await run_every(
        STATS_INTERVAL,
        lambda: _log_stats_once(ingestor),
        log=log,
        failure="could not log ingest stats",
        wait_first=True,
    )


async def _log_stats_once(ingestor: Ingestor) -> None:
    s = ingestor.writer.stats
    log.info(
        "ingest stats",
        accepted=ingestor.counts["accepted"],
        rejected=sum(v for k, v in ingestor.counts.items() if k not in ("accepted", "retained_resent")),
        retained_resent=ingestor.counts["retained_resent"],
        rows_written=s.rows_written,
        pending=ingestor.writer.pending,
        last_flush_ms=round(s.last_flush_ms, 1),
    )


async def run(settings: Settings) -> None:
    pool = await create_pool(settings, name="ingest", min_size=1, max_size=4)
    ingestor = build_ingestor(settings, pool, "mqtt")
    await wait_for_limits(ingestor)
    inbox = Inbox(asyncio.get_running_loop(), settings.ingest_max_inflight)
    configured = MqttConsumer.filter_for(settings)
    client_id = client_id_of(settings)
    stale = await previous_filters(pool, client_id, configured) - {configured}
    consumer = MqttConsumer(settings, inbox, stale)
    forget = asyncio.create_task(
        forget_when_removed(pool, client_id, configured, consumer.stale_removed), name="ingest-forget"
    )
    background = [
        asyncio.create_task(ingestor.writer.run(), name="ingest-writer"),
        asyncio.create_task(ingestor.limits.run(), name="ingest-limits"),
        asyncio.create_task(log_stats(ingestor), name="ingest-stats"),
    ]
    consumer.start()
    try:
        while True:
            batch = await inbox.get(settings.ingest_batch_size)
            await ingestor.submit(batch)
            for task in background:
                if task.done():  # a background task must never end; surface its error
                    task.result()
                    raise RuntimeError(f"{task.get_name()} stopped")
    finally:
        # Stop receiving first, then let the writer commit (and acknowledge) what it holds.
        consumer.stop()
        for task in [*background, forget]:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*background, forget, return_exceptions=True)
        await pool.close()
