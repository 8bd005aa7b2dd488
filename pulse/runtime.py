"""Running services: `pulse up` (everything, zero setup) and `pulse run NAME ...` (some, external servers).

Both install SIGINT/SIGTERM handlers that cancel the main task; every resource is released by
`finally`/exit-stack code on the way out, so a stop never leaves a postgres or mosquitto behind.
"""

from __future__ import annotations

import asyncio
import secrets
import signal
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from pulse import __version__
from pulse.config import Settings
from pulse.db.migrate import migrate_dsn
from pulse.embedded import EmbeddedBroker, EmbeddedPostgres, find_mosquitto
from pulse.log import get_logger
from pulse.metrics_listener import metrics_listener
from pulse.services import SERVICES, load_service

log = get_logger("pulse.runtime")


class MissingSetting(Exception):
    """`pulse run` needs a server that only `pulse up` can start itself."""


async def run_until_stopped(main: Callable[[], Awaitable[None]]) -> None:
    """Run `main`; SIGINT/SIGTERM cancel it, which unwinds every `finally` in order."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    stopping = False

    def stop() -> None:
        nonlocal stopping
        if not stopping:
            stopping = True
            print("\nStopping Pulse…", flush=True)
            task.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    try:
        await main()
    except asyncio.CancelledError:
        if not stopping:
            raise
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def run_services(settings: Settings, names: Sequence[str]) -> None:
    """Run services as tasks until one of them fails (which stops the rest) or we are cancelled."""
    from pulse.broker.access import configure_process

    configure_process(settings)  # the broker logins of this process's clients (notify's own-broker sends)
    with ExitStack() as stack:
        if settings.metrics_port is not None:
            port = stack.enter_context(metrics_listener(settings.metrics_host, settings.metrics_port))
            log.info("metrics listening", address=f"http://{settings.metrics_host}:{port}/metrics")
        await _run_tasks(settings, names)


async def _run_tasks(settings: Settings, names: Sequence[str]) -> None:
    tasks = {asyncio.create_task(load_service(n)(settings), name=n): n for n in names}
    health = asyncio.create_task(_report_alive(settings, names))
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for finished in done:
            error = finished.exception()
            if error is not None:
                raise RuntimeError(f"service {tasks[finished]!r} failed: {error}") from error
            raise RuntimeError(f"service {tasks[finished]!r} stopped unexpectedly")
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        health.cancel()
        await asyncio.gather(health, return_exceptions=True)


async def _report_alive(settings: Settings, names: Sequence[str]) -> None:
    """service_health heartbeats for this process (the ops service alerts when they stop)."""
    from pulse.db.pool import create_pool
    from pulse.db.service_health import report_alive

    pool = await create_pool(settings, name="health", min_size=0, max_size=1)
    try:
        await report_alive(pool, names)
    finally:
        await pool.close()


async def run_named(settings: Settings, names: Sequence[str]) -> None:
    if not settings.database_url:
        raise MissingSetting("PULSE_DATABASE_URL is not set (only `pulse up` starts an embedded database)")
    if not settings.mqtt_url:
        raise MissingSetting("PULSE_MQTT_URL is not set (only `pulse up` starts an embedded broker)")
    await migrate_dsn(settings.database_url)
    log.info("starting services", services=list(names), version=__version__)
    await run_services(settings, names)


@dataclass
class Platform:
    """What `pulse up` started, for the banner."""

    settings: Settings
    database: str
    broker: str
    admin_key_source: str
    notes: list[str] = field(default_factory=list)


async def start_platform(settings: Settings, stack: AsyncExitStack) -> Platform:
    """Start (or connect to) the database and broker and bring the schema up to date."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if settings.database_url:
        database = "external PostgreSQL (PULSE_DATABASE_URL)"
    else:
        pg = EmbeddedPostgres(settings.data_dir)
        await pg.start()
        stack.push_async_callback(pg.stop)
        settings = settings.model_copy(update={"database_url": await pg.ensure_database("pulse")})
        database = f"embedded PostgreSQL at 127.0.0.1:{pg.port} (data in {pg.pgdata})"
    key_source = "PULSE_ADMIN_KEY"
    if settings.admin_key is None:
        settings = settings.model_copy(update={"admin_key": SecretStr(_admin_key(settings.data_dir))})
        key_source = f"in {admin_key_file(settings.data_dir)}"
    if settings.secrets_key is None:  # zero setup still encrypts secrets at rest
        settings = settings.model_copy(update={"secrets_key": SecretStr(_secrets_key(settings.data_dir))})
    applied = await migrate_dsn(settings.database_url)  # before the broker: its accounts come from here
    if settings.mqtt_url:
        broker = f"external broker at {settings.mqtt_url}"
        if settings.mqtt_auth is None:
            settings = settings.model_copy(update={"mqtt_auth": "none"})
        if settings.mqtt_auth == "dynsec":
            broker += " (dynamic-security accounts)"
    else:
        settings, auth_conf, auth_note = await _embedded_broker_auth(settings)
        embedded = EmbeddedBroker(
            settings.data_dir / "broker", port=settings.embedded_mqtt_port, auth_conf=auth_conf
        )
        await embedded.start()
        stack.push_async_callback(embedded.stop)
        update: dict[str, object] = {"mqtt_url": embedded.url}
        if not embedded.supports_shared_subscriptions:
            # amqtt speaks MQTT 3.1.1 only and ignores $share/ subscriptions.
            update.update(mqtt_version="3.1.1", ingest_shared_group="")
        settings = settings.model_copy(update=update)
        broker = f"embedded {embedded.kind} at {embedded.url}"
        if embedded.port != settings.embedded_mqtt_port:
            broker += f" (port {settings.embedded_mqtt_port} was taken)"
        broker += f"\n             {auth_note}"
    platform = Platform(settings=settings, database=database, broker=broker, admin_key_source=key_source)
    if applied:
        platform.notes.append(f"applied {len(applied)} migration(s)")
    return platform


