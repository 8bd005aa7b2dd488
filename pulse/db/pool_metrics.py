"""`pulse_db_pool_connections{pool, state}`: how full each of this process's asyncpg pools is, read at
scrape time (size, idle, in_use, max), summed per pool name. `create_pool` registers every pool; a closed pool
drops out at the next scrape or registration (asyncpg pools take no weak references)."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator

import asyncpg
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from pulse.metrics import REGISTRY

STATES = ("size", "idle", "in_use", "max")


class PoolCollector(Collector):
    def __init__(self) -> None:
        self._pools: list[tuple[str, asyncpg.Pool]] = []
        self._lock = threading.Lock()  # scrapes may come from the metrics listener's thread

    def track(self, name: str, pool: asyncpg.Pool) -> None:
        with self._lock:
            self._pools = [(n, p) for n, p in self._pools if not p.is_closing()]
            self._pools.append((name, pool))

    def usage(self) -> dict[str, dict[str, int]]:
        totals: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STATES, 0))
        with self._lock:
            alive = []
            for name, pool in self._pools:
                if pool.is_closing():
                    continue
                alive.append((name, pool))
                size, idle = pool.get_size(), pool.get_idle_size()
                figures = totals[name]
                figures["size"] += size
                figures["idle"] += idle
                figures["in_use"] += size - idle
                figures["max"] += pool.get_max_size()
            self._pools = alive
        return dict(totals)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "pulse_db_pool_connections",
            "Connections of this process's database pools: size (open), idle, in_use and max",
            labels=["pool", "state"],
        )
        for name, figures in sorted(self.usage().items()):
            for state in STATES:
                family.add_metric([name, state], figures[state])
        yield family


POOLS = PoolCollector()
REGISTRY.register(POOLS)
