"""Runtime limits from `app_settings`, re-read while ingest runs so operators can change them live."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from pulse.db.tx import operator_tx
from pulse.log import get_logger
from pulse.periodic import OUTAGE_ERRORS, run_every

log = get_logger("pulse.ingest")


@dataclass(frozen=True)
class IngestLimits:
    max_payload_bytes: int = 16384
    device_rps: float = 10.0
    device_burst: float = 50.0
    tenant_rps: float = 5000.0
    tenant_burst: float = 10000.0
    retention_days: int = 30


# app_settings key -> (field, parser, lowest allowed value)
_KEYS = {
    "MAX_PAYLOAD_BYTES": ("max_payload_bytes", int, 256),
    "RATE_LIMIT_RPS": ("device_rps", float, 0.01),
    "RATE_LIMIT_BURST": ("device_burst", float, 1.0),
    "TENANT_RATE_LIMIT_RPS": ("tenant_rps", float, 0.01),
    "TENANT_RATE_LIMIT_BURST": ("tenant_burst", float, 1.0),
    "telemetry_retention_days": ("retention_days", int, 1),
}


def parse_limits(rows: dict[str, str]) -> IngestLimits:
    """Unknown keys are ignored; a malformed or too-small value keeps its default (and is logged)."""
    values: dict[str, object] = {}
    for key, (field, parse, lowest) in _KEYS.items():
        if key not in rows:
            continue
        try:
            value = parse(rows[key].strip())
        except ValueError:
            log.warning("ignoring malformed app setting", key=key, value=rows[key][:50])
            continue
        if value < lowest:
            log.warning("ignoring out-of-range app setting", key=key, value=rows[key][:50])
            continue
        values[field] = value
    return IngestLimits(**values)


async def read_limits(pool: asyncpg.Pool) -> IngestLimits:
    async with operator_tx(pool, "service:ingest") as conn:
        rows = await conn.fetch(
            "SELECT key, value FROM app_settings WHERE key = ANY($1::text[])", list(_KEYS)
        )
    return parse_limits({r["key"]: r["value"] for r in rows})


class LimitsWatcher:
    """Holds the current limits; `run()` refreshes them every `interval` seconds."""

    def __init__(self, pool: asyncpg.Pool, interval: float):
        self.current = IngestLimits()
        self._pool, self._interval = pool, interval

    async def refresh(self) -> None:
        self.current = await read_limits(self._pool)

    async def run(self) -> None:
        # The first read happened before ingest took traffic (`pipeline.wait_for_limits`): wait first.
        await run_every(
            self._interval,
            self.refresh,
            log=log,
            failure="could not re-read ingest limits; keeping the current ones",
            expected=OUTAGE_ERRORS,
            wait_first=True,
        )
