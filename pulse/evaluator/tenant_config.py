"""What the evaluator needs to know about a tenant — rules, metric mappings, maintenance windows —
loaded in one transaction and cached. Migration 042 NOTIFYs `evaluator_config` (payload: tenant id)
whenever one of those tables changes, and the service drops that tenant's entry; the TTL is only a
safety net for a missed notification (e.g. while the LISTEN connection was reconnecting)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import asyncpg

from pulse.evaluator.maintenance import MaintenanceWindow, load_windows
from pulse.evaluator.rules import MetricMapping, Rule, RuleError, parse_rule
from pulse.log import get_logger

log = get_logger("pulse.evaluator")


@dataclass(frozen=True, slots=True)
class TenantConfig:
    tenant_id: str
    rules: tuple[Rule, ...]
    mappings: tuple[MetricMapping, ...]
    windows: tuple[MaintenanceWindow, ...]

    def rules_of(self, *types: str) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.rule_type in types)


async def load_tenant_config(conn: asyncpg.Connection, tenant_id: str) -> TenantConfig:
    rules: list[Rule] = []
    for row in await conn.fetch(
        """SELECT rule_id, name, rule_type, conditions, metric_name, operator, threshold, clear_threshold,
                  clear_after_seconds, severity, site_ids, group_ids, device_type, duration_seconds
             FROM alert_rules WHERE tenant_id = $1 AND enabled ORDER BY rule_id""",
        tenant_id,
    ):
        try:
            rules.append(parse_rule(row))
        except (RuleError, TypeError, ValueError) as exc:
            log.warning(
                "skipping unusable alert rule", tenant_id=tenant_id, rule_id=row["rule_id"], error=str(exc)
            )
    mappings = tuple(
        MetricMapping(r["raw_metric"], r["normalized_name"], float(r["multiplier"]), float(r["offset_value"]))
        for r in await conn.fetch(
            """SELECT raw_metric, normalized_name, multiplier, offset_value FROM metric_mappings
                WHERE tenant_id = $1 ORDER BY id""",
            tenant_id,
        )
    )
    return TenantConfig(tenant_id, tuple(rules), mappings, await load_windows(conn, tenant_id))


class ConfigCache:
    """Tenant configs for `ttl` seconds, dropped early when an `evaluator_config` notice says one
    changed. A notice that arrives while a load is in flight wins: that load may have read the tables
    before the change, so its result serves the pass that asked for it but is not kept (else a rule
    created at that moment would be ignored until the TTL ran out)."""

    def __init__(self, ttl: float = 60.0):
        self._ttl = ttl
        self._entries: dict[str, tuple[float, TenantConfig]] = {}
        self._generation = 0  # bumped by every invalidation

    def invalidate(self, tenant_id: str | None = None) -> None:
        self._generation += 1
        if tenant_id is None:
            self._entries.clear()
        else:
            self._entries.pop(tenant_id, None)

    async def get(self, conn: asyncpg.Connection, tenant_id: str) -> TenantConfig:
        entry = self._entries.get(tenant_id)
        if entry is not None and time.monotonic() - entry[0] < self._ttl:
            return entry[1]
        generation = self._generation
        config = await load_tenant_config(conn, tenant_id)
        if generation == self._generation:
            self._entries[tenant_id] = (time.monotonic(), config)
        return config
