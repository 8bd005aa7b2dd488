"""The tenant config cache: kept for its TTL, dropped on a change notice — including one that arrives
while the config is being loaded (that load may predate the change)."""

from __future__ import annotations

import asyncio

from pulse.evaluator import tenant_config
from pulse.evaluator.tenant_config import ConfigCache


async def test_an_invalidation_during_a_load_is_not_lost(monkeypatch):
    cache = ConfigCache(ttl=60)
    loads: list[int] = []
    loading = asyncio.Event()
    release = asyncio.Event()

    async def load(_conn, tenant_id):
        loads.append(len(loads))
        if len(loads) == 1:
            loading.set()
            await release.wait()  # the rule is created and announced while this load runs
        return f"config-{len(loads)}"

    monkeypatch.setattr(tenant_config, "load_tenant_config", load)
    first = asyncio.create_task(cache.get(None, "acme"))
    await loading.wait()
    cache.invalidate("acme")
    release.set()
    assert await first == "config-1"  # serves the pass that asked
    assert await cache.get(None, "acme") == "config-2"  # but was not kept
    assert await cache.get(None, "acme") == "config-2"  # the fresh one is
    assert len(loads) == 2
