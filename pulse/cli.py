"""The `pulse` command."""

from __future__ import annotations

import asyncio
import sys
from contextlib import AsyncExitStack
from typing import Annotated

import typer

from pulse import __version__
from pulse.bench.cli import bench_app
from pulse.commands import run_or_exit, settings_or_exit
from pulse.config import Settings
from pulse.identity.cli import admin_app
from pulse.runtime import banner, run_named, run_services, start_platform
from pulse.services import SERVICES
from pulse.sim.cli import run_in_background as run_simulator
from pulse.sim.cli import sim
from pulse.sim.simulator import raise_open_file_limit

app = typer.Typer(
    help="Pulse: multi-tenant IoT fleet operations. Configuration comes from PULSE_* environment "
    "variables (or a .env file); see README.md.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(admin_app, name="admin")


@admin_app.command("rotate-secrets-key")
def rotate_secrets_key(
    new_key: Annotated[
        bool, typer.Option("--new-key", help="Only print a fresh key to put first in PULSE_SECRETS_KEY.")
    ] = False,
) -> None:
    """Re-encrypt every stored secret (channel and integration secrets, the issuer's signing keys) with
    the first key of PULSE_SECRETS_KEY (or the data dir's secrets.key); plaintext secrets stored before
    encryption are encrypted too. Then the other keys can be dropped. See README "Operations"."""
    from pulse import crypto
    from pulse.identity import keys
    from pulse.identity.cli import _run  # the admin commands' pool and error handling
    from pulse.notify.rekey import reseal_targets

    if new_key:
        typer.echo(crypto.generate_key())
        return

    async def work(pool, settings: Settings) -> None:
        keyring = crypto.Keyring.from_settings(settings)
        if keyring is None:
            raise RuntimeError(
                "no PULSE_SECRETS_KEY and no secrets.key in the data dir: nothing to encrypt with"
            )
        passphrase = settings.signing_key_secret
        try:
            targets = await reseal_targets(pool, keyring)
            signing = await keys.reseal(
                pool, keyring, passphrase.get_secret_value().encode() if passphrase else None
            )
        except crypto.SecretsKeyError as exc:
            raise RuntimeError(f"{exc}; keep the old key after the new one until this succeeds") from None
        typer.echo(f"re-encrypted with the first key: {targets} target config(s), {signing} signing key(s)")

    _run(work)


@app.command()
def up(
    demo: Annotated[bool, typer.Option(help="Create the demo tenant and users on first start.")] = True,
    simulate: Annotated[
        int, typer.Option("--sim-devices", min=0, max=10_000, help="Simulated devices for the demo tenant.")
    ] = 25,
    no_sim: Annotated[bool, typer.Option("--no-sim", help="Do not start the device simulator.")] = False,
) -> None:
    """Run the whole platform in one process, with zero setup.

    Without PULSE_DATABASE_URL an embedded PostgreSQL is started under PULSE_DATA_DIR (data kept across
    restarts); without PULSE_MQTT_URL an MQTT broker is started on loopback (Mosquitto if installed,
    else the built-in amqtt broker). Migrates, seeds the demo tenant, runs every service.
    """
    settings = settings_or_exit()

    async def main() -> None:
        async with AsyncExitStack() as stack:
            if not no_sim and demo and simulate:
                # before the embedded broker starts: it inherits the limit, and holds a socket per device
                raise_open_file_limit(simulate + 1024)
            platform = await start_platform(settings, stack)
            extra: list[str] = []
            if demo:
                extra = await _seed_demo(platform.settings)
            devices = 0 if no_sim or not demo else simulate
            if devices:
                extra.append(f"Simulator  {devices} devices of tenant 'demo' (stop with --no-sim)")
            print(banner(platform, extra), flush=True)
            simulator = asyncio.create_task(run_simulator(platform.settings, devices)) if devices else None
            try:
                await run_services(platform.settings, list(SERVICES))
            finally:
                if simulator is not None:
                    simulator.cancel()
                    await asyncio.gather(simulator, return_exceptions=True)

    run_or_exit(main)


async def _seed_demo(settings: Settings) -> list[str]:
    from pulse.db.pool import create_pool
    from pulse.demo import DEMO_TENANT, credentials_file, seed_demo

    pool = await create_pool(settings, min_size=0, max_size=1)
    try:
        created = await seed_demo(pool, settings.data_dir)
    finally:
        await pool.close()
    path = credentials_file(settings.data_dir)
    if not created:
        return [f"Demo       tenant {DEMO_TENANT!r}; credentials in {path}"]
    lines = [f"Demo       tenant {DEMO_TENANT!r} created; these passwords are shown once (also in {path}):"]
    lines += [f"             {c.username:<12} {c.password:<18} {','.join(c.roles)}" for c in created]
    return lines


@app.command()
def migrate() -> None:
    """Bring the database schema up to date (idempotent).

    Uses PULSE_DATABASE_URL, or the embedded database under PULSE_DATA_DIR when it is unset.
    """
    settings = settings_or_exit()

    async def main() -> None:
        from pulse.db.migrate import migrate_dsn
        from pulse.embedded import EmbeddedPostgres

        async with AsyncExitStack() as stack:
            dsn = settings.database_url
            if not dsn:
                pg = EmbeddedPostgres(settings.data_dir)
                await pg.start()
                stack.push_async_callback(pg.stop)
                dsn = await pg.ensure_database("pulse")
            applied = await migrate_dsn(dsn)
        typer.echo(f"applied: {', '.join(applied)}" if applied else "schema is up to date")

    run_or_exit(main)


def _complete_service(incomplete: str) -> list[str]:
    return [name for name in SERVICES if name.startswith(incomplete)]


@app.command(
    epilog="Services: " + "; ".join(f"{name} ({desc})" for name, (_, desc) in SERVICES.items()),
)
def run(
    services: Annotated[
        list[str], typer.Argument(help="Service names to run.", autocompletion=_complete_service)
    ],
) -> None:
    """Run one or more services in this process against external PostgreSQL and MQTT.

    Needs PULSE_DATABASE_URL and PULSE_MQTT_URL. Run several copies on several machines to scale out:
    they coordinate only through PostgreSQL and the broker.
    """
    unknown = [s for s in services if s not in SERVICES]
    if unknown:
        typer.echo(f"pulse: unknown service(s): {', '.join(unknown)}; known: {', '.join(SERVICES)}", err=True)
        raise typer.Exit(2)
    settings = settings_or_exit()
    run_or_exit(lambda: run_named(settings, list(dict.fromkeys(services))))


app.command()(sim)


@app.command("broker-accounts")
def broker_accounts(
    path: Annotated[str, typer.Argument(help="Where to write the dynamic-security JSON file.")],
) -> None:
    """Write Mosquitto's dynamic-security file from the database (run before the broker starts).

    Needs PULSE_DATABASE_URL and PULSE_MQTT_SERVICE_SECRET; see deploy/mosquitto.conf.
    """
    from pathlib import Path

    from pulse.broker.access import rebuild_file

    settings = settings_or_exit().model_copy(update={"mqtt_auth": "dynsec"})

    async def main() -> None:
        count = await rebuild_file(settings, Path(path))
        print(f"{count} broker accounts written to {path}", flush=True)

    run_or_exit(main)


@app.command()
def outbox(
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, max=1000, help="How many of the newest.")
    ] = 10,
    tenant: Annotated[
        str | None, typer.Option("--tenant", "-t", help="Only this tenant's mail (default: every tenant).")
    ] = None,
    follow: Annotated[
        bool,
        typer.Option("--follow", "-f", help="Keep printing new messages (polls every 2 s) until Ctrl-C."),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per message and line; the banner goes to stderr.")
    ] = False,
    html: Annotated[
        bool, typer.Option("--html", help="Print the HTML body instead of the text body.")
    ] = False,
) -> None:
    """Show mail that was NOT sent because no SMTP server is configured (PULSE_SMTP_HOST unset).

    Without an SMTP server (the zero-setup `pulse up`), Pulse writes each e-mail to a person (an
    escalation page with its acknowledge link, for example) to a local outbox instead of sending it.
    This prints the newest messages, newest last, with recipient, subject and body. Uses
    PULSE_DATABASE_URL, or the embedded database under PULSE_DATA_DIR (the one a running `pulse up`
    serves, else started for the command).
    """
    import asyncpg

    from pulse.identity.cli import _pool  # the admin commands' way to the database
    from pulse.notify.outbox_cli import show_outbox

    settings = settings_or_exit(configure_logs=False)

    async def main() -> None:
        async with _pool(settings) as pool:
            await show_outbox(
                pool,
                tenant=tenant,
                limit=limit,
                as_json=as_json,
                html=html,
                follow=follow,
                out=typer.echo,
                err=lambda text: typer.echo(text, err=True),
            )

    try:
        asyncio.run(main())
    except KeyboardInterrupt:  # how --follow ends
        pass
    except (OSError, RuntimeError, asyncpg.PostgresError) as exc:
        typer.echo(f"pulse: {exc}", err=True)
        raise typer.Exit(1) from None


app.add_typer(bench_app, name="bench")


@app.command()
def version() -> None:
    """Print the Pulse version."""
    typer.echo(f"pulse {__version__} (Python {sys.version.split()[0]})")
