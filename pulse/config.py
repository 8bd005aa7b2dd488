"""One settings object for every service, read from PULSE_* environment variables (and `.env`).

Services receive a `Settings` instance in `run(settings)`; nothing reads the environment at import time,
so tests can build settings with explicit values.
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


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
    metrics_host: str = Field(
        default="127.0.0.1", description="Address of the /metrics listener of `pulse run` processes."
    )
    metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Port of a /metrics listener in every process (unset: none; the API always serves /metrics).",
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
    system_metrics_seconds: float = Field(
        default=15.0,
        ge=1,
        le=3600,
        description="How often the ops service writes a row set to system_metrics.",
    )

    # Identity and API (pulse/identity, pulse/api). README "Configuration" lists each with its default.
    public_url: str | None = Field(
        default=None,
        description="Base URL clients reach the API at; the built-in issuer's `iss`. Unset: http://HOST:PORT.",
    )
    builtin_issuer: bool = Field(default=True, description="Serve and accept the built-in OIDC issuer.")
    oidc_issuer: str | None = Field(
        default=None,
        description="An external OIDC issuer (e.g. Keycloak realm URL) whose tokens are accepted.",
    )
    oidc_audience: str = Field(
        default="pulse-api", min_length=1, description="Required `aud` of access tokens."
    )
    oidc_jwks_ttl_seconds: float = Field(
        default=300.0, gt=0, description="How long a fetched JWKS is trusted."
    )
    oidc_redirect_uris: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Extra redirect URIs of the console client (comma-separated); loopback is always allowed.",
    )
    access_token_ttl_seconds: int = Field(default=900, ge=60, le=86400)
    refresh_token_ttl_seconds: int = Field(default=43200, ge=300, le=90 * 86400)
    signing_key_secret: SecretStr | None = Field(
        default=None,
        description="Legacy passphrase of issuer keys stored before PULSE_SECRETS_KEY; still read.",
    )
    secrets_key: SecretStr | None = Field(
        default=None,
        description="Comma-separated Fernet keys that encrypt secrets at rest (channel and integration "
        "secrets, the issuer's signing keys): the first encrypts, all decrypt. Unset: the key `pulse up` "
        "generated in <data dir>/secrets.key.",
    )
    login_max_failures_per_user: int = Field(default=5, ge=1, le=1000)
    login_max_failures_per_ip: int = Field(default=30, ge=1, le=100000)
    login_window_seconds: int = Field(default=900, ge=10, le=86400)
    login_delay_base_seconds: float = Field(
        default=30.0, ge=1, le=3600, description="First wait after the free failures of a (user, address)."
    )
    login_delay_max_seconds: float = Field(
        default=900.0, ge=1, le=86400, description="Ceiling of the doubling wait between failed logins."
    )
    login_hash_concurrency: int = Field(
        default=4,
        ge=1,
        le=256,
        description="Password checks in flight per process; beyond it login answers 503.",
    )
    token_max_requests_per_ip: int = Field(
        default=120, ge=1, le=1000000, description="Token endpoint requests per client address per minute."
    )
    ws_max_connections_per_user: int = Field(
        default=10, ge=1, le=10000, description="Open live WebSockets per user, per API process."
    )
    ws_max_connections_per_ip: int = Field(
        default=50, ge=1, le=100000, description="Open live WebSockets per client address, per API process."
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Origins allowed by CORS (comma-separated). Empty: CORS closed."
    )
    max_request_bytes: int = Field(default=2 * 1024 * 1024, ge=1024, description="Largest request body.")

    mqtt_version: Literal["5", "3.1.1"] = Field(
        default="5", description="MQTT protocol for Pulse's own clients (3.1.1 for brokers without v5)."
    )

    mqtt_auth: Literal["none", "dynsec"] | None = Field(
        default=None,
        description="Broker authentication: dynsec = Mosquitto's dynamic-security plugin with per-device "
        "credentials and topic ACLs (pulse/broker/); none = anonymous broker. Unset: dynsec for the "
        "Mosquitto `pulse up` embeds, none for an external broker.",
    )
    mqtt_service_secret: SecretStr | None = Field(
        default=None,
        description="Secret the broker passwords of Pulse's own clients (ingest, notify, admin) derive "
        "from; every Pulse process needs the same one. `pulse up` generates it into the data dir.",
    )
    broker_hook_secret: SecretStr | None = Field(
        default=None,
        description="Shared secret a broker without dynsec (EMQX, VerneMQ) sends as X-Pulse-Broker-Secret to "
        "the API's /broker/auth and /broker/acl hook. Unset: the hook answers 404.",
    )
    mqtt_anonymous_devices: bool = Field(
        default=False,
        description="With dynsec: let clients without credentials connect, publish-only to device topics "
        "(tenant/+/device/+/+; ingest still checks the payload token). Never subscribe.",
    )

    # --- ingest (MQTT and HTTP) ---
    ingest_topic: str = "tenant/+/device/+/+"
    ingest_shared_group: str = Field(
        default="pulse-ingest",
        description="MQTT shared-subscription group so ingest copies split the load; empty = no sharing.",
    )
    ingest_qos: int = Field(default=1, ge=0, le=1)
    ingest_client_id: str = Field(
        default="",
        description="MQTT client id of this ingest copy (unique per copy); empty = pulse-ingest-<host>.",
    )
    ingest_batch_size: int = Field(default=2000, ge=1, le=50_000)
    ingest_flush_ms: int = Field(
        default=5, ge=1, le=10_000, description="Longest wait to gather a batch once a message is waiting."
    )
    ingest_max_inflight: int = Field(
        default=20_000, ge=10, description="Messages received but not yet committed; beyond it, backpressure."
    )
    ingest_auth_cache_ttl: float = Field(
        default=30.0, ge=0, description="Seconds a device's credentials are cached."
    )
    ingest_auth_cache_size: int = Field(default=100_000, ge=1)
    ingest_max_clock_skew: float = Field(
        default=300.0, ge=0, description="Seconds a `ts` may lie in the future."
    )
    ingest_max_metric_keys: int = Field(default=256, ge=1)
    ingest_max_depth: int = Field(default=4, ge=1, le=32)
    ingest_quarantine_per_device_minute: int = Field(
        default=20,
        ge=0,
        description="Rejected messages stored per device per minute — authenticated ones and the others "
        "(no valid token) each have this share; beyond it they are only counted.",
    )
    ingest_quarantine_unauthenticated_per_tenant_minute: int = Field(
        default=100,
        ge=0,
        description="Rejected messages without a valid token stored per tenant per minute (all devices).",
    )
    ingest_settings_poll_seconds: float = Field(default=5.0, gt=0)
    ingest_http_timeout: float = Field(
        default=10.0, gt=0, description="Seconds an HTTP ingest waits for its commit."
    )
    ingest_http_global_limit: int = Field(
        default=10_000, ge=1, description="HTTP ingest requests per second, all clients."
    )
    ingest_http_ip_limit: int = Field(
        default=200, ge=1, description="Requests per second per client IP (known devices)."
    )
    ingest_http_unknown_ip_limit: int = Field(
        default=10, ge=1, description="Requests per minute per IP for unknown devices."
    )
    ingest_http_device_limit: int = Field(
        default=5, ge=1, description="Requests per second per device (single endpoint)."
    )
    ingest_trust_forwarded_for: bool = Field(
        default=False, description="Take the client IP from X-Forwarded-For (only behind a trusted proxy)."
    )
    ingest_trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["127.0.0.0/8", "::1/128"],
        description="Proxies (CIDRs, comma-separated) skipped when reading X-Forwarded-For from the right.",
    )

    # --- provisioning admin API ---
    activation_ttl_minutes: int = Field(default=60, ge=1, le=60 * 24 * 30)

    # --- notify (pulse/notify): the notification engine ---
    notify_allow_loopback: bool = Field(
        default=False, description="Let deliveries reach loopback addresses (development and tests only)."
    )
    notify_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Operator allow-list of on-premise targets (host names or CIDRs, comma-separated) "
        "exempt from the private-address check.",
    )
    notify_max_attempts: int = Field(default=5, ge=1, le=100, description="Attempts before a job is FAILED.")
    notify_backoff_base_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Backoff ceiling of the first retry; doubles per attempt (full jitter).",
    )
    notify_backoff_max_seconds: float = Field(
        default=7200.0, gt=0, description="Largest wait between attempts, Retry-After included."
    )
    notify_http_timeout: float = Field(
        default=10.0, gt=0, description="Seconds one outbound request may take."
    )
    notify_stuck_seconds: float = Field(
        default=300.0, gt=0, description="A PROCESSING job claimed longer ago than this is reclaimed."
    )
    notify_concurrency: int = Field(
        default=10, ge=1, le=1000, description="Deliveries in flight per process."
    )
    notify_poll_seconds: float = Field(
        default=5.0, gt=0, description="Fallback timer of the notify service besides LISTEN/NOTIFY."
    )
    notify_ca_file: str | None = Field(
        default=None,
        description="PEM file of extra CAs trusted for outbound TLS (SMTP STARTTLS) besides the system store.",
    )
    # The platform's own mail to people (escalations). Unset host: mail goes to the local outbox.
    smtp_host: str | None = Field(
        default=None,
        description="SMTP server for mail to people (escalations); unset: kept in the local outbox (`pulse outbox`).",
    )
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_tls: Literal["starttls", "tls", "none"] = Field(
        default="starttls", description="starttls (587), tls (implicit, 465) or none (an internal relay)."
    )
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = Field(default="pulse-alerts@example.com", description="From address of mail to people.")
    escalation_poll_seconds: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="Longest the escalation worker sleeps between looks for due levels.",
    )
    escalation_batch: int = Field(
        default=200, ge=1, le=5000, description="Alerts one escalation pass claims."
    )
    ack_link_ttl_hours: float = Field(
        default=24.0, gt=0, le=24 * 30, description="How long an acknowledge link in a message stays valid."
    )

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

    @field_validator("admin_key")
    @classmethod
    def _check_admin_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or value.get_secret_value() == "":
            return None
        secret = value.get_secret_value()
        if len(secret) < 16 or secret in {"change-me-now", "changeme", "admin"}:
            raise ValueError("must be at least 16 characters and not a placeholder")
        return value

    @field_validator("secrets_key")
    @classmethod
    def _check_secrets_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip(" ,"):
            return None
        from pulse.crypto import Keyring

        Keyring.parse(value.get_secret_value())  # its ValueError names the problem, not the key
        return value

    @field_validator("oidc_redirect_uris", "cors_origins", "notify_allowed_hosts", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("ingest_trusted_proxies", mode="before")
    @classmethod
    def _check_cidrs(cls, value: object) -> object:
        if isinstance(value, str):
            value = [item.strip() for item in value.split(",") if item.strip()]
        if isinstance(value, list):
            for item in value:
                ipaddress.ip_network(str(item), strict=False)  # ValueError: not an address or CIDR
        return value

    @field_validator("public_url", "oidc_issuer")
    @classmethod
    def _check_http_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value in (None, ""):
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s):// URL")
        # The external issuer is kept exactly as configured: `iss` is compared exactly, and Auth0 and
        # Azure AD issue theirs with a trailing slash. Our own URL is a base that paths are added to.
        return value if info.field_name == "oidc_issuer" else value.rstrip("/")

    @property
    def base_url(self) -> str:
        """Where clients reach the API: PULSE_PUBLIC_URL, else the listening address."""
        if self.public_url:
            return self.public_url
        host = "127.0.0.1" if self.http_host in ("0.0.0.0", "::", "") else self.http_host  # noqa: S104
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.http_port}"

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
