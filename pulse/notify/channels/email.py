"""Email over SMTP (aiosmtplib): subject and body rendered from sandboxed templates (`templates`).

`format` "html" sends multipart/alternative — the default text template as the plain part, the HTML
template (the tenant's `body_template` or the default) as the HTML part; "text" sends one text/plain
part (`body_template` or the default text). Bcc recipients are only in the SMTP envelope.

Connection: `smtp_host` is checked like every target (`ssrf.check_host`) at save time and again at
send time, and the socket is opened here to a checked address, so a DNS answer that changes in between
cannot send the mail and the credentials elsewhere. aiosmtplib gets that socket with
`hostname=smtp_host`, which it then uses only as the TLS server name: the certificate is verified
against the host name for implicit TLS and STARTTLS alike. Trust: the system store plus `ctx.ca_file`.

`smtp_tls`: "starttls" (default, usually port 587; the upgrade is required, so a server — or a man in
the middle — that does not offer it gets nothing), "tls" (implicit TLS, usually 465) or "none" (plain,
for an internal relay; then no `smtp_user`, credentials never cross the network in clear). The booleans
true / false are read as "starttls" / "none" (the reference stored a boolean).

Outcomes: refused, reset or TLS-failed connections and unresolvable hosts are retryable NETWORK,
timeouts retryable TIMEOUT, SMTP 4xx replies retryable SERVER_ERROR; 5xx replies are permanent
(AUTH_ERROR for a refused login, else PROVIDER_REJECTED); a refused target is SSRF_BLOCKED and a
template that fails to render CONFIG_INVALID, both permanent.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import re
import socket
import ssl
from dataclasses import replace
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, Literal

import aiosmtplib
import httpx
from pydantic import BaseModel, ConfigDict, EmailStr, Field, SecretStr, field_validator, model_validator

from pulse.notify import ssrf, templates
from pulse.notify.channels.base import Reason, SendContext, SendResult
from pulse.notify.events import AlertEvent

kind = "email"
DESTINATION_FIELDS = ("smtp_host", "smtp_port")  # where the SMTP password is sent

MAX_SUBJECT = 255
MAX_DETAIL = 200
# One send is several exchanges (greeting, EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA), each bounded by
# ctx.timeout; a server answering each just in time must still not hold a worker for minutes.
EXCHANGE_TIMEOUTS = 3

HOST_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")

DEFAULT_SUBJECT = "{{ headline }}"

DEFAULT_TEXT = """\
{{ headline }}

{{ summary }}

Device:   {{ device_id }}
Site:     {{ site_id }}
Severity: {{ severity_label }} ({{ severity }})
Status:   {{ status }}
Time:     {{ created_at }}
{% if actor %}
By:       {{ actor }}
{% endif %}
{% if ack_url %}

Acknowledge (no sign-in needed, works once): {{ ack_url }}
{% endif %}
{% if details %}

Details:
{% for key, value in details|dictsort %}
  {{ key }}: {{ value }}
{% endfor %}
{% endif %}

