"""The backtest replay: the evaluator's state machine over samples, and the per-minute reading."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pulse.evaluator.replay import Sample, minute_key, minute_rule, minute_values, replay
from pulse.evaluator.rules import Condition, MetricMapping, Rule

T = datetime(2026, 1, 1, tzinfo=UTC)


def _rule(**fields) -> Rule:
    """temperature `t` above 10."""
    return Rule(
        rule_id="r", name="r", rule_type="threshold", severity=3,
        conditions=(Condition("t", "GT", 10.0),), metrics=frozenset({"t"}), **fields,
    )  # fmt: skip


def _samples(values: list[float | None]) -> list[Sample]:
    return [
        Sample(T + timedelta(seconds=10 * i), {} if v is None else {"t": v}) for i, v in enumerate(values)
    ]


def test_latest_value_carries_over_messages_without_the_metric() -> None:
    # a message without `t` keeps the breach (device_state's merge), so the duration completes
    out = replay(_rule(duration_seconds=20), _samples([11, None, 12, 5]), T + timedelta(minutes=1))
    assert out.fires == 1 and out.first_at == T + timedelta(seconds=20)
    assert out.periods[0].start == T and out.periods[0].end == T + timedelta(seconds=30)


def test_a_breach_shorter_than_the_duration_is_a_period_without_a_fire() -> None:
    out = replay(_rule(duration_seconds=60), _samples([11, 12, 5]), T + timedelta(minutes=1))
    assert (
        out.fires == 0 and out.periods[0].fired_at is None and out.periods[0].end == T + timedelta(seconds=20)
    )


def test_still_open_at_the_end_of_the_window() -> None:
    out = replay(_rule(), _samples([5, 11]), T + timedelta(minutes=1))
    assert out.fires == 1 and out.periods[0].end is None


def test_minute_rule_reads_the_extreme_in_the_conditions_direction() -> None:
    rule = minute_rule(Rule(rule_id="r", name="r", rule_type="threshold", severity=3,
                            conditions=(Condition("t", "GT", 10.0), Condition("t", "LT", 0.0)),
                            combinator="OR", metrics=frozenset({"t"})))  # fmt: skip
    assert [c.metric for c in rule.conditions] == [minute_key("t", "GT"), minute_key("t", "LT")]
    assert rule.breached(minute_values({"t": (1.0, 11.0, 5.0)}, ()))  # max 11 > 10
    assert rule.breached(minute_values({"t": (-1.0, 5.0, 5.0)}, ()))  # min -1 < 0
    assert not rule.breached(minute_values({"t": (1.0, 9.0, 5.0)}, ()))


def test_a_negative_multiplier_swaps_min_and_max() -> None:
    values = minute_values({"raw": (1.0, 3.0, 2.0)}, (MetricMapping("raw", "n", -2.0, 0.0),))
    assert values[minute_key("n", "GT")] == -2.0 and values[minute_key("n", "LT")] == -6.0
    assert values[minute_key("n", "EQ")] == -4.0
