"""Platform settings (`app_settings`): key/value strings the services read live (ingest limits,
retention). Which keys exist and what values they allow is the operator API's to check."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import asyncpg
from pydantic import BaseModel


class SettingPublic(BaseModel):
    key: str
    value: str
    updated_at: datetime


async def list_settings(conn: asyncpg.Connection) -> list[SettingPublic]:
    """Every stored setting, by key."""
    rows = await conn.fetch("SELECT key, value, updated_at FROM app_settings ORDER BY key")
    return [SettingPublic(**dict(r)) for r in rows]


async def store_settings(conn: asyncpg.Connection, values: Mapping[str, str]) -> None:
    """Insert or overwrite each key's value."""
    await conn.executemany(
        """INSERT INTO app_settings (key, value) VALUES ($1, $2)
           ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value""",
        list(values.items()),
    )
