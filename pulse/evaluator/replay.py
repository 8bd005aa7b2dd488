"""Replaying stored telemetry through a rule: what the evaluator would have done (rule backtests).

Pure: samples in time order in, fires and periods out. It runs the evaluator's own pieces — the
latest-value merge of `device_state`, `Rule.breached` / `Rule.cleared` and the state machine of
`decide.step` / `close_due` — so duration (the condition held at every evaluation for that long) and
hysteresis (clear threshold, clear-after-quiet) mean exactly what they mean live.

Two kinds of samples:
- raw messages (exact: the evaluator sees each message);
- per-minute rollups, where a condition reads the minute's extreme in its own direction (GT/GTE the
  max, LT/LTE the min: "some sample in the minute breached", exact per minute) and EQ/NEQ the minute's
  last sample (the others are not kept). `minute_rule` rewrites the rule's metrics to those keys and
  `minute_values` builds them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from pulse.evaluator.decide import Action, RuleState, close_due, step
from pulse.evaluator.rules import Condition, MetricMapping, Rule

_MINUTE_KEY = {"GT": "max", "GTE": "max", "LT": "min", "LTE": "min", "EQ": "last", "NEQ": "last"}


@dataclass(frozen=True, slots=True)
class Sample:
    at: datetime
    values: Mapping[str, float]  # this message's (or minute's) numeric values


@dataclass(slots=True)
class Period:
    """The condition held from `start`; `fired_at` when the alert would have opened (None: it did not
    hold for the duration); `end` when the alert would have closed or, if it never opened, when the
    condition stopped holding (None: still so at the end of the window)."""

    start: datetime
    fired_at: datetime | None = None
    end: datetime | None = None


@dataclass(slots=True)
class DeviceReplay:
    fires: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None
    periods: list[Period] = field(default_factory=list)


def replay(rule: Rule, samples: Iterable[Sample], window_end: datetime) -> DeviceReplay:
    """One device's samples, oldest first. Starts with no alert open and nothing held (what happened
    before the window is not known)."""
    out = DeviceReplay()
    latest: dict[str, float] = {}  # device_state's merge: a metric keeps its value until it is sent again
    state, alert_open, current = RuleState(), False, None
    quiet = timedelta(seconds=rule.clear_after_seconds)
    for sample in samples:
        if alert_open and close_due(state, now=sample.at, clear_after_seconds=rule.clear_after_seconds):
            current.end = state.clear_since + quiet  # the sweep closes it before this sample arrives
            out.periods.append(current)
            state, alert_open, current = RuleState(), False, None
        latest.update(sample.values)
        breached = rule.breached(latest)
        state, action = step(
            state,
            breached=breached,
            cleared=rule.cleared(latest),
            alert_open=alert_open,
            at=sample.at,
            duration_seconds=rule.duration_seconds,
            clear_after_seconds=rule.clear_after_seconds,
        )
        if breached and current is None:
            current = Period(start=state.breach_since or sample.at)
        if action is Action.OPEN:
            alert_open = True
            current.fired_at = sample.at
            out.fires += 1
            out.first_at = out.first_at or sample.at
            out.last_at = sample.at
        elif (action is Action.CLOSE or (not alert_open and not breached)) and current is not None:
            current.end = sample.at
            out.periods.append(current)
            current = None
            alert_open = False
    if current is not None:
        if alert_open and close_due(state, now=window_end, clear_after_seconds=rule.clear_after_seconds):
            current.end = state.clear_since + quiet
        out.periods.append(current)
    return out


def minute_key(metric: str, operator: str) -> str:
    return f"{metric}\x00{_MINUTE_KEY[operator]}"


def minute_rule(rule: Rule) -> Rule:
    """The rule reading per-minute rollups: each condition on its minute extreme (see module doc)."""
    conditions = tuple(
        Condition(minute_key(c.metric, c.operator), c.operator, c.threshold) for c in rule.conditions
    )
    return replace(rule, conditions=conditions, metrics=frozenset(c.metric for c in conditions))


def minute_values(
    stats: Mapping[str, tuple[float, float, float]], mappings: Sequence[MetricMapping]
) -> dict[str, float]:
    """A minute's {metric: (min, max, last)} as the keys `minute_rule` reads, with the tenant's
    normalized metrics derived as the evaluator derives them (a negative multiplier swaps min and max)."""
    values: dict[str, float] = {}
    for metric, (low, high, last) in stats.items():
        values[f"{metric}\x00min"], values[f"{metric}\x00max"], values[f"{metric}\x00last"] = low, high, last
    for m in mappings:
        if m.raw_metric not in stats or m.normalized_name in stats:
            continue
        low, high, last = (v * m.multiplier + m.offset for v in stats[m.raw_metric])
        low, high = min(low, high), max(low, high)
        name = m.normalized_name
        values.setdefault(f"{name}\x00min", low)
        values.setdefault(f"{name}\x00max", high)
        values.setdefault(f"{name}\x00last", last)
    return values
