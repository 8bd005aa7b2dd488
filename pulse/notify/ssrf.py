"""Outbound URL safety: refuse addresses a tenant must not make Pulse reach.

`check_url` / `check_host` are called when a target is stored (each channel's `check`) and again at
send time (after DNS resolution every resolved address is checked, and the connection goes to a
checked address). Refused: private, loopback, link-local
(including the 169.254.169.254 metadata address), CGNAT 100.64/10, multicast, reserved and
unspecified addresses, IPv6 unique-local, and metadata host names. IPv6 transition addresses that
carry an IPv4 address a relay would reach are refused too: 6to4 (`2002::/16`), Teredo (`2001::/32`) and
NAT64 (`64:ff9b::/96`, `64:ff9b:1::/48`) — whatever IPv4 they embed, since a relay or gateway on the
path may route them into a private network; an IPv4-mapped address is checked as its IPv4 address. Loopback is allowed only when
PULSE_NOTIFY_ALLOW_LOOPBACK is set (development and tests); PULSE_NOTIFY_ALLOWED_HOSTS lists
operator-approved on-premise targets (host names or CIDRs) that skip the address check.
Redirects are never followed (`channels.base.post_json`), so a redirect cannot reach such an address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

CGNAT = ipaddress.ip_network("100.64.0.0/10")
SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
TEREDO = ipaddress.ip_network("2001::/32")
NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
METADATA_HOSTS = {"metadata.google.internal", "metadata", "instance-data"}
DNS_TIMEOUT = 5.0


class Blocked(Exception):
    """The URL or one of its addresses is refused; the message names why, never the full URL."""


class Unresolvable(Blocked):
    """The host did not resolve (now): refused for this attempt, but worth retrying later."""


@dataclass(frozen=True)
class Policy:
    allow_loopback: bool = False
    allowed_hosts: frozenset[str] = field(default_factory=frozenset)  # lower-case host names
    allowed_networks: tuple[Network, ...] = ()

    @classmethod
    def from_settings(cls, settings) -> Policy:
        return cls.build(settings.notify_allow_loopback, settings.notify_allowed_hosts)

    @classmethod
    def build(cls, allow_loopback: bool, allowed: list[str]) -> Policy:
        hosts, networks = set(), []
        for item in allowed:
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                hosts.add(item.lower().rstrip("."))
        return cls(allow_loopback, frozenset(hosts), tuple(networks))


def address_refusal(ip: IPAddress, policy: Policy) -> str | None:
    """Why this address is refused, or None when it may be reached."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if any(ip in net for net in policy.allowed_networks):
        return None
    if ip.is_loopback:
        return None if policy.allow_loopback else "loopback"
    if ip.version == 6:
        if ip in SIX_TO_FOUR:
            return "6to4"
        if ip in TEREDO:
            return "teredo"
        if any(ip in net for net in NAT64):
            return "nat64"
    if ip.is_link_local:
        return "link_local"  # includes 169.254.169.254 (cloud metadata) and fe80::/10
    if ip.version == 4 and ip in CGNAT:
        return "cgnat"
    if ip.is_multicast:
        return "multicast"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_private:
        return "private"
    if ip.is_reserved:
        return "reserved"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "site_local"
    return None


def _split(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Blocked("url_invalid: needs http(s)://host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise Blocked("url_invalid: bad port") from None
    return parts.hostname.lower().rstrip("."), port


async def resolve(host: str, port: int) -> list[IPAddress]:
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return [literal]
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout=DNS_TIMEOUT
        )
    except (OSError, TimeoutError):
        raise Unresolvable(f"dns_resolution_failed: {host}") from None
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


async def check_url(url: str, policy: Policy) -> list[IPAddress]:
    """Raise Blocked unless every address the URL's host resolves to may be reached. Returns the
    checked addresses (connect to one of them, not to the name again); [] for an allow-listed host."""
    host, port = _split(url)
    return await check_host(host, port, policy)


async def check_host(host: str, port: int, policy: Policy) -> list[IPAddress]:
    """The same check for a bare host (SMTP, SNMP, MQTT targets)."""
    host = host.lower().rstrip(".")
    if not host or len(host) > 253:
        raise Blocked("host_invalid")
    if host in policy.allowed_hosts:
        return []
    if host in METADATA_HOSTS or host.endswith(".internal"):
        raise Blocked(f"url_blocked: metadata host {host}")
    if host == "localhost" or host.endswith(".localhost"):
        if not policy.allow_loopback:
            raise Blocked("url_blocked: loopback")
    addresses = await resolve(host, port)
    if not addresses:
        raise Unresolvable(f"dns_resolution_failed: {host}")
    for ip in addresses:
        refusal = address_refusal(ip, policy)
        if refusal:
            raise Blocked(f"url_blocked: {refusal} address {ip}")
    return addresses
