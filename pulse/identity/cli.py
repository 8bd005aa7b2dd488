"""`pulse admin …`: users, API clients and signing keys of the built-in issuer.

Works against PULSE_DATABASE_URL, or the embedded database under PULSE_DATA_DIR: the one a running
`pulse up` serves (found through its postmaster.pid), else started for the duration of the command.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Annotated, TypeVar

import asyncpg
import psutil
import typer

from pulse.commands import settings_or_exit
from pulse.config import Settings
from pulse.crypto import Keyring
from pulse.db.migrate import migrate_dsn
from pulse.db.pool import create_pool
from pulse.db.tx import operator_tx
from pulse.identity import api_clients, keys, refresh
from pulse.identity.roles import ALL_ROLES
from pulse.identity.users import IdentityError, create_user, find_by_username, set_password

admin_app = typer.Typer(
    help="Administer the built-in identity provider: users, API clients, signing keys.",
    no_args_is_help=True,
)
_ACTOR = "cli:admin"
T = TypeVar("T")


def _running_embedded_port(settings: Settings) -> int | None:
    """Port of the embedded PostgreSQL a `pulse up` is serving from this data dir, if any."""
    pid_file = settings.data_dir / "postgres" / "postmaster.pid"
    with contextlib.suppress(OSError, ValueError, IndexError, psutil.Error):
        lines = pid_file.read_text().splitlines()
        if psutil.pid_exists(int(lines[0])):
            return int(lines[3])
    return None


@asynccontextmanager
async def _pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    from pulse.embedded import EmbeddedPostgres

    async with contextlib.AsyncExitStack() as stack:
        dsn = settings.database_url
        if not dsn:
            pg = EmbeddedPostgres(settings.data_dir)
            port = _running_embedded_port(settings)
            if port:
                pg.port = port
            else:
                await pg.start()
                stack.push_async_callback(pg.stop)
            dsn = await pg.ensure_database("pulse")
            await migrate_dsn(dsn)
        pool = await create_pool(settings, dsn=dsn, min_size=0, max_size=2)
        stack.push_async_callback(pool.close)
        yield pool


def _run(work: Callable[[asyncpg.Pool, Settings], Awaitable[T]]) -> T:
    settings = settings_or_exit(configure_logs=False)

    async def main() -> T:
        async with _pool(settings) as pool:
            return await work(pool, settings)

    try:
        return asyncio.run(main())
    except IdentityError as exc:
        typer.echo(f"pulse: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    except (OSError, RuntimeError, asyncpg.PostgresError) as exc:
        typer.echo(f"pulse: {exc}", err=True)
        raise typer.Exit(1) from None


def _read_password(from_stdin: bool) -> str:
    """From PULSE_NEW_PASSWORD, stdin or a prompt — never from a command-line argument (ps shows those)."""
    if os.environ.get("PULSE_NEW_PASSWORD"):
        return os.environ["PULSE_NEW_PASSWORD"]
    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != first:
        typer.echo("pulse: the passwords differ", err=True)
        raise typer.Exit(1)
    return first


RoleOption = Annotated[
    list[str],
    typer.Option("--role", "-r", help=f"Role to grant (repeatable): {', '.join(sorted(ALL_ROLES))}."),
]
TenantOption = Annotated[
    str | None, typer.Option("--tenant", "-t", help="Tenant of a customer/tenant-admin (none for operators).")
]


@admin_app.command("create-user")
def create_user_cmd(
    username: Annotated[str, typer.Argument(help="Login name (letters, digits, . _ @ -).")],
    role: RoleOption,
    tenant: TenantOption = None,
    email: Annotated[str | None, typer.Option(help="E-mail address (goes into tokens).")] = None,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    password_stdin: Annotated[bool, typer.Option(help="Read the password from standard input.")] = False,
) -> None:
    """Create a user of the built-in issuer.

    The password is read from PULSE_NEW_PASSWORD, standard input (--password-stdin or a pipe) or a
    prompt; it needs at least 12 characters and is stored only as an argon2id hash.
    """
    password = _read_password(password_stdin)

    async def work(pool: asyncpg.Pool, _: Settings) -> None:
        async with operator_tx(pool, _ACTOR) as conn:
            user = await create_user(
                conn,
                username=username,
                password=password,
                roles=role,
                tenant_id=tenant,
                email=email,
                display_name=name,
            )
        typer.echo(
            f"created user {user.username} ({user.user_id}) roles={','.join(user.roles)} tenant={user.tenant_id or '-'}"
        )

    _run(work)


@admin_app.command("list-users")
def list_users(
    tenant: Annotated[str | None, typer.Option("--tenant", "-t", help="Only users of this tenant.")] = None,
) -> None:
    """List users: name, roles, tenant, status, kind, last login."""

    async def work(pool: asyncpg.Pool, _: Settings) -> None:
        async with operator_tx(pool, _ACTOR) as conn:
            rows = await conn.fetch(
                """SELECT username, roles, tenant_id, status, kind, last_login_at FROM users
                    WHERE $1::text IS NULL OR tenant_id = $1 ORDER BY tenant_id NULLS FIRST, username""",
                tenant,
            )
        for r in rows:
            last = r["last_login_at"].isoformat(timespec="seconds") if r["last_login_at"] else "never"
            typer.echo(
                f"{r['username']:<28} {','.join(r['roles']):<24} {r['tenant_id'] or '-':<16} "
                f"{r['status']:<8} {r['kind']:<7} {last}"
            )

    _run(work)


@admin_app.command("set-password")
def set_password_cmd(
    username: Annotated[str, typer.Argument(help="The user whose password changes.")],
    password_stdin: Annotated[bool, typer.Option(help="Read the password from standard input.")] = False,
) -> None:
    """Set a user's password (read like create-user's) and end all their sessions."""
    password = _read_password(password_stdin)

    async def work(pool: asyncpg.Pool, _: Settings) -> None:
        async with operator_tx(pool, _ACTOR) as conn:
            row = await find_by_username(conn, username)
            if row is None:
                raise IdentityError(404, "user_not_found", f"no user {username!r}")
            await set_password(conn, str(row["user_id"]), password)
            await refresh.revoke_user(conn, str(row["user_id"]), "password_changed")
        typer.echo(f"password of {username} changed; their refresh tokens are revoked")

    _run(work)


@admin_app.command("set-status")
def set_status(
    username: Annotated[str, typer.Argument(help="The user to enable or disable.")],
    disabled: Annotated[
        bool, typer.Option("--disabled/--enabled", help="Disable (default) or enable.")
    ] = True,
) -> None:
    """Disable a user (refresh tokens revoked at once) or enable them again."""

    async def work(pool: asyncpg.Pool, _: Settings) -> None:
        async with operator_tx(pool, _ACTOR) as conn:
            row = await find_by_username(conn, username)
            if row is None:
                raise IdentityError(404, "user_not_found", f"no user {username!r}")
            status = "DISABLED" if disabled else "ACTIVE"
            await conn.execute("UPDATE users SET status = $2 WHERE user_id = $1", row["user_id"], status)
            if disabled:
                await refresh.revoke_user(conn, str(row["user_id"]), "user_disabled")
        typer.echo(f"{username} is {status}")

    _run(work)


@admin_app.command("create-api-client")
def create_api_client(
    name: Annotated[str, typer.Argument(help="What the client is for, e.g. 'grafana-export'.")],
    role: Annotated[str, typer.Option("--role", "-r", help="The one role its tokens carry.")],
    tenant: TenantOption = None,
) -> None:
    """Create an API client (OAuth client credentials) scoped to one tenant and role.

    Prints client_id and client_secret once; the secret is stored only as a hash. Get a token with
    POST /oauth/token grant_type=client_credentials (HTTP Basic client_id:client_secret).
    """

    async def work(pool: asyncpg.Pool, _: Settings) -> None:
        async with operator_tx(pool, _ACTOR) as conn:
            client = await api_clients.create_api_client(
                conn, name=name, tenant_id=tenant, role=role, created_by=_ACTOR
            )
        typer.echo(f"client_id:     {client.client_id}\nclient_secret: {client.client_secret}")
        typer.echo("(the secret is shown only now)", err=True)

    _run(work)


@admin_app.command("list-api-clients")
def list_api_clients() -> None:
    """List API clients with their tenant, role and last use (never their secrets)."""

    async def work(pool: asyncpg.Pool, _: Settings) -> None:
        async with operator_tx(pool, _ACTOR) as conn:
            rows = await api_clients.list_api_clients(conn)
        for r in rows:
            state = "revoked" if r["revoked_at"] else "active"
            used = r["last_used_at"].isoformat(timespec="seconds") if r["last_used_at"] else "never"
            typer.echo(
                f"{r['client_id']:<24} {r['name']:<24} {','.join(r['roles']):<16} {r['tenant_id'] or '-':<16} "
                f"{state:<8} last used {used}"
            )

    _run(work)


@admin_app.command("revoke-api-client")
def revoke_api_client(client_id: Annotated[str, typer.Argument(help="The client to revoke.")]) -> None:
    """Revoke an API client: no new tokens from now on (issued ones expire within their lifetime)."""

    async def work(pool: asyncpg.Pool, _: Settings) -> None:
        async with operator_tx(pool, _ACTOR) as conn:
            if not await api_clients.revoke_api_client(conn, client_id):
                raise IdentityError(404, "client_not_found", f"no active API client {client_id!r}")
        typer.echo(f"{client_id} revoked")

    _run(work)


@admin_app.command("rotate-signing-key")
def rotate_signing_key() -> None:
    """Make a new signing key current. The old one stays in JWKS for one access-token lifetime, so
    tokens it signed keep working until they expire; older retired keys are deleted."""

    async def work(pool: asyncpg.Pool, settings: Settings) -> None:
        secret = (
            settings.signing_key_secret.get_secret_value().encode() if settings.signing_key_secret else None
        )
        kid = await keys.rotate(pool, secret, Keyring.from_settings(settings))
        pruned = await keys.prune(pool, timedelta(seconds=settings.access_token_ttl_seconds + 300))
        typer.echo(f"new signing key {kid}; {pruned} expired key(s) deleted")

    _run(work)
