"""What `pulse outbox` prints: the local mail outbox read from a terminal — the mail Pulse would have
sent had an SMTP server been configured. The command itself (options, the way to the database) is in
`pulse/cli.py`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import asyncpg
import orjson

from pulse.db.tx import operator_tx
from pulse.notify import outbox_view

ACTOR = "cli:outbox"
BANNER = (
    "These messages were NOT sent: no SMTP server is configured (PULSE_SMTP_HOST). Pulse keeps them "
    "in its local outbox so the whole path is visible on one machine."
)
POLL_SECONDS = 2.0
# Ids are drawn at INSERT but become visible at COMMIT, so with several notify workers a lower id can
# appear after a higher one has been shown: following looks back this many ids below the highest seen.
FOLLOW_OVERLAP = 100

Write = Callable[[str], None]


def render_text(message: dict[str, Any], *, html: bool = False) -> str:
    job = f"  job {message['job_id']}" if message["job_id"] is not None else ""
    header = (
        f"── #{message['id']}  {message['created_at'].isoformat(timespec='seconds')}  "
        f"tenant {message['tenant_id']}{job}\n"
        f"To:      {message['to_address']}\nSubject: {message['subject']}\n"
    )
    if html and message["body_html"] is None:
        return f"{header}(no HTML part; the text part follows)\n\n{message['body_text']}\n"
    return f"{header}\n{message['body_html'] if html else message['body_text']}\n"


def render_json(message: dict[str, Any]) -> str:
    return orjson.dumps(message).decode()


async def _unseen(conn: asyncpg.Connection, tenant: str | None, seen: set[int]) -> list[dict[str, Any]]:
    """Messages not shown yet, oldest first; `seen` is updated (and pruned below the look-back)."""
    floor = max(seen, default=0) - FOLLOW_OVERLAP
    fresh = [m for m in await outbox_view.after(conn, tenant, floor, 1000) if m["id"] not in seen]
    seen.difference_update([i for i in seen if i <= floor])
    seen.update(m["id"] for m in fresh)
    return fresh


async def show_outbox(
    pool: asyncpg.Pool,
    *,
    tenant: str | None = None,
    limit: int = 10,
    as_json: bool = False,
    html: bool = False,
    follow: bool = False,
    out: Write,
    err: Write,
    poll_seconds: float = POLL_SECONDS,
) -> None:
    """Print the banner (to `err` with JSON, so the output stays one JSON object per line) and the
    newest `limit` messages, oldest of them first; with `follow`, keep printing new ones until
    cancelled."""
    (err if as_json else out)(BANNER)

    def show(message: dict[str, Any]) -> None:
        out(render_json(message) if as_json else render_text(message, html=html))

    async with operator_tx(pool, ACTOR) as conn:
        newest = await outbox_view.newest(conn, tenant, limit)
        seen = {m["id"] for m in newest}
        if follow:
            await _unseen(conn, tenant, seen)  # what exists now counts as seen, shown or not
    if not newest and not as_json:
        out("(the outbox is empty)")
    for message in reversed(newest):
        show(message)
    while follow:
        await asyncio.sleep(poll_seconds)
        async with operator_tx(pool, ACTOR) as conn:
            fresh = await _unseen(conn, tenant, seen)
        for message in fresh:
            show(message)
