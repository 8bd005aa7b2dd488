"""The email channel against a real SMTP server (aiosmtpd on 127.0.0.1): message shape, STARTTLS and
implicit TLS with AUTH, classification of failures, outbound safety and header injection."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from pathlib import Path

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError

from pulse.notify import ssrf
from pulse.notify.channels import email as channel
from pulse.notify.channels.base import Reason, SendContext
from pulse.notify.events import AlertEvent
from tests.alert_events import make_event
from tests.integration.notify.smtp_server import Recorder, free_port, smtp_server

USER = "alerts@example.com"
PASSWORD = "s3cret-Passw0rd-xyz"
LOOPBACK = ssrf.Policy(allow_loopback=True)
SENT_AT = 1_767_225_600  # 2026-01-01T00:00:00Z


def event(**overrides) -> AlertEvent:
    return make_event(
        **dict(
            summary="temp_c 31.5 > 30 <check>",
            created_at=dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC),
            details={"temp_c": 31.5},
        )
        | overrides
    )


def context(**overrides) -> SendContext:
    values = dict(policy=LOOPBACK, message_id="pulse-job-17", timestamp=SENT_AT, timeout=5.0)
    values.update(overrides)
    return SendContext(**values)


def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd sends the 235 / 535


@pytest.fixture(scope="session")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for the name "localhost" only (no IP address in it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("smtp-tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


@pytest.fixture(scope="session")
def server_tls(certificate) -> ssl.SSLContext:
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(*certificate)
    return tls


def config(port: int, **overrides) -> channel.Config:
    values = dict(
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_tls="none",
        from_address="pulse@example.com",
        to=["ops@example.com"],
    )
    values.update(overrides)
    return channel.Config.model_validate(values)


def tls_config(port: int, **overrides) -> channel.Config:
    values = dict(smtp_host="localhost", smtp_tls="starttls", smtp_user=USER, smtp_password=PASSWORD)
    return config(port, **values | overrides)


async def send(cfg: channel.Config, **kwargs):
    return await channel.send(kwargs.pop("alert", event()), cfg, None, context(**kwargs))


async def test_html_email_is_multipart_with_both_parts_rendered():
    recorder = Recorder()
    with smtp_server(recorder) as port:
        result = await send(config(port, from_name="Pulse Älerts"))
    assert (result.ok, result.reason, result.detail) == (True, Reason.OK, "")
    [mail] = recorder.received
    assert mail.mail_from == "pulse@example.com"
    assert mail.rcpt_tos == ["ops@example.com"]
    msg = mail.message
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["Subject"] == "[CRITICAL] Alert: THRESHOLD on pump-1"
    assert msg["From"].addresses[0].display_name == "Pulse Älerts"
    assert msg["From"].addresses[0].addr_spec == "pulse@example.com"
    assert b"=?utf-8?" in mail.raw.split(b"\r\n\r\n")[0]  # the non-ASCII name is encoded
    assert msg["To"] == "ops@example.com"
    assert msg["Message-ID"] == "<pulse-job-17@example.com>"
    assert msg["Date"].datetime == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert msg["Auto-Submitted"] == "auto-generated"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    for part in (text, html):
        for value in ("[CRITICAL] Alert: THRESHOLD on pump-1", "pump-1", "site-1", "temp_c", "31.5", "42"):
            assert value in part
    assert "temp_c 31.5 > 30 <check>" in text
    assert "temp_c 31.5 &gt; 30 &lt;check&gt;" in html
    assert "<check>" not in html
    assert "font-family: Arial" in html and "{{" not in html and "{%" not in html


def test_default_templates_render_every_event_kind():
    for kind in ("OPEN", "ACKNOWLEDGED", "ESCALATED", "CLOSED"):
        alert = event(event=kind, actor="ann", details={"escalation_level": 3, "temp_c": 31.5})
        rendered = channel.render(alert, config(25))
        assert "pump-1" in rendered["subject"]
        assert "By:       ann" in rendered["text"] and "<td>ann</td>" in rendered["html"]
        assert "escalation_level: 3" in rendered["text"]
    closed = channel.render(event(event="CLOSED"), config(25))
    assert closed["subject"] == "[CRITICAL] Resolved: THRESHOLD on pump-1"
    assert 'style="color: #2e7d32"' in closed["html"]
    assert 'style="color: #d32f2f"' in channel.render(event(), config(25))["html"]


async def test_text_format_is_one_plain_part():
    recorder = Recorder()
    with smtp_server(recorder) as port:
        result = await send(config(port, format="text"))
    assert result.ok
    msg = recorder.received[0].message
    assert msg.get_content_type() == "text/plain"
    assert not msg.is_multipart()
    body = msg.get_content().replace("\r\n", "\n")
    assert body.startswith("[CRITICAL] Alert: THRESHOLD on pump-1\n\ntemp_c 31.5 > 30 <check>\n")
    assert "Severity: CRITICAL (5)" in body
    assert "  temp_c: 31.5" in body
    assert body.rstrip().endswith("Alert 42, sent by Pulse.")


async def test_custom_subject_and_body_templates():
    recorder = Recorder()
    alert = event(event="ESCALATED", details={"escalation_level": 2})
    html_cfg = dict(
        subject_template="{{ severity_label|lower }}: {{ device_id }} (level {{ escalation_level }})",
        body_template="<b>{{ summary }}</b> at {{ site_id }}",
    )
    text_cfg = dict(format="text", body_template="{{ alert_type }} on {{ device_id }}: {{ summary }}")
    with smtp_server(recorder) as port:
        assert (await send(config(port, **html_cfg), alert=alert)).ok
        assert (await send(config(port, **text_cfg), alert=alert)).ok
    html_mail, text_mail = (r.message for r in recorder.received)
    assert html_mail["Subject"] == "critical: pump-1 (level 2)"
    assert html_mail.get_body(("html",)).get_content().strip() == (
        "<b>temp_c 31.5 &gt; 30 &lt;check&gt;</b> at site-1"
    )
    assert "Escalated (level 2)" in html_mail.get_body(("plain",)).get_content()  # the default text
    assert text_mail.get_content().rstrip() == "THRESHOLD on pump-1: temp_c 31.5 > 30 <check>"


async def test_cc_in_headers_and_bcc_in_the_envelope_only():
    recorder = Recorder()
    recipients = dict(
        to=["a@example.com", "b@example.com"],
        cc=["c@example.com"],
        bcc=["hidden@example.org", "a@example.com"],
    )
    with smtp_server(recorder) as port:
        result = await send(config(port, **recipients))
    assert result.ok
    [mail] = recorder.received
    assert mail.rcpt_tos == ["a@example.com", "b@example.com", "c@example.com", "hidden@example.org"]
    assert mail.message["To"] == "a@example.com, b@example.com"
    assert mail.message["Cc"] == "c@example.com"
    assert mail.message["Bcc"] is None
    assert b"hidden" not in mail.raw


async def test_starttls_with_auth_verifies_the_host_name_while_connecting_to_the_checked_address(
    certificate, server_tls
):
    recorder = Recorder()
    server = dict(
        tls_context=server_tls, require_starttls=True, authenticator=authenticate, auth_require_tls=True
    )
    with smtp_server(recorder, **server) as port:
        result = await send(tls_config(port), ca_file=str(certificate[0]))
    assert (result.ok, result.detail) == (True, "")
    [mail] = recorder.received
    assert (mail.tls, mail.authenticated) == (True, True)


async def test_implicit_tls(certificate, server_tls):
    recorder = Recorder()
    # aiosmtpd counts only STARTTLS as TLS for AUTH, so it must be told that implicit TLS is enough.
    server = dict(ssl_context=server_tls, authenticator=authenticate, auth_require_tls=False)
    with smtp_server(recorder, **server) as port:
        result = await send(tls_config(port, smtp_tls="tls"), ca_file=str(certificate[0]))
    assert result.ok
    assert recorder.received[0].tls


async def test_wrong_password_is_a_permanent_auth_error(certificate, server_tls):
    recorder = Recorder()
    server = dict(tls_context=server_tls, require_starttls=True, authenticator=authenticate)
    with smtp_server(recorder, **server) as port:
        result = await send(tls_config(port, smtp_password="wrong-" + PASSWORD), ca_file=str(certificate[0]))
    assert (result.ok, result.retryable, result.reason) == (False, False, Reason.AUTH_ERROR)
    assert result.detail.startswith("smtp_535")
    assert PASSWORD not in result.detail
    assert recorder.received == []


async def test_untrusted_certificate_is_a_retryable_network_failure(server_tls):
    recorder = Recorder()
    server = dict(tls_context=server_tls, require_starttls=True, authenticator=authenticate)
    with smtp_server(recorder, **server) as port:
        result = await send(tls_config(port), ca_file=None)
    assert (result.ok, result.retryable, result.reason) == (False, True, Reason.NETWORK)
    assert "certificate verify failed" in result.detail
    assert PASSWORD not in result.detail
    assert recorder.received == []


async def test_certificate_for_another_name_is_refused(certificate, server_tls):
    # The certificate names "localhost" only: connecting by IP must not pass verification.
    recorder = Recorder()
    with smtp_server(recorder, tls_context=server_tls, authenticator=authenticate) as port:
        result = await send(tls_config(port, smtp_host="127.0.0.1"), ca_file=str(certificate[0]))
    assert (result.ok, result.retryable, result.reason) == (False, True, Reason.NETWORK)
    assert "certificate verify failed" in result.detail
    assert recorder.received == []


async def test_starttls_is_required_when_configured():
    # A server (or a man in the middle) that offers no STARTTLS gets no mail and no credentials.
    recorder = Recorder()
    with smtp_server(recorder) as port:
        result = await send(tls_config(port, smtp_host="127.0.0.1"))
    assert (result.ok, result.retryable, result.reason) == (False, False, Reason.CONFIG_INVALID)
    assert "STARTTLS" in result.detail
    assert recorder.received == []


async def test_server_down_is_retryable():
    result = await send(config(free_port()))
    assert (result.ok, result.retryable, result.reason) == (False, True, Reason.NETWORK)
    assert "ConnectionRefusedError" in result.detail


@pytest.mark.parametrize(
    ("reply", "retryable", "reason"),
    [
        ("550 5.1.1 no such user", False, Reason.PROVIDER_REJECTED),
        ("450 4.2.1 mailbox busy", True, Reason.SERVER_ERROR),
    ],
)
async def test_refused_recipients_are_classified_by_reply_code(reply, retryable, reason):
    recorder = Recorder(refuse={"ops@example.com": reply})
    with smtp_server(recorder) as port:
        result = await send(config(port))
    assert (result.ok, result.retryable, result.reason) == (False, retryable, reason)
    assert reply[:3] in result.detail


async def test_some_recipients_refused_is_still_a_delivery():
    recorder = Recorder(refuse={"gone@example.com": "550 no such user"})
    with smtp_server(recorder) as port:
        result = await send(config(port, to=["ops@example.com", "gone@example.com"]))
    assert (result.ok, result.detail) == (True, "1 recipient(s) refused (550)")
    assert recorder.received[0].rcpt_tos == ["ops@example.com"]


async def test_loopback_target_is_blocked_by_default():
    recorder = Recorder()
    with smtp_server(recorder) as port:
        for host in ("127.0.0.1", "localhost"):
            result = await send(config(port, smtp_host=host), policy=ssrf.Policy())
            assert (result.ok, result.retryable, result.reason) == (False, False, Reason.SSRF_BLOCKED)
    assert recorder.received == []


async def test_connects_to_the_checked_address_not_to_the_name_again(monkeypatch):
    # The name resolves only in the check's answer: had the connection looked it up again (the lookup a
    # DNS-rebinding attacker answers differently), it would fail.
    async def resolve(host: str, port: int) -> list[ssrf.IPAddress]:
        assert host == "mail.pulse.test"
        return [ipaddress.ip_address("127.0.0.1")]

    monkeypatch.setattr(ssrf, "resolve", resolve)
    recorder = Recorder()
    with smtp_server(recorder) as port:
        assert (await send(config(port, smtp_host="mail.pulse.test"))).ok
    assert len(recorder.received) == 1


async def test_allow_listed_host_is_connected_by_address():
    recorder = Recorder()
    policy = ssrf.Policy(allowed_hosts=frozenset({"localhost"}))
    with smtp_server(recorder) as port:
        assert (await send(config(port, smtp_host="localhost"), policy=policy)).ok
    assert len(recorder.received) == 1


async def test_save_time_check_refuses_private_and_metadata_hosts():
    await channel.check(config(25), LOOPBACK)
    for host in ("10.0.0.5", "169.254.169.254", "metadata.google.internal"):
        with pytest.raises(ssrf.Blocked):
            await channel.check(config(25, smtp_host=host), LOOPBACK)
    with pytest.raises(ssrf.Blocked):
        await channel.check(config(25), ssrf.Policy())


async def test_header_injection_through_alert_data_adds_no_header():
    recorder = Recorder()
    alert = event(summary="hot\r\nBcc: evil@example.org", device_id="pump-1\nX-Injected: yes")
    templates = dict(
        subject_template="{{ summary }} on {{ device_id }}", from_name="Ops\r\nX-From-Injected: 1"
    )
    with smtp_server(recorder) as port:
        result = await send(config(port, **templates), alert=alert)
    assert result.ok
    [mail] = recorder.received
    assert mail.rcpt_tos == ["ops@example.com"]
    headers = {name.lower() for name in mail.message.keys()}
    assert not headers & {"bcc", "x-injected", "x-from-injected"}
    assert mail.message["Subject"] == "hot Bcc: evil@example.org on pump-1 X-Injected: yes"
    assert mail.message["From"].addresses[0].display_name == "Ops X-From-Injected: 1"


async def test_template_failing_at_send_is_a_permanent_config_error():
    cfg = config(free_port(), subject_template="{{ 'a' * 10**9 }}")
    result = await send(cfg)
    assert (result.ok, result.retryable, result.reason) == (False, False, Reason.CONFIG_INVALID)
    assert result.detail == "template_error: value longer than 65536 characters"


def test_config_defaults_and_json_shape():
    cfg = channel.Config.model_validate(
        {"smtp_host": "SMTP.Example.COM.", "from_address": "pulse@example.com", "to": ["ops@example.com"]}
    )
    assert cfg.model_dump(mode="json") == {
        "smtp_host": "smtp.example.com",
        "smtp_port": 587,
        "smtp_user": None,
        "smtp_password": None,
        "smtp_tls": "starttls",
        "from_address": "pulse@example.com",
        "from_name": "Pulse Alerts",
        "to": ["ops@example.com"],
        "cc": [],
        "bcc": [],
        "subject_template": channel.DEFAULT_SUBJECT,
        "body_template": None,
        "format": "html",
    }
    assert config(25, smtp_tls=True).smtp_tls == "starttls"
    assert config(25, smtp_tls=False).smtp_tls == "none"
    assert config(25, smtp_host="::1").smtp_host == str(ipaddress.ip_address("::1"))


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"to": []}, "to"),
        ({"to": [f"u{i}@example.com" for i in range(11)]}, "to"),
        ({"cc": [f"u{i}@example.com" for i in range(11)]}, "cc"),
        ({"to": ["not-an-address"]}, "to.0"),
        ({"to": ["a@example.com\r\nBcc: x@example.org"]}, "to.0"),
        ({"from_address": "pulse"}, "from_address"),
        ({"smtp_port": 0}, "smtp_port"),
        ({"smtp_port": 65536}, "smtp_port"),
        ({"smtp_host": "smtp.example.com\r\nRCPT"}, "smtp_host"),
        ({"smtp_host": "smtp.example.com/x"}, "smtp_host"),
        ({"smtp_tls": "ssl"}, "smtp_tls"),
        ({"format": "markdown"}, "format"),
        ({"subject_template": "x" * 201}, "subject_template"),
        ({"subject_template": "{{ nope }}"}, "subject_template"),
        ({"body_template": "{% for %}"}, "body_template"),
        ({"body_template": "{% macro m() %}{% endmacro %}"}, "body_template"),
        ({"smtp_password": PASSWORD}, None),  # a password without a user
        ({"smtp_user": USER, "smtp_password": PASSWORD, "smtp_tls": "none"}, None),  # credentials in clear
        ({"surprise": 1}, "surprise"),
    ],
)
def test_invalid_configs_are_refused(overrides, field):
    values = {"smtp_host": "smtp.example.com", "from_address": "pulse@example.com", "to": ["ops@example.com"]}
    with pytest.raises(ValidationError) as caught:
        channel.Config.model_validate(values | overrides)
    locations = {".".join(str(p) for p in error["loc"]) for error in caught.value.errors()}
    assert locations == {field or ""}  # "" is the model itself
    assert PASSWORD not in str([error["msg"] for error in caught.value.errors()])