async def _embedded_broker_auth(settings: Settings) -> tuple[Settings, str | None, str]:
    """Authentication of the embedded broker: dynsec on Mosquitto unless PULSE_MQTT_AUTH=none; the amqtt
    fallback cannot enforce it (it listens on loopback only)."""
    from pulse.broker.access import mosquitto_auth_conf, rebuild_file

    if find_mosquitto() is None:
        if settings.mqtt_auth == "dynsec":
            raise MissingSetting("PULSE_MQTT_AUTH=dynsec needs Mosquitto (apt-get install mosquitto)")
        note = "amqtt fallback: loopback only, NO authentication or topic rules (install Mosquitto)"
        return settings.model_copy(update={"mqtt_auth": "none"}), None, note
    if settings.mqtt_auth == "none":
        return settings, None, "anonymous (PULSE_MQTT_AUTH=none): any local client may publish and subscribe"
    update: dict[str, object] = {"mqtt_auth": "dynsec"}
    if settings.mqtt_service_secret is None:
        update["mqtt_service_secret"] = SecretStr(_secret_file(settings.data_dir / "mqtt-service.key"))
    settings = settings.model_copy(update=update)
    path = settings.data_dir / "broker" / "dynamic-security.json"
    accounts = await rebuild_file(settings, path)  # rebuilt from the database on every start
    anonymous = settings.mqtt_anonymous_devices
    note = f"authenticated: {accounts} accounts from the database, per-device topic rules (dynsec)" + (
        "; anonymous devices may publish (never subscribe)" if anonymous else ""
    )
    return settings, mosquitto_auth_conf(path, allow_anonymous=anonymous), note


def admin_key_file(data_dir: Path) -> Path:
    return data_dir / "admin.key"


def _admin_key(data_dir: Path) -> str:
    """The admin API key `pulse up` generated on first start (mode 0600), reused afterwards."""
    return _secret_file(admin_key_file(data_dir))


def _secret_file(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.write_text(key + "\n")
    return key


def _secrets_key(data_dir: Path) -> str:
    """The PULSE_SECRETS_KEY `pulse up` generated on first start (mode 0600), reused afterwards."""
    from pulse.crypto import generate_key, key_file

    path = key_file(data_dir)
    if path.exists():
        return path.read_text().strip()
    key = generate_key()
    path.touch(mode=0o600)
    path.write_text(key + "\n")
    return key


def banner(platform: Platform, extra: Sequence[str] = ()) -> str:
    s = platform.settings
    base = f"http://{s.http_host}:{s.http_port}"
    lines = [
        f"Pulse {__version__} is running",
        f"  API        {base}",
        f"  API docs   {base}/docs",
        f"  Health     {base}/healthz   {base}/readyz",
        f"  Admin API  http://{s.http_host}:{s.admin_port}/docs   (X-Admin-Key: {platform.admin_key_source})",
        f"  Database   {platform.database}",
        f"  MQTT       {platform.broker}",
        f"  Services   {', '.join(SERVICES)}",
        *[f"  {line}" for line in [*platform.notes, *extra]],
        "Press Ctrl-C to stop.",
    ]
    return "\n".join(lines)
