"""Outbound URL safety, with literal addresses (no DNS needed)."""

from __future__ import annotations

import pytest

from pulse.notify import ssrf

STRICT = ssrf.Policy()


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://10.0.0.1/hook", "private"),
        ("http://192.168.1.5/hook", "private"),
        ("http://172.16.0.1/hook", "private"),
        ("http://169.254.169.254/latest/meta-data", "link_local"),
        ("http://127.0.0.1:8080/hook", "loopback"),
        ("http://[::1]/hook", "loopback"),
        ("http://100.64.0.1/hook", "cgnat"),
        ("http://224.0.0.1/hook", "multicast"),
        ("http://0.0.0.0/hook", "unspecified"),
        ("http://[fd00::1]/hook", "private"),
        ("http://[::ffff:10.0.0.1]/hook", "private"),
        ("http://localhost/hook", "loopback"),
        ("http://metadata.google.internal/x", "metadata"),
        ("ftp://example.com/x", "url_invalid"),
        # IPv6 transition addresses a relay would forward to the IPv4 they embed
        ("http://[2002:a00:1::1]/hook", "6to4"),  # 10.0.0.1
        ("http://[2002:808:808::1]/hook", "6to4"),  # even a public one: the relay is not ours
        ("http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook", "teredo"),
        ("http://[64:ff9b::a00:1]/hook", "nat64"),  # 10.0.0.1
        ("http://[64:ff9b::a9fe:a9fe]/hook", "nat64"),  # 169.254.169.254
        ("http://[64:ff9b:1::a00:1]/hook", "nat64"),
    ],
)
async def test_refused(url, why):
    with pytest.raises(ssrf.Blocked, match=why):
        await ssrf.check_url(url, STRICT)
    with pytest.raises(ssrf.Blocked):
        await ssrf.check_url(url, STRICT)


async def test_public_address_allowed():
    assert await ssrf.check_url("https://93.184.216.34/hook", STRICT)


async def test_loopback_only_when_allowed():
    await ssrf.check_url("http://127.0.0.1:8080/hook", ssrf.Policy(allow_loopback=True))
    with pytest.raises(ssrf.Blocked):  # loopback permission does not open private ranges
        await ssrf.check_url("http://10.0.0.1/hook", ssrf.Policy(allow_loopback=True))


async def test_operator_allow_list():
    policy = ssrf.Policy.build(False, ["10.20.0.0/16", "alerts.corp.example"])
    await ssrf.check_url("http://10.20.1.2/hook", policy)
    await ssrf.check_url("https://alerts.corp.example/hook", policy)
    with pytest.raises(ssrf.Blocked):
        await ssrf.check_url("http://10.21.0.1/hook", policy)


async def test_unresolvable_host_is_retryable_not_a_refusal():
    from pulse.notify.channels.base import Reason, post_json

    result = await post_json(None, "https://no-such-host.invalid/hook", b"{}", {}, STRICT)  # type: ignore[arg-type]
    assert result.retryable and result.reason == Reason.NETWORK
    assert result.detail.startswith("dns_resolution_failed")
