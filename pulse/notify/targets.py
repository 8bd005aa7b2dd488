"""The two tables that hold delivery targets, described once.

The reference has two contracts for "where alerts go" (§5 integrations + routes, §6 notification
channels + routing rules) whose tables name the same things differently. Everything that reads or
writes a target — the APIs' store (`pulse/api/queries/notify_targets.py`) and the worker's claim —
goes through these descriptions instead of spelling either table's column names itself.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TargetTable:
    """One target table: where the kind, config and enabled flag live. `id` is also the name of the
    `delivery_jobs` column that points at a row of it."""

    table: str
    id: str
    kind: str
    config: str
    enabled: str
    id_type: str  # the SQL type of the id
    noun: str  # how error messages name one row


INTEGRATIONS = TargetTable(
    "integrations", "integration_id", "type", "config_json", "enabled", "uuid", "integration"
)
NOTIFICATION_CHANNELS = TargetTable(
    "notification_channels",
    "channel_id",
    "channel_type",
    "config",
    "is_enabled",
    "bigint",
    "notification channel",
)
TARGET_TABLES = (INTEGRATIONS, NOTIFICATION_CHANNELS)


def job_target_sql(jobs: str) -> tuple[str, str]:
    """(columns, joins) that give each row of the `delivery_jobs` alias `jobs` its target as one shape
    — `target_kind`, `target_enabled`, `target_config` — whichever table holds it (a job points at
    exactly one; a deleted target leaves them NULL)."""
    aliases = [f"t{i}" for i in range(len(TARGET_TABLES))]
    joins = "\n".join(
        f"LEFT JOIN {t.table} {a} ON {a}.tenant_id = {jobs}.tenant_id AND {a}.{t.id} = {jobs}.{t.id}"
        for t, a in zip(TARGET_TABLES, aliases, strict=True)
    )

    def one(field: str) -> str:
        found = ", ".join(f"{a}.{getattr(t, field)}" for t, a in zip(TARGET_TABLES, aliases, strict=True))
        return f"COALESCE({found}) AS target_{field}"

    return ", ".join(one(field) for field in ("kind", "enabled", "config")), joins