Alert {{ alert_id }}, sent by Pulse.
"""

# Single CSS braces are plain text to Jinja; only `{{`, `{%` and `{#` start template syntax.
DEFAULT_HTML = """\
<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<style>
  body { font-family: Arial, Helvetica, sans-serif; color: #222222; }
  th { text-align: left; padding: 4px 16px 4px 0; color: #555555; font-weight: normal; }
  td { padding: 4px 0; }
</style>
</head>
<body>
{% set colour = '#2e7d32' if event == 'CLOSED'
   else {'CRITICAL': '#d32f2f', 'WARNING': '#f9a825'}.get(severity_label, '#1976d2') %}
<h2 style="color: {{ colour }}">{{ headline }}</h2>
<p>{{ summary }}</p>
<table>
<tr><th>Device</th><td>{{ device_id }}</td></tr>
<tr><th>Site</th><td>{{ site_id }}</td></tr>
<tr><th>Severity</th><td>{{ severity_label }} ({{ severity }})</td></tr>
<tr><th>Status</th><td>{{ status }}</td></tr>
<tr><th>Time</th><td>{{ created_at }}</td></tr>
{% if actor %}
<tr><th>By</th><td>{{ actor }}</td></tr>
{% endif %}
{% for key, value in details|dictsort %}
<tr><th>{{ key }}</th><td>{{ value }}</td></tr>
{% endfor %}
</table>
{% if ack_url %}
<p><a href="{{ ack_url }}" style="display: inline-block; padding: 10px 18px; background: #1976d2; color: #ffffff;
text-decoration: none; border-radius: 4px">Acknowledge</a>
<span style="color: #888888; font-size: 12px">&nbsp;no sign-in needed, works once</span></p>
{% endif %}
<p style="color: #888888; font-size: 12px">Alert {{ alert_id }}, sent by Pulse.</p>
</body>
</html>
"""


class Config(BaseModel):
    """`integrations.config_json` of an email integration."""

    model_config = ConfigDict(extra="forbid")

    smtp_host: str = Field(min_length=1, max_length=253)
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_user: str | None = Field(default=None, min_length=1, max_length=254)
    smtp_password: SecretStr | None = None
    smtp_tls: Literal["starttls", "tls", "none"] = "starttls"
    from_address: EmailStr
    from_name: str = Field(default="Pulse Alerts", max_length=100)
    to: list[EmailStr] = Field(min_length=1, max_length=10)
    cc: list[EmailStr] = Field(default_factory=list, max_length=10)
    bcc: list[EmailStr] = Field(default_factory=list, max_length=10)
    subject_template: str = Field(default=DEFAULT_SUBJECT, min_length=1, max_length=200)
    body_template: str | None = Field(default=None, max_length=templates.MAX_SOURCE)
    format: Literal["text", "html"] = "html"

    @field_validator("smtp_host")
    @classmethod
    def _host_name(cls, value: str) -> str:
        host = value.strip().lower().rstrip(".")
        with contextlib.suppress(ValueError):
            return str(ipaddress.ip_address(host))
        if not HOST_NAME.match(host):
            raise ValueError("must be a host name or an IP address")
        return host

    @field_validator("smtp_tls", mode="before")
    @classmethod
    def _tls_from_bool(cls, value: Any) -> Any:
        if isinstance(value, bool):
            return "starttls" if value else "none"
        return value

    @field_validator("subject_template", "body_template")
    @classmethod
    def _template_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            templates.validate(value)  # its TemplateError is a ValueError: a 422 naming the field
        return value

    @model_validator(mode="after")
    def _credentials_protected(self) -> Config:
        if self.smtp_password is not None and self.smtp_user is None:
            raise ValueError("smtp_password needs smtp_user")
        if self.smtp_user is not None and self.smtp_tls == "none":
            raise ValueError("smtp_user needs smtp_tls starttls or tls: credentials are never sent in clear")
        return self


def render(event: AlertEvent, config: Config) -> dict[str, str | None]:
    """Subject and bodies (also the preview); `html` is None for the text format. Raises
    templates.TemplateError."""
    return render_content(event, config.subject_template, config.body_template, config.format)


def render_content(
    event: AlertEvent, subject_template: str, body_template: str | None, fmt: Literal["text", "html"]
) -> dict[str, str | None]:
    """`render` for any mail Pulse sends — a tenant's integration or the platform's own mail to a
    person, which has no `Config` of its own."""
    values = templates.variables(event)
    subject = header_text(templates.render(subject_template, values))[:MAX_SUBJECT]
    if fmt == "text":
        return {
            "subject": subject,
            "text": templates.render(body_template or DEFAULT_TEXT, values),
            "html": None,
        }
    return {
        "subject": subject,
        "text": templates.render(DEFAULT_TEXT, values),
        "html": templates.render(body_template or DEFAULT_HTML, values, html=True),
    }


def header_text(text: str) -> str:
    """One line of printable text: a CR or LF from alert data would otherwise start a new header."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def message(config: Config, content: dict[str, str | None], ctx: SendContext) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = Address(display_name=header_text(config.from_name), addr_spec=config.from_address)
    msg["To"] = ", ".join(config.to)
    if config.cc:
        msg["Cc"] = ", ".join(config.cc)
    msg["Subject"] = content["subject"]
    msg["Date"] = format_datetime(datetime.fromtimestamp(ctx.timestamp, UTC))
    msg["Message-ID"] = message_id(ctx.message_id, config.from_address)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: vacation responders do not answer alerts
    msg.set_content(content["text"])
    if content["html"] is not None:
        msg.add_alternative(content["html"], subtype="html")
    return msg


def message_id(job_id: str, from_address: str) -> str:
    """Stable across retries of one job (ctx.message_id), so a receiver can drop a duplicate."""
    local = re.sub(r"[^A-Za-z0-9._-]", "-", job_id) or "pulse"
    domain = from_address.rpartition("@")[2]
    return f"<{local}@{domain if domain.isascii() else 'pulse.invalid'}>"


def envelope_recipients(config: Config) -> list[str]:
    return list(dict.fromkeys([*config.to, *config.cc, *config.bcc]))


async def check(config: Config, policy: ssrf.Policy) -> None:
    """At save time: the SMTP host must pass the outbound-safety check (raises ssrf.Blocked)."""
    await ssrf.check_host(config.smtp_host, config.smtp_port, policy)


async def send(event: AlertEvent, config: Config, http: httpx.AsyncClient, ctx: SendContext) -> SendResult:
    try:
        # A template may use its whole time budget: in the render pool, so other work keeps going.
        content = await templates.off_loop(render, event, config)
    except templates.TemplateError as exc:
        return SendResult(False, False, Reason.CONFIG_INVALID, detail=f"template_error: {exc}")
    try:
        addresses = await target_addresses(config, ctx.policy)
    except ssrf.Unresolvable as exc:
        return SendResult(False, True, Reason.NETWORK, detail=str(exc))
    except ssrf.Blocked as exc:
        return SendResult(False, False, Reason.SSRF_BLOCKED, detail=str(exc))
    try:
        async with asyncio.timeout(EXCHANGE_TIMEOUTS * ctx.timeout):
            refused = await deliver(config, message(config, content, ctx), addresses, ctx)
    except (aiosmtplib.SMTPException, OSError, ValueError) as exc:
        return scrubbed(classify(exc), config)
    if refused:  # accepted for the others: retrying would send them a second copy
        codes = ", ".join(sorted({str(reply.code) for reply in refused.values()}))
        return SendResult(True, False, Reason.OK, detail=f"{len(refused)} recipient(s) refused ({codes})")
    return SendResult(True, False, Reason.OK)


async def target_addresses(config: Config, policy: ssrf.Policy) -> list[ssrf.IPAddress]:
    """The checked addresses; an operator-allowed host skips the check but is connected by address too."""
    checked = await ssrf.check_host(config.smtp_host, config.smtp_port, policy)
    return checked or await ssrf.resolve(config.smtp_host, config.smtp_port)


async def deliver(
    config: Config, msg: EmailMessage, addresses: list[ssrf.IPAddress], ctx: SendContext
) -> dict[str, aiosmtplib.SMTPResponse]:
    """One SMTP session; returns the recipients the server refused while accepting others."""
    tls = config.smtp_tls != "none"
    client = aiosmtplib.SMTP(
        hostname=config.smtp_host,  # with a socket given, only the TLS server name
        local_hostname=await asyncio.to_thread(local_hostname),
        timeout=ctx.timeout,
        use_tls=config.smtp_tls == "tls",
        start_tls=config.smtp_tls == "starttls",
        tls_context=await asyncio.to_thread(tls_context, ctx.ca_file) if tls else None,
        username=config.smtp_user,
        password=config.smtp_password.get_secret_value() if config.smtp_password else None,
    )
    sock = await open_socket(addresses, config.smtp_port, ctx.timeout)
    try:
        await client.connect(sock=sock)  # from here asyncio's transport owns (and closes) the socket
        refused, _ = await client.send_message(
            msg, sender=config.from_address, recipients=envelope_recipients(config)
        )
        with contextlib.suppress(aiosmtplib.SMTPException, OSError):  # the mail is already accepted
            await client.quit()
    finally:
        client.close()
    return refused


async def open_socket(addresses: list[ssrf.IPAddress], port: int, timeout: float) -> socket.socket:
    """A connected socket to the first checked address that answers."""
    loop = asyncio.get_running_loop()
    failure: OSError = OSError("no address to connect to")
    for ip in addresses:
        sock = socket.socket(socket.AF_INET6 if ip.version == 6 else socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            async with asyncio.timeout(timeout):
                await loop.sock_connect(sock, (str(ip), port))
        except OSError as exc:  # TimeoutError included: try the next address
            sock.close()
            failure = exc
        except BaseException:
            sock.close()
            raise
        else:
            return sock
    raise failure


@functools.lru_cache(maxsize=8)
def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """The system trust store plus `ca_file` (create_default_context(cafile=…) would replace it)."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


@functools.cache
def local_hostname() -> str:
    """The EHLO name (aiosmtplib would look it up again, possibly slowly, on every connection)."""
    return socket.getfqdn()


def classify(exc: BaseException) -> SendResult:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = sorted({refusal.code for refusal in exc.recipients})
        retryable = any(400 <= code < 500 for code in codes)
        reason = Reason.SERVER_ERROR if retryable else Reason.PROVIDER_REJECTED
        return SendResult(False, retryable, reason, detail=f"recipients_refused: {codes}")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return reply_result(exc)
    if isinstance(exc, TimeoutError):  # aiosmtplib's timeouts are TimeoutErrors too
        return SendResult(False, True, Reason.TIMEOUT, detail=one_line(f"timeout: {exc}"))
    if isinstance(exc, OSError):  # refused, reset, DNS, TLS handshake / certificate
        return SendResult(False, True, Reason.NETWORK, detail=one_line(f"{type(exc).__name__}: {exc}"))
    # No STARTTLS offered, no usable AUTH mechanism, an address the server cannot take: no retry helps.
    return SendResult(False, False, Reason.CONFIG_INVALID, detail=one_line(f"{type(exc).__name__}: {exc}"))


def reply_result(exc: aiosmtplib.SMTPResponseException) -> SendResult:
    detail = one_line(f"smtp_{exc.code} {exc.message}")
    if 400 <= exc.code < 500:
        return SendResult(False, True, Reason.SERVER_ERROR, detail=detail)
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return SendResult(False, False, Reason.AUTH_ERROR, detail=detail)
    return SendResult(False, False, Reason.PROVIDER_REJECTED, detail=detail)


def one_line(text: str) -> str:
    return " ".join(text.split())[:MAX_DETAIL]


def scrubbed(result: SendResult, config: Config) -> SendResult:
    """A server may echo what it was sent; the password never leaves in a detail."""
    password = config.smtp_password.get_secret_value() if config.smtp_password else ""
    if password and password in result.detail:
        return replace(result, detail=result.detail.replace(password, "***"))
    return result
