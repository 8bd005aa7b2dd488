"""Reading quarantined messages (`quarantine_events`) and their per-minute counts
(`quarantine_counters_minute`) for the customer and operator viewers.

Ingest already stores payloads with the token redacted; the viewers scrub again (keys and text that look
like a token, password or secret) and show a bounded excerpt, so no device credential reaches a screen
even from rows written before redaction or by another writer."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import asyncpg
import orjson
from pydantic import BaseModel, Field

from pulse.api.pagination import Page

EXCERPT_CHARS = 1000
REDACTED = "[redacted]"
_SECRET_KEY = re.compile(r"token|passw|secret", re.IGNORECASE)
_SECRET_IN_TEXT = re.compile(
    r"""(["']?[A-Za-z_]*(?:token|passw\w*|secret)["']?\s*[:=]\s*["']?)[^"',}\s]+""", re.IGNORECASE
)


def scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: REDACTED if _SECRET_KEY.search(str(k)) else scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    if isinstance(value, str):
        return _SECRET_IN_TEXT.sub(rf"\g<1>{REDACTED}", value)
    return value


def excerpt(payload: Any) -> str:
    text = orjson.dumps(scrub(payload)).decode()
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "…"


class QuarantinedMessage(BaseModel):
    id: int
    ingested_at: datetime
    event_ts: datetime | None
    tenant_id: str | None
    site_id: str | None
    device_id: str | None
    msg_type: str | None
    topic: str
    reason: str
    payload_excerpt: str = Field(
        description=f"The stored payload, secrets scrubbed, at most {EXCERPT_CHARS} characters."
    )


class QuarantinePage(BaseModel):
    since: datetime
    events: list[QuarantinedMessage]
    total: int
    limit: int
    offset: int


class ReasonCount(BaseModel):
    reason: str
    count: int


class QuarantineSummary(BaseModel):
    since: datetime
    total: int
    reasons: list[ReasonCount] = Field(description="Counts by reason, most frequent first.")


_WHERE = """WHERE ingested_at >= $1 AND ($2::text IS NULL OR tenant_id = $2)
             AND ($3::text IS NULL OR reason = $3) AND ($4::text IS NULL OR device_id = $4)"""


async def list_quarantined(
    conn: asyncpg.Connection,
    since: datetime,
    page: Page,
    *,
    tenant_id: str | None = None,
    reason: str | None = None,
    device_id: str | None = None,
) -> QuarantinePage:
    args = (since, tenant_id, reason, device_id)
    rows = await conn.fetch(
        f"""SELECT id, ingested_at, event_ts, tenant_id, site_id, device_id, msg_type, topic, reason, payload
              FROM quarantine_events {_WHERE} ORDER BY ingested_at DESC, id DESC LIMIT $5 OFFSET $6""",
        *args,
        page.limit,
        page.offset,
    )
    total = await conn.fetchval(f"SELECT count(*) FROM quarantine_events {_WHERE}", *args)
    events = [
        QuarantinedMessage(
            **{k: v for k, v in r.items() if k != "payload"}, payload_excerpt=excerpt(r["payload"])
        )
        for r in rows
    ]
    return QuarantinePage(since=since, events=events, total=total, limit=page.limit, offset=page.offset)


async def summary(
    conn: asyncpg.Connection, since: datetime, tenant_id: str | None = None
) -> QuarantineSummary:
    """Every rejection counted, stored or not (past the per-minute caps only the counters grow)."""
    rows = await conn.fetch(
        """SELECT reason, sum(cnt)::bigint AS count FROM quarantine_counters_minute
            WHERE bucket_minute >= date_trunc('minute', $1::timestamptz) AND ($2::text IS NULL OR tenant_id = $2)
            GROUP BY reason ORDER BY count DESC, reason""",
        since,
        tenant_id,
    )
    reasons = [ReasonCount(**dict(r)) for r in rows]
    return QuarantineSummary(since=since, total=sum(r.count for r in reasons), reasons=reasons)
