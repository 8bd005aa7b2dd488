"""Alert rules as the evaluator sees them: parsed once from `alert_rules` rows, then pure functions.

A stored row is hostile input as far as this module is concerned (the API validates, but rows can
be written by hand or by older code): `parse_rule` raises `RuleError` with a reason, and the caller
skips that rule and logs it instead of failing the whole tenant. The JSON `conditions` column has one
schema, shared with the API: `pulse.alerts.rules`.
"""

from __future__ import annotations

import math
import operator as op
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pulse.alerts import rules as schema

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "GT": op.gt,
    "GTE": op.ge,
    "LT": op.lt,
    "LTE": op.le,
    "EQ": op.eq,
    "NEQ": op.ne,
}
SYMBOLS = {"GT": ">", "GTE": ">=", "LT": "<", "LTE": "<=", "EQ": "==", "NEQ": "!="}


class RuleError(ValueError):
    """A stored rule the evaluator cannot use; the message says why."""


@dataclass(frozen=True, slots=True)
class Condition:
    metric: str
    operator: str
    threshold: float

    def holds(self, values: Mapping[str, float]) -> bool:
        value = values.get(self.metric)
        return value is not None and OPERATORS[self.operator](value, self.threshold)


@dataclass(frozen=True, slots=True)
class MetricMapping:
    """normalized = raw * multiplier + offset (metric_mappings)."""

    raw_metric: str
    normalized_name: str
    multiplier: float
    offset: float


@dataclass(frozen=True, slots=True)
class AnomalyConfig:
    metric: str
    window_minutes: int
    z_threshold: float
    min_samples: int


@dataclass(frozen=True, slots=True)
class Rule:
    rule_id: str
    name: str
    rule_type: str  # threshold | anomaly | telemetry_gap | no_heartbeat
    severity: int
    conditions: tuple[Condition, ...] = ()
    combinator: str = "AND"
    multi: bool = False  # built from `conditions` (summary text differs)
    duration_seconds: int = 0
    clear_threshold: float | None = None
    clear_after_seconds: int = 0
    site_ids: frozenset[str] = frozenset()
    group_ids: frozenset[str] = frozenset()
    device_type: str | None = None
    anomaly: AnomalyConfig | None = None
    gap_minutes: int | None = None
    gap_metric: str | None = None
    metrics: frozenset[str] = field(default=frozenset())

    def applies_to(self, site_id: str, device_type: str | None, group_ids: Sequence[str]) -> bool:
        """Empty filters match everything; group filter: member of any listed group."""
        if self.site_ids and site_id not in self.site_ids:
            return False
        if self.device_type and device_type != self.device_type:
            return False
        return not self.group_ids or not self.group_ids.isdisjoint(group_ids)

    def breached(self, values: Mapping[str, float]) -> bool:
        """A missing metric makes its condition false (never breached on absent data)."""
        results = (c.holds(values) for c in self.conditions)
        return all(results) if self.combinator == "AND" else any(results)

    def cleared(self, values: Mapping[str, float]) -> bool:
        """Clear enough to close an open alert. With a clear_threshold (one condition, an ordering
        operator) the value must be back past it; a value between the two thresholds neither opens nor
        closes — that band is what stops a value hovering at the threshold from flapping."""
        if self.clear_threshold is None or len(self.conditions) != 1:
            return not self.breached(values)
        cond = self.conditions[0]
        value = values.get(cond.metric)
        if value is None:
            return True
        if cond.operator in ("GT", "GTE"):
            return value < self.clear_threshold
        if cond.operator in ("LT", "LTE"):
            return value > self.clear_threshold
        return not cond.holds(values)


def _condition(stored: schema.Condition) -> Condition:
    return Condition(stored.metric_name, stored.operator, stored.threshold)


