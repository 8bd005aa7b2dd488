"""One settings object for every service, read from PULSE_* environment variables (and `.env`).

Services receive a `Settings` instance in `run(settings)`; nothing reads the environment at import time,
so tests can build settings with explicit values.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class LogFormat(StrEnum):
    JSON = "json"
    CONSOLE = "console"


class LogLevel(StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


class Settings(BaseSettings):
    """Every field is documented in README.md ("Configuration"), with the same default."""

    model_config = SettingsConfigDict(env_prefix="PULSE_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL DSN. Unset: `pulse up` starts an embedded PostgreSQL under the data dir.",
    )
    mqtt_url: str | None = Field(
        default=None,
        description="mqtt://host:port of the broker. Unset: `pulse up` starts one on loopback.",
    )
    embedded_mqtt_port: int = Field(
        default=1883,
        ge=0,
        le=65535,
        description="Port of the broker `pulse up` starts when PULSE_MQTT_URL is unset (a free one if taken).",
    )
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    admin_port: int = Field(default=8081, ge=0, le=65535)
    admin_key: SecretStr | None = Field(
        default=None,
        description="Key for the provisioning admin API (X-Admin-Key). Unset: generated and saved in the data dir.",
    )
    data_dir: Path = Path(".pulse")
    log_level: LogLevel = LogLevel.INFO
    log_format: LogFormat = LogFormat.CONSOLE

    db_pool_min: int = Field(default=1, ge=0, le=100)
    db_pool_max: int = Field(default=10, ge=1, le=500)
    db_statement_cache: bool = Field(
        default=True,
        description="asyncpg prepared-statement cache; set false behind PgBouncer in transaction mode.",
    )
    db_command_timeout: float = Field(default=30.0, gt=0)

    partition_days_ahead: int = Field(default=3, ge=1, le=60)
    partition_interval_seconds: float = Field(default=3600.0, gt=0)

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        scheme = urlsplit(value).scheme
        if scheme not in ("postgres", "postgresql"):
            raise ValueError("must be a postgresql:// URL")
        return value

    @field_validator("mqtt_url")
    @classmethod
    def _check_mqtt_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
            raise ValueError("must look like mqtt://host:port")
        try:
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number or out of range
        except ValueError as exc:
            raise ValueError(f"bad port: {exc}") from None
        return value

    @property
    def mqtt_host_port(self) -> tuple[str, int]:
        """Host and port of the configured broker (only meaningful when mqtt_url is set)."""
        parts = urlsplit(self.mqtt_url or "mqtt://127.0.0.1:1883")
        return parts.hostname or "127.0.0.1", parts.port or 1883


class SettingsError(Exception):
    """A setting is missing or malformed; the message names the PULSE_* variable."""


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning pydantic's error into one line per bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            lines.append(f"PULSE_{field.upper()}: {err['msg']}")
        raise SettingsError("invalid configuration:\n  " + "\n  ".join(lines)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
