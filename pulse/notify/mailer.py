"""The platform's own mail to people (escalation levels reaching someone by e-mail).

A tenant's email integration carries its own SMTP settings; mail to a person uses the installation's
(`PULSE_SMTP_*`). With no SMTP server configured — the zero-setup run — the rendered message goes to
the local outbox (`mail_outbox`, read with `pulse outbox` and `/customer/outbox`), so the whole path
from breach to acknowledge link is visible on one machine; the delivery is recorded as delivered to
the outbox, never as sent. Both paths render with the email channel's default templates and carry the
person's acknowledge link.

The configured SMTP host is the operator's choice, often an internal relay: it is allow-listed for
the outbound-safety check (tenants cannot name it; only `PULSE_SMTP_HOST` can).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import asyncpg
import httpx
from pydantic import ValidationError

from pulse.config import Settings
from pulse.db.tx import operator_tx
from pulse.notify import templates
from pulse.notify.channels import email
from pulse.notify.channels.base import Reason, SendContext, SendResult
from pulse.notify.events import AlertEvent

OUTBOX_DETAIL = "kept in the local outbox: no SMTP server is configured (PULSE_SMTP_HOST)"


@dataclass(frozen=True)
class Mailer:
    settings: Settings

    @property
    def smtp_configured(self) -> bool:
        return bool(self.settings.smtp_host)

    async def send(
        self,
        pool: asyncpg.Pool,
        job_id: int,
        event: AlertEvent,
        to: str,
        http: httpx.AsyncClient,
        ctx: SendContext,
    ) -> SendResult:
        if not self.smtp_configured:
            return await self._to_outbox(pool, job_id, event, to)
        try:
            config = self._config(to)
        except ValidationError as exc:  # e.g. an address the SMTP server could never take
            fields = ", ".join(str(e["loc"][0]) for e in exc.errors())
            return SendResult(
                False, False, Reason.CONFIG_INVALID, detail=f"invalid mail settings or address: {fields}"
            )
        allowed = replace(ctx.policy, allowed_hosts=ctx.policy.allowed_hosts | {config.smtp_host})
        return await email.send(event, config, http, replace(ctx, policy=allowed))

    def _config(self, to: str) -> email.Config:
        s = self.settings
        return email.Config.model_validate(
            {
                "smtp_host": s.smtp_host,
                "smtp_port": s.smtp_port,
                "smtp_tls": s.smtp_tls,
                "smtp_user": s.smtp_user,
                "smtp_password": s.smtp_password,
                "from_address": s.smtp_from,
                "to": [to],
            }
        )

    async def _to_outbox(self, pool: asyncpg.Pool, job_id: int, event: AlertEvent, to: str) -> SendResult:
        try:
            content = await templates.off_loop(
                email.render_content, event, email.DEFAULT_SUBJECT, None, "html"
            )
        except templates.TemplateError as exc:
            return SendResult(False, False, Reason.CONFIG_INVALID, detail=f"template_error: {exc}")
        async with operator_tx(pool, "service:notify") as conn:
            await conn.execute(
                """INSERT INTO mail_outbox (tenant_id, job_id, to_address, subject, body_text, body_html)
                   VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (job_id) DO NOTHING""",
                event.tenant_id,
                job_id,
                to,
                content["subject"],
                content["text"],
                content["html"],
            )
        return SendResult(True, False, Reason.OK, detail=OUTBOX_DETAIL)