def parse_rule(row: Mapping[str, Any]) -> Rule:
    """An `alert_rules` row (conditions decoded from jsonb) → Rule, or RuleError. The `conditions`
    column is read with the schema the API writes with (pulse.alerts.rules)."""
    rule_type = row["rule_type"]
    if rule_type not in schema.RULE_TYPES:
        raise RuleError(f"unknown rule_type {rule_type!r}")
    try:
        stored = schema.read_conditions(rule_type, row.get("conditions"))
    except schema.ConditionsError as exc:
        raise RuleError(str(exc)) from None
    common = {
        "rule_id": row["rule_id"],
        "name": row["name"],
        "rule_type": rule_type,
        "severity": int(row["severity"]),
        "duration_seconds": int(row.get("duration_seconds") or 0),
        "clear_after_seconds": int(row.get("clear_after_seconds") or 0),
        "site_ids": frozenset(row.get("site_ids") or ()),
        "group_ids": frozenset(row.get("group_ids") or ()),
        "device_type": row.get("device_type") or None,
    }
    if isinstance(stored, schema.ThresholdConditions):
        conditions = tuple(_condition(c) for c in stored.conditions)
        return Rule(
            **common,
            conditions=conditions,
            combinator=stored.combinator,
            multi=True,
            clear_threshold=_clear_threshold(row),
            metrics=frozenset(c.metric for c in conditions),
        )
    if rule_type == "threshold":
        try:
            only = schema.simple_condition(row.get("metric_name"), row.get("operator"), row.get("threshold"))
        except schema.ConditionsError as exc:
            raise RuleError(str(exc)) from None
        return Rule(
            **common,
            conditions=(_condition(only),),
            clear_threshold=_clear_threshold(row),
            metrics=frozenset({only.metric_name}),
        )
    if rule_type == "anomaly":
        if not isinstance(stored, schema.AnomalyConditions):
            raise RuleError("an anomaly rule needs conditions with metric_name")
        cfg = AnomalyConfig(stored.metric_name, stored.window_minutes, stored.z_threshold, stored.min_samples)
        return Rule(**common, anomaly=cfg, metrics=frozenset({cfg.metric}))
    if rule_type == "telemetry_gap":
        if not isinstance(stored, schema.GapConditions):
            raise RuleError("a telemetry_gap rule needs conditions with gap_minutes")
        metric = stored.metric_name
        return Rule(
            **common,
            gap_minutes=stored.gap_minutes,
            gap_metric=metric,
            metrics=frozenset({metric} if metric else ()),
        )
    return Rule(**common)  # no_heartbeat


def _clear_threshold(row: Mapping[str, Any]) -> float | None:
    clear = row.get("clear_threshold")
    if clear is None:
        return None
    if isinstance(clear, bool) or not isinstance(clear, int | float) or not math.isfinite(clear):
        raise RuleError(f"clear_threshold must be a finite number, not {clear!r}")
    return float(clear)


def normalize(metrics: Mapping[str, Any], mappings: Sequence[MetricMapping]) -> dict[str, float]:
    """The numeric metrics, plus each normalized name computed from the first mapping whose raw metric
    is numeric. Booleans count as 0/1; strings and nested values are not numbers and are left out."""
    values: dict[str, float] = {}
    for key, value in metrics.items():
        if isinstance(value, bool):
            values[key] = float(value)
        elif isinstance(value, int | float) and math.isfinite(value):
            values[key] = float(value)
    for m in mappings:
        if m.normalized_name not in values and m.raw_metric in values:
            values[m.normalized_name] = values[m.raw_metric] * m.multiplier + m.offset
    return values


def describe(rule: Rule, values: Mapping[str, float], site_id: str, device_id: str) -> tuple[str, dict]:
    """Summary text and details for a THRESHOLD alert (the reference's wording)."""
    details: dict[str, Any] = {"rule_id": rule.rule_id, "rule_name": rule.name}
    if rule.multi:
        details |= {
            "combinator": rule.combinator,
            "conditions": [
                {
                    "metric_name": c.metric,
                    "operator": c.operator,
                    "threshold": c.threshold,
                    "metric_value": values.get(c.metric),
                }
                for c in rule.conditions
            ],
        }
        return f"{site_id}: {device_id} multi-condition rule '{rule.name}' triggered", details
    c = rule.conditions[0]
    value = values.get(c.metric)
    details |= {
        "metric_name": c.metric,
        "metric_value": value,
        "operator": c.operator,
        "threshold": c.threshold,
    }
    return f"{site_id}: {device_id} {c.metric} ({value}) {SYMBOLS[c.operator]} {c.threshold}", details
