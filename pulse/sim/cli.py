"""`pulse sim`: the device simulator as a command (also started by `pulse up` unless --no-sim)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import orjson
import typer

from pulse.commands import run_or_exit, settings_or_exit
from pulse.config import Settings
from pulse.log import get_logger
from pulse.runtime import admin_key_file
from pulse.sim.simulator import SimConfig, Simulator

log = get_logger("pulse.sim")


def config_from_settings(settings: Settings, **overrides: object) -> SimConfig:
    """Point the simulator at this Pulse: its admin API, broker and HTTP API."""
    admin_key = settings.admin_key.get_secret_value() if settings.admin_key else ""
    if not admin_key and admin_key_file(settings.data_dir).exists():
        admin_key = admin_key_file(settings.data_dir).read_text().strip()
    config = SimConfig(
        admin_url=f"http://{settings.http_host}:{settings.admin_port}",
        admin_key=admin_key,
        mqtt_url=settings.mqtt_url or f"mqtt://127.0.0.1:{settings.embedded_mqtt_port}",
        api_url=f"http://{settings.http_host}:{settings.http_port}",
        device_logins=settings.mqtt_auth == "dynsec",
    )
    for key, value in overrides.items():
        setattr(config, key, value)
    return config


async def run_in_background(settings: Settings, devices: int) -> None:
    """For `pulse up`: a failing simulator is logged, never a reason to stop the platform."""
    try:
        await Simulator(config_from_settings(settings, devices=devices)).run()
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.warning("the device simulator stopped", error=str(exc))


def sim(
    devices: Annotated[int, typer.Option(min=1, max=100_000, help="Number of simulated devices.")] = 500,
    sites: Annotated[int, typer.Option(min=1, max=1000, help="Sites the devices are spread over.")] = 3,
    tenant: Annotated[str, typer.Option(help="Tenant the devices belong to (must exist).")] = "demo",
    http: Annotated[bool, typer.Option("--http", help="Send over HTTP ingest instead of MQTT.")] = False,
    qos: Annotated[int, typer.Option(min=0, max=1, help="MQTT QoS.")] = 1,
    telemetry_interval: Annotated[
        float, typer.Option(min=0.01, help="Seconds between telemetry messages.")
    ] = 5.0,
    heartbeat_interval: Annotated[float, typer.Option(min=0.01, help="Seconds between heartbeats.")] = 10.0,
    excursions: Annotated[
        float,
        typer.Option(min=0, max=1, help="Chance per reading that a metric starts crossing its threshold."),
    ] = 0.01,
    duration: Annotated[
        float, typer.Option(min=0, help="Stop after this many seconds (0: run until Ctrl-C).")
    ] = 0,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same devices and readings).")] = 42,
    tokens: Annotated[
        typer.FileText | None,
        typer.Option(help="JSON file {device_id: provision_token}: use these instead of provisioning."),
    ] = None,
) -> None:
    """Simulate devices: provision them through the admin API, then publish heartbeats and telemetry.

    Uses the same settings as Pulse (PULSE_ADMIN_PORT, PULSE_ADMIN_KEY or the key `pulse up` saved in the
    data dir, PULSE_MQTT_URL, PULSE_HTTP_HOST/PORT). Device ids are sim-site-N-dev-NNN.
    """
    settings = settings_or_exit()
    config = config_from_settings(
        settings,
        devices=devices,
        sites=sites,
        tenant_id=tenant,
        http=http,
        qos=qos,
        telemetry_interval=telemetry_interval,
        heartbeat_interval=heartbeat_interval,
        excursion_probability=excursions,
        duration=duration,
        seed=seed,
        tokens=orjson.loads(tokens.read()) if tokens else {},
    )
    if not config.admin_key and not config.tokens:
        typer.echo("pulse: no admin key: set PULSE_ADMIN_KEY (or pass --tokens)", err=True)
        raise typer.Exit(2)
    run_or_exit(lambda: Simulator(config).run())
