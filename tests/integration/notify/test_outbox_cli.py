"""`pulse outbox` against a real database: the printing function itself (text, HTML, JSON, one tenant,
following new mail) and the command end to end."""

from __future__ import annotations

import asyncio
import json

import pytest
from typer.testing import CliRunner

from pulse.cli import app
from pulse.db.tx import operator_tx
from pulse.notify.outbox_cli import BANNER, show_outbox
from tests.factories import make_tenant


async def _mail(pool, tenant: str, subject: str, html: str | None = None) -> int:
    async with operator_tx(pool, "test") as conn:
        return await conn.fetchval(
            """INSERT INTO mail_outbox (tenant_id, to_address, subject, body_text, body_html)
               VALUES ($1, 'ann@example.com', $2, 'text of ' || $2, $3) RETURNING id""",
            tenant,
            subject,
            html,
        )


class Lines:
    def __init__(self) -> None:
        self.out: list[str] = []
        self.err: list[str] = []

    @property
    def text(self) -> str:
        return "\n".join(self.out)


@pytest.fixture
async def mailboxes(pool) -> tuple[str, str]:
    return await make_tenant(pool, "acme"), await make_tenant(pool, "globex")


async def test_newest_messages_oldest_first(pool, mailboxes) -> None:
    acme, globex = mailboxes
    for n in range(4):
        await _mail(pool, acme, f"acme {n}", html=f"<b>acme {n}</b>")
    await _mail(pool, globex, "globex 0")
    lines = Lines()
    await show_outbox(pool, limit=3, out=lines.out.append, err=lines.err.append)
    assert lines.out[0] == BANNER and "NOT sent" in BANNER and "PULSE_SMTP_HOST" in BANNER
    text = lines.text
    assert "acme 0" not in text and text.index("acme 2") < text.index("acme 3") < text.index("globex 0")
    assert "To:      ann@example.com" in text and "text of acme 3" in text and "<b>" not in text

    html = Lines()
    await show_outbox(pool, tenant=acme, limit=10, html=True, out=html.out.append, err=html.err.append)
    assert "<b>acme 0</b>" in html.text and "globex" not in html.text

    as_json = Lines()
    await show_outbox(pool, tenant=globex, as_json=True, out=as_json.out.append, err=as_json.err.append)
    assert as_json.err == [BANNER]
    [message] = [json.loads(line) for line in as_json.out]
    assert (
        message["subject"] == "globex 0" and message["tenant_id"] == globex and message["body_html"] is None
    )

    empty = Lines()
    await show_outbox(pool, tenant="nobody", out=empty.out.append, err=empty.err.append)
    assert empty.out == [BANNER, "(the outbox is empty)"]


async def test_follow_prints_new_mail_once(pool, mailboxes) -> None:
    acme, globex = mailboxes
    for n in range(3):
        await _mail(pool, acme, f"old {n}")
    lines = Lines()
    follower = asyncio.create_task(
        show_outbox(
            pool,
            tenant=acme,
            limit=1,
            follow=True,
            out=lines.out.append,
            err=lines.err.append,
            poll_seconds=0.05,
        )
    )
    try:
        await asyncio.sleep(0.3)
        await _mail(pool, acme, "new one")
        await _mail(pool, globex, "not for acme")
        for _ in range(100):
            if "new one" in lines.text:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # a few more polls: nothing is printed twice
    finally:
        follower.cancel()
    subjects = [line.split("Subject: ")[1].split("\n")[0] for line in lines.out if "Subject: " in line]
    assert subjects == ["old 2", "new one"]  # the two older ones existed before and were not asked for


async def test_command(monkeypatch, database_url, pool, mailboxes) -> None:
    monkeypatch.setenv("PULSE_DATABASE_URL", database_url)
    await _mail(pool, mailboxes[0], "hello", html="<p>hello</p>")
    result = await asyncio.to_thread(CliRunner().invoke, app, ["outbox", "--tenant", mailboxes[0], "--html"])
    assert result.exit_code == 0, result.output
    assert BANNER in result.output and "<p>hello</p>" in result.output
