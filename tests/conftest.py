"""Shared fixtures: real PostgreSQL and a real MQTT broker.

- PostgreSQL: PULSE_TEST_DATABASE_URL (an admin DSN, e.g. postgresql://postgres@127.0.0.1:5432/postgres)
  when set, else one embedded PostgreSQL started for the whole session. The schema is migrated once into
  a template database; each test gets its own copy (CREATE DATABASE ... TEMPLATE), which takes
  milliseconds, so tests never see each other's rows.
- MQTT: PULSE_TEST_MQTT_URL when set, else an embedded broker for the session.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import psutil
import pytest

from pulse.config import load_settings
from pulse.db.migrate import migrate_dsn
from pulse.db.pool import create_pool
from pulse.embedded import EmbeddedBroker, EmbeddedPostgres
from tests.brokers import Broker, broker_settings

_DB_PREFIX = "pulse_t_"
_counter = itertools.count()


def with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + database))


async def _drop_leftovers(conn: asyncpg.Connection) -> None:
    """Drop databases left by test runs that died (their pid is in the name and no longer alive)."""
    for row in await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE $1", _DB_PREFIX + "%"):
        try:
            pid = int(row["datname"][len(_DB_PREFIX) :].split("_")[0])
        except ValueError:
            continue
        if pid != os.getpid() and not psutil.pid_exists(pid):
            await conn.execute(f'DROP DATABASE IF EXISTS "{row["datname"]}" WITH (FORCE)')


@pytest.fixture(scope="session")
async def admin_dsn(tmp_path_factory: pytest.TempPathFactory):
    """DSN of a role that may create databases."""
    external = os.environ.get("PULSE_TEST_DATABASE_URL")
    if external:
        yield external
        return
    pg = EmbeddedPostgres(tmp_path_factory.mktemp("pg"))
    await pg.start()
    try:
        yield pg.dsn()
    finally:
        await pg.stop()


@pytest.fixture(scope="session")
async def template_db(admin_dsn: str):
    """A migrated database that test databases are cloned from."""
    name = f"{_DB_PREFIX}{os.getpid()}_template"
    conn = await asyncpg.connect(admin_dsn)
    try:
        await _drop_leftovers(conn)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
        await migrate_dsn(with_database(admin_dsn, name))
        yield name
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def create_database(admin_dsn: str, template: str | None = None) -> tuple[str, str]:
    name = f"{_DB_PREFIX}{os.getpid()}_{next(_counter)}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        clause = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
        await conn.execute(f'CREATE DATABASE "{name}"{clause}')
    finally:
        await conn.close()
    return name, with_database(admin_dsn, name)


async def drop_database(admin_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
async def database_url(admin_dsn: str, template_db: str):
    """A fresh, migrated database for one test."""
    name, dsn = await create_database(admin_dsn, template_db)
    yield dsn
    await drop_database(admin_dsn, name)


@pytest.fixture
async def empty_database_url(admin_dsn: str):
    """A fresh database with no schema at all."""
    name, dsn = await create_database(admin_dsn)
    yield dsn
    await drop_database(admin_dsn, name)


@pytest.fixture(scope="session")
async def mqtt_broker(tmp_path_factory: pytest.TempPathFactory):
    """PULSE_TEST_MQTT_URL, else an embedded broker (PULSE_TEST_EMBEDDED_BROKER=amqtt forces the
    fallback a machine without Mosquitto gets, so that path can be tested here too)."""
    external = os.environ.get("PULSE_TEST_MQTT_URL")
    if external:
        yield Broker(external, v5=os.environ.get("PULSE_TEST_MQTT_VERSION", "5") == "5")
        return
    prefer_mosquitto = os.environ.get("PULSE_TEST_EMBEDDED_BROKER", "mosquitto") != "amqtt"
    broker = EmbeddedBroker(tmp_path_factory.mktemp("broker"), port=0, prefer_mosquitto=prefer_mosquitto)
    await broker.start()
    try:
        yield Broker(broker.url, v5=broker.supports_shared_subscriptions)
    finally:
        await broker.stop()


@pytest.fixture(scope="session")
def mqtt_url(mqtt_broker: Broker) -> str:
    return mqtt_broker.url


# Secrets at rest are encrypted in every test that uses `settings`, as in a `pulse up` run.
TEST_SECRETS_KEY = "dGVzdC1zZWNyZXRzLWtleS0zMi1ieXRlcy1sb25nISE="


@pytest.fixture
def settings(database_url: str, mqtt_broker: Broker, tmp_path: Path):
    return load_settings(
        database_url=database_url,
        mqtt_url=mqtt_broker.url,
        data_dir=tmp_path / "data",
        secrets_key=TEST_SECRETS_KEY,
        **broker_settings(mqtt_broker),
    )


@pytest.fixture
async def pool(settings):
    pool = await create_pool(settings)
    yield pool
    await pool.close()
