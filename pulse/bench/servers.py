"""What every benchmark starts from: a scratch directory, PostgreSQL and a broker (private embedded ones
unless URLs are given), the migrated schema, settings pointing at them and a pool — all closed by the
caller's exit stack."""

from __future__ import annotations

import contextlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from pulse.config import Settings, load_settings
from pulse.db.migrate import migrate_dsn
from pulse.db.pool import create_pool
from pulse.embedded import EmbeddedBroker, EmbeddedPostgres

NO_BROKER = "mqtt://127.0.0.1:1"  # for benches that never publish: settings insist on a broker URL


@dataclass(frozen=True)
class BenchServers:
    workdir: Path
    settings: Settings
    pool: asyncpg.Pool
    postgres: EmbeddedPostgres | None  # None when an external database was given
    broker_kind: str  # "mosquitto", "amqtt", "external" or "none"


async def start_servers(
    stack: contextlib.AsyncExitStack,
    *,
    database_url: str | None,
    mqtt_url: str | None,
    broker: bool = True,
    on_progress=lambda _step: None,
) -> BenchServers:
    workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pulse-bench-")))
    postgres = None
    if database_url is None:
        on_progress("starting an embedded PostgreSQL")
        postgres = EmbeddedPostgres(workdir / "pg")
        await postgres.start()
        stack.push_async_callback(postgres.stop)
        database_url = await postgres.ensure_database("bench")
    broker_kind, mqtt_version = ("external", "5") if broker else ("none", "5")
    if not broker:
        mqtt_url = NO_BROKER
    elif mqtt_url is None:
        embedded = EmbeddedBroker(workdir / "broker", port=0)
        await embedded.start()
        stack.push_async_callback(embedded.stop)
        mqtt_url, broker_kind = embedded.url, embedded.kind
        mqtt_version = "5" if embedded.supports_shared_subscriptions else "3.1.1"
    await migrate_dsn(database_url)
    settings = load_settings(
        database_url=database_url, mqtt_url=mqtt_url, mqtt_version=mqtt_version, data_dir=workdir / "data"
    )
    pool = await create_pool(settings)
    stack.push_async_callback(pool.close)
    return BenchServers(workdir, settings, pool, postgres, broker_kind)
