"""Send-time outbound safety against a real receiver: names that resolve to refused addresses, DNS
answers that change after the check (rebinding), redirects.

DNS answers are the one thing faked here (no resolver we control runs in the test): `ssrf.resolve`
is replaced by a table, everything after it — the check, the connection, the receiver — is real.
"""

from __future__ import annotations

import ipaddress
import time

import pytest

from pulse.notify import ssrf
from pulse.notify.channels import webhook
from pulse.notify.channels.base import Reason, SendContext
from pulse.notify.events import AlertEvent
from tests.alert_events import make_event
from tests.integration.notify.helpers import Answer, Receiver


class FakeDns:
    def __init__(self, real):
        self.answers: dict[str, list[str]] = {}
        self.lookups: list[str] = []
        self._real = real

    async def resolve(self, host: str, port: int):
        self.lookups.append(host)
        if host not in self.answers:
            return await self._real(host, port)
        return [ipaddress.ip_address(a) for a in self.answers[host]]


@pytest.fixture
def dns(monkeypatch) -> FakeDns:
    fake = FakeDns(ssrf.resolve)
    monkeypatch.setattr(ssrf, "resolve", fake.resolve)
    return fake


def context(policy: ssrf.Policy) -> SendContext:
    return SendContext(policy, "pulse-job-1", int(time.time()))


def alert() -> AlertEvent:
    return make_event()


async def test_name_resolving_to_a_private_address_is_refused(dns, http):
    dns.answers["hooks.example.test"] = ["10.1.2.3"]
    config = webhook.Config(url="https://hooks.example.test/x")
    with pytest.raises(ssrf.Blocked, match=r"private address 10\.1\.2\.3"):
        await webhook.check(config, ssrf.Policy())
    result = await webhook.send(alert(), config, http, context(ssrf.Policy()))
    assert (result.ok, result.retryable, result.reason) == (False, False, Reason.SSRF_BLOCKED)


async def test_connection_goes_to_the_checked_address(dns, http):
    """The name resolves once, at the check; the request is sent to that address with the name in
    the Host header. A second lookup (httpx's own) could be answered differently by a rebinding DNS
    server — here any second lookup would fail, as `*.invalid` never resolves."""
    async with Receiver() as receiver:
        port = receiver.url.split(":")[2].split("/")[0]
        dns.answers["rebind.invalid"] = ["127.0.0.1"]
        config = webhook.Config(url=f"http://rebind.invalid:{port}/hook")
        result = await webhook.send(alert(), config, http, context(ssrf.Policy(allow_loopback=True)))
    assert result.ok, result
    (request,) = receiver.requests
    assert request.headers["host"] == f"rebind.invalid:{port}"
    assert dns.lookups.count("rebind.invalid") == 1


async def test_redirect_to_a_private_address_is_not_followed(http):
    async with (
        Receiver() as inside,
        Receiver(Answer(302, headers={"Location": "http://10.0.0.1/admin"})) as outside,
    ):
        config = webhook.Config(url=outside.url)
        result = await webhook.send(alert(), config, http, context(ssrf.Policy(allow_loopback=True)))
        config_inside = webhook.Config(url=outside.url)  # a redirect to loopback is not followed either
        outside.script = [Answer(307, headers={"Location": inside.url})]
        second = await webhook.send(alert(), config_inside, http, context(ssrf.Policy(allow_loopback=True)))
    assert (result.ok, result.retryable, result.http_status) == (False, False, 302)
    assert (second.ok, second.http_status) == (False, 307)
    assert inside.requests == [] and len(outside.requests) == 2
