"""Acknowledge links: every message to a person carries one. It acknowledges the alert as that person
without logging in, once, until it expires.

A link is `<link_id>.<mac>`: `link_id` names an `alert_ack_links` row (alert, person, expiry, used),
`mac` is an HMAC-SHA256 of the id under an installation-wide key (`platform_secrets`, generated on
first use, so every API and notify process shares it). The job that renders the message stores only
the id — nothing secret waits in `delivery_jobs` — and the MAC is checked, in constant time, before
the database is asked anything, so a guessed or altered link costs one HMAC. Redeeming marks the row
used in the same statement that checks it is unused and unexpired: two clicks cannot both act.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import asyncpg

from pulse.alerts.lifecycle import STOP_ESCALATION

KEY_NAME = "ack_link_hmac"
MAC_CHARS = 32  # 192 bits of the HMAC, base64url


async def link_key(conn: asyncpg.Connection) -> bytes:
    """The installation's link key, created by whichever process needs it first (operator role)."""
    await conn.execute(
        "INSERT INTO platform_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        KEY_NAME,
        secrets.token_bytes(32),
    )
    return bytes(await conn.fetchval("SELECT value FROM platform_secrets WHERE name = $1", KEY_NAME))


def _mac(key: bytes, link_id: uuid.UUID) -> str:
    digest = hmac.new(key, link_id.bytes, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:MAC_CHARS]


def token_for(key: bytes, link_id: uuid.UUID) -> str:
    return f"{link_id.hex}.{_mac(key, link_id)}"


def url_for(base_url: str, key: bytes, link_id: uuid.UUID) -> str:
    return f"{base_url.rstrip('/')}/ack/{token_for(key, link_id)}"


def verified_id(key: bytes, token: str) -> uuid.UUID | None:
    """The link id when the token's MAC is right; None for anything forged, altered or malformed."""
    raw_id, _, mac = token.partition(".")
    if len(raw_id) != 32 or len(mac) != MAC_CHARS:
        return None
    try:
        link_id = uuid.UUID(hex=raw_id)
    except ValueError:
        return None
    return link_id if hmac.compare_digest(_mac(key, link_id), mac) else None


async def create_links(
    conn: asyncpg.Connection, wanted: Collection[tuple[str, int, uuid.UUID]], expires_at: datetime
) -> dict[tuple[int, uuid.UUID], uuid.UUID]:
    """One link per (tenant, alert, person); returns (alert id, user id) → link id."""
    if not wanted:
        return {}
    rows = await conn.fetch(
        """INSERT INTO alert_ack_links (tenant_id, alert_id, user_id, expires_at)
           SELECT t, a, u, $4 FROM unnest($1::text[], $2::bigint[], $3::uuid[]) AS w(t, a, u)
           RETURNING alert_id, user_id, link_id""",
        [w[0] for w in wanted],
        [w[1] for w in wanted],
        [w[2] for w in wanted],
        expires_at,
    )
    return {(r["alert_id"], r["user_id"]): r["link_id"] for r in rows}


class Outcome(StrEnum):
    ACKNOWLEDGED = "acknowledged"  # this click acknowledged the alert
    ALREADY_ACKNOWLEDGED = "already_acknowledged"  # someone did before; the link is spent anyway
    CLOSED = "closed"  # the alert had ended
    USED = "used"  # this link was used before
    EXPIRED = "expired"
    INVALID = "invalid"  # forged, altered, unknown, or its alert or person is gone


@dataclass(frozen=True)
class Redemption:
    outcome: Outcome
    alert_id: int | None = None
    tenant_id: str | None = None
    summary: str | None = None
    device_id: str | None = None
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None


async def inspect(conn: asyncpg.Connection, link_id: uuid.UUID, now: datetime) -> Redemption:
    """What using the link would do, without using it (the confirmation page)."""
    row = await conn.fetchrow(
        """SELECT l.used_at, l.expires_at, a.id, a.tenant_id, a.status, a.summary, a.device_id,
                  a.acknowledged_by, a.acknowledged_at
             FROM alert_ack_links l JOIN alerts a ON a.tenant_id = l.tenant_id AND a.id = l.alert_id
            WHERE l.link_id = $1""",
        link_id,
    )
    if row is None:
        return Redemption(Outcome.INVALID)
    outcome = (
        Outcome.USED
        if row["used_at"] is not None
        else Outcome.EXPIRED
        if row["expires_at"] <= now
        else Outcome.CLOSED
        if row["status"] == "CLOSED"
        else Outcome.ALREADY_ACKNOWLEDGED
        if row["status"] == "ACKNOWLEDGED"
        else Outcome.ACKNOWLEDGED
    )
    return _redemption(outcome, row)


async def redeem(conn: asyncpg.Connection, link_id: uuid.UUID, now: datetime) -> Redemption:
    """Use the link: mark it used (only if unused and unexpired) and acknowledge its alert as its
    person when the alert is still OPEN. One transaction, the caller's (operator role)."""
    used = await conn.fetchrow(
        """UPDATE alert_ack_links l SET used_at = $2
             FROM users u
            WHERE l.link_id = $1 AND l.used_at IS NULL AND l.expires_at > $2
              AND u.tenant_id = l.tenant_id AND u.user_id = l.user_id
        RETURNING l.tenant_id, l.alert_id, u.username""",
        link_id,
        now,
    )
    if used is None:
        return await inspect(conn, link_id, now)  # used, expired or unknown: say which
    row = await conn.fetchrow(
        f"""UPDATE alerts SET status = 'ACKNOWLEDGED', acknowledged_by = $3, acknowledged_at = $4,
                              {STOP_ESCALATION}
             WHERE tenant_id = $1 AND id = $2 AND status = 'OPEN'
         RETURNING id, tenant_id, status, summary, device_id, acknowledged_by, acknowledged_at""",
        used["tenant_id"],
        used["alert_id"],
        used["username"],
        now,
    )
    if row is not None:
        return _redemption(Outcome.ACKNOWLEDGED, row)
    current = await conn.fetchrow(
        """SELECT id, tenant_id, status, summary, device_id, acknowledged_by, acknowledged_at
             FROM alerts WHERE tenant_id = $1 AND id = $2""",
        used["tenant_id"],
        used["alert_id"],
    )
    if current is None:
        return Redemption(Outcome.INVALID)
    outcome = Outcome.CLOSED if current["status"] == "CLOSED" else Outcome.ALREADY_ACKNOWLEDGED
    return _redemption(outcome, current)


def _redemption(outcome: Outcome, row: asyncpg.Record) -> Redemption:
    return Redemption(
        outcome,
        alert_id=row["id"],
        tenant_id=row["tenant_id"],
        summary=row["summary"],
        device_id=row["device_id"],
        acknowledged_by=row["acknowledged_by"],
        acknowledged_at=row["acknowledged_at"],
    )
