"""/ack/{token}: the acknowledge link in a message to a person (`pulse.escalation.ack_links`).

GET shows what the link would do and a button; only POST acknowledges — mail scanners and link
previews fetch links with GET, and must not acknowledge an alert on the person's behalf. No sign-in:
the link is the credential (HMAC-checked before any lookup, single-use, expiring). A used, expired or
forged link gets a page saying so, never an action.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined

from pulse.api.deps import Pool
from pulse.db.tx import operator_tx
from pulse.escalation import ack_links
from pulse.escalation.ack_links import Outcome, Redemption
from pulse.identity.login_page import SECURITY_HEADERS

router = APIRouter(tags=["acknowledge-links"], include_in_schema=False)
Token = Path(max_length=80)
ACTOR = "service:ack-link"
_TEMPLATES = Environment(
    loader=PackageLoader("pulse.escalation", "templates"), autoescape=True, undefined=StrictUndefined
)

# outcome → (HTTP status, tone, title, message)
PAGES = {
    Outcome.ACKNOWLEDGED: (200, "ok", "Acknowledged", "Thank you. Escalation has stopped."),
    Outcome.ALREADY_ACKNOWLEDGED: (200, "ok", "Already acknowledged", "Nothing more to do."),
    Outcome.CLOSED: (200, "ok", "Alert already closed", "The condition has cleared; nothing more to do."),
    Outcome.USED: (410, "refused", "Link already used", "Each acknowledge link works once."),
    Outcome.EXPIRED: (
        410,
        "refused",
        "Link expired",
        "This acknowledge link has expired. Sign in to the Pulse console to acknowledge the alert.",
    ),
    Outcome.INVALID: (404, "refused", "Link not valid", "This acknowledge link is not valid."),
}


def _page(result: Redemption, *, confirm: bool = False) -> HTMLResponse:
    status, tone, title, message = PAGES[result.outcome]
    if confirm:
        title, message = (
            "Acknowledge this alert?",
            "Acknowledging stops the escalation: nobody else is paged.",
        )
    elif result.acknowledged_by and result.outcome in (Outcome.ACKNOWLEDGED, Outcome.ALREADY_ACKNOWLEDGED):
        when = result.acknowledged_at.strftime("%Y-%m-%d %H:%M UTC") if result.acknowledged_at else ""
        message = f"Acknowledged by {result.acknowledged_by} {when}. {message}".strip()
    body = _TEMPLATES.get_template("ack.html").render(
        title=title,
        tone=tone,
        message=message,
        confirm=confirm,
        alert_id=result.alert_id,
        summary=result.summary or "",
        device_id=result.device_id or "",
    )
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)


async def _use(pool, token: str, *, act: bool) -> HTMLResponse:
    async with operator_tx(pool, ACTOR) as conn:
        link_id = ack_links.verified_id(await ack_links.link_key(conn), token)
        if link_id is None:
            return _page(Redemption(Outcome.INVALID))
        now = datetime.now(UTC)
        if not act:
            result = await ack_links.inspect(conn, link_id, now)
            return _page(result, confirm=result.outcome is Outcome.ACKNOWLEDGED)
        return _page(await ack_links.redeem(conn, link_id, now))


@router.get("/ack/{token}", response_class=HTMLResponse)
async def show(pool: Pool, token: str = Token) -> HTMLResponse:
    return await _use(pool, token, act=False)


@router.post("/ack/{token}", response_class=HTMLResponse)
async def acknowledge(pool: Pool, token: str = Token) -> HTMLResponse:
    return await _use(pool, token, act=True)
