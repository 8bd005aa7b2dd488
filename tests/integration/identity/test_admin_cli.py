"""`pulse admin …` against a real database: users, API clients, key rotation, and --help everywhere."""

from __future__ import annotations

import asyncio

import pytest
from typer.testing import CliRunner

from pulse.cli import app
from pulse.db.tx import operator_tx

COMMANDS = [
    "create-user", "list-users", "set-password", "set-status", "create-api-client", "list-api-clients",
    "revoke-api-client", "rotate-signing-key",
]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS)
def test_help(command: str) -> None:
    result = CliRunner().invoke(app, ["admin", command, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output


@pytest.fixture
def cli_env(monkeypatch, database_url, pool):
    monkeypatch.setenv("PULSE_DATABASE_URL", database_url)
    return pool


async def _run(*args: str, stdin: str | None = None):
    """The CLI calls asyncio.run itself, so it runs in a thread beside the test's event loop."""
    return await asyncio.to_thread(CliRunner().invoke, app, ["admin", *args], input=stdin)


async def test_users_and_clients(cli_env) -> None:
    pool = cli_env
    async with operator_tx(pool, "test") as conn:
        await conn.execute("INSERT INTO tenants (tenant_id, name) VALUES ('acme', 'Acme')")
    created = await _run(
        "create-user", "ops", "--role", "operator-admin", "--password-stdin", stdin="a-long-password-1\n"
    )
    assert created.exit_code == 0, created.output
    assert "a-long-password-1" not in created.output
    bad = await _run(
        "create-user", "x", "--role", "customer", "--password-stdin", stdin="a-long-password-1\n"
    )
    assert bad.exit_code == 1 and "need a tenant" in bad.output
    weak = await _run(
        "create-user", "y", "--role", "customer", "--tenant", "acme", "--password-stdin", stdin="short\n"
    )
    assert weak.exit_code == 1
    listed = await _run("list-users")
    assert "ops" in listed.output and "operator-admin" in listed.output

    client = await _run("create-api-client", "exporter", "--role", "customer", "--tenant", "acme")
    assert client.exit_code == 0, client.output
    client_id = client.output.split("client_id:")[1].split()[0]
    assert client_id in (await _run("list-api-clients")).output
    assert (await _run("revoke-api-client", client_id)).exit_code == 0
    assert (await _run("revoke-api-client", client_id)).exit_code == 1
    assert (await _run("set-status", "ops")).exit_code == 0
    async with operator_tx(pool, "test") as conn:
        assert await conn.fetchval("SELECT status FROM users WHERE username = 'ops'") == "DISABLED"
        assert (await conn.fetchval("SELECT password_hash FROM users WHERE username = 'ops'")).startswith(
            "$argon2id$"
        )

    rotated = await _run("rotate-signing-key")
    assert rotated.exit_code == 0 and "new signing key" in rotated.output
