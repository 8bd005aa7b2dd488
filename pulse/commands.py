"""What every `pulse` subcommand does first and last, shared by the command modules (`cli.py`,
`identity/cli.py`, `sim/cli.py`): load the settings, and run a coroutine until it ends or is stopped —
turning a bad setting or a start-up failure into one clear line and an exit code instead of a traceback."""

from __future__ import annotations

import asyncio

import typer

from pulse.config import Settings, SettingsError, load_settings
from pulse.embedded import EmbeddedError
from pulse.log import configure_logging
from pulse.runtime import MissingSetting, run_until_stopped


def settings_or_exit(*, configure_logs: bool = True) -> Settings:
    """The settings from PULSE_* and .env; a bad one exits with code 2 and says which."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        typer.echo(f"pulse: {exc}", err=True)
        raise typer.Exit(2) from None
    if configure_logs:
        configure_logging(settings)
    return settings


def run_or_exit(main) -> None:
    """Run a coroutine until it ends or is stopped; start-up failures exit with code 1."""
    try:
        asyncio.run(run_until_stopped(main))
    except (MissingSetting, EmbeddedError, RuntimeError, OSError) as exc:
        typer.echo(f"pulse: {exc}", err=True)
        raise typer.Exit(1) from None
