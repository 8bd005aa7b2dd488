"""What ingest needs to know about a device, cached with a TTL and a size bound.

Lookups for all the devices of a chunk of messages that are not cached are made with one query. Absent
devices are cached too (negative entries), so a flood for an unregistered id costs one query per TTL.
A revoked device, a rotated token or a suspended subscription takes effect within the TTL.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

import asyncpg

from pulse.db.tx import operator_tx

DeviceKey = tuple[str, str]  # (tenant_id, device_id)


@dataclass(frozen=True, slots=True)
class DeviceAuth:
    site_id: str
    status: str
    token_hash: str | None
    subscription_status: str | None
    tenant_status: str


_LOOKUP = """
SELECT k.tenant_id, k.device_id, d.site_id, d.status, d.provision_token_hash,
       s.status AS subscription_status, t.status AS tenant_status
  FROM unnest($1::text[], $2::text[]) AS k(tenant_id, device_id)
  JOIN device_registry d ON d.tenant_id = k.tenant_id AND d.device_id = k.device_id
  JOIN tenants t ON t.tenant_id = d.tenant_id
  LEFT JOIN subscriptions s ON s.tenant_id = d.tenant_id AND s.subscription_id = d.subscription_id
"""

MISSING = object()  # lookup(): not cached (or expired), load it


class DeviceAuthCache:
    def __init__(self, pool: asyncpg.Pool, *, ttl: float, max_size: int, clock=time.monotonic):
        self._pool = pool
        self._ttl = ttl
        self._max_size = max_size
        self._clock = clock
        self._entries: OrderedDict[DeviceKey, tuple[float, DeviceAuth | None]] = OrderedDict()

    def lookup(self, key: DeviceKey) -> DeviceAuth | object | None:
        """The cached entry (None = known not to exist), or `MISSING` when a load is needed."""
        entry = self._entries.get(key)
        if entry is None:
            return MISSING
        if entry[0] <= self._clock():
            del self._entries[key]
            return MISSING
        return entry[1]

    async def load(self, keys: set[DeviceKey]) -> None:
        if not keys:
            return
        tenants, devices = zip(*keys, strict=True)
        async with operator_tx(self._pool, "service:ingest") as conn:
            rows = await conn.fetch(_LOOKUP, list(tenants), list(devices))
        expires = self._clock() + self._ttl
        found = {
            (r["tenant_id"], r["device_id"]): DeviceAuth(
                r["site_id"],
                r["status"],
                r["provision_token_hash"],
                r["subscription_status"],
                r["tenant_status"],
            )
            for r in rows
        }
        for key in keys:
            self._entries[key] = (expires, found.get(key))
            self._entries.move_to_end(key)
        overflow = len(self._entries) - self._max_size
        if overflow > 0:
            # Evict the oldest tenth (at least the overflow) in one go rather than one per insert.
            for _ in range(max(overflow, self._max_size // 10)):
                self._entries.popitem(last=False)
