"""Rule parsing (stored rows are hostile input), operators, normalization and hysteresis."""

from __future__ import annotations

import pytest

from pulse.evaluator.rules import MetricMapping, RuleError, normalize, parse_rule


def row(**fields):
    base = {
        "rule_id": "r1",
        "name": "n",
        "rule_type": "threshold",
        "severity": 3,
        "conditions": None,
        "metric_name": "t",
        "operator": "GT",
        "threshold": 50.0,
    }
    return base | fields


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("GT", 51, True),
        ("GT", 50, False),
        ("GTE", 50, True),
        ("LT", 49, True),
        ("LT", 50, False),
        ("LTE", 50, True),
        ("EQ", 50, True),
        ("EQ", 50.5, False),
        ("NEQ", 50.5, True),
        ("NEQ", 50, False),
    ],
)
def test_operators(op, value, expected):
    assert parse_rule(row(operator=op)).breached({"t": value}) is expected


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"operator": "LIKE"}, "unknown operator"),
        ({"threshold": None}, "finite number"),
        ({"threshold": float("nan")}, "finite number"),
        ({"metric_name": None}, "metric_name"),
        ({"conditions": {"conditions": []}}, "1 to 10"),
        (
            {"conditions": {"conditions": [{"metric_name": "a", "operator": "GT", "threshold": 1}] * 11}},
            "1 to 10",
        ),
        (
            {
                "conditions": {
                    "combinator": "XOR",
                    "conditions": [{"metric_name": "a", "operator": "GT", "threshold": 1}],
                }
            },
            "combinator",
        ),
        ({"conditions": "a string"}, "object"),
        ({"conditions": {"conditions": ["x"]}}, "object"),
        ({"rule_type": "anomaly", "conditions": {"metric_name": "a", "min_samples": 1}}, "min_samples"),
        ({"rule_type": "anomaly", "conditions": {"metric_name": "a", "z_threshold": -1}}, "positive"),
        ({"rule_type": "anomaly", "conditions": None}, "anomaly rule needs"),
        ({"rule_type": "telemetry_gap", "conditions": {"gap_minutes": 0}}, "gap_minutes"),
        ({"rule_type": "telemetry_gap", "conditions": {"gap_minutes": True}}, "gap_minutes"),
        ({"rule_type": "nonsense"}, "unknown rule_type"),
    ],
)
def test_unusable_rows_are_refused_with_a_reason(fields, message):
    with pytest.raises(RuleError, match=message):
        parse_rule(row(**fields))


def test_empty_conditions_mean_a_simple_rule():
    """The reference treated '{}' as a multi-condition rule (§17.3)."""
    rule = parse_rule(row(conditions={}))
    assert not rule.multi and rule.breached({"t": 60})


def test_and_or_and_missing_metrics():
    conds = [
        {"metric_name": "a", "operator": "GT", "threshold": 1},
        {"metric_name": "b", "operator": "LT", "threshold": 0},
    ]
    both = parse_rule(row(conditions={"combinator": "AND", "conditions": conds}))
    either = parse_rule(row(conditions={"combinator": "OR", "conditions": conds}))
    assert (
        both.breached({"a": 2, "b": -1})
        and not both.breached({"a": 2})
        and not both.breached({"a": 2, "b": 1})
    )
    assert either.breached({"a": 2}) and either.breached({"b": -1}) and not either.breached({})


def test_hysteresis_band():
    rule = parse_rule(row(threshold=80.0, clear_threshold=70.0))
    assert rule.breached({"t": 81}) and not rule.cleared({"t": 81})
    assert not rule.breached({"t": 75}) and not rule.cleared({"t": 75})  # the band
    assert rule.cleared({"t": 69}) and rule.cleared({})
    low = parse_rule(row(operator="LT", threshold=10.0, clear_threshold=15.0))
    assert not low.cleared({"t": 12}) and low.cleared({"t": 16})


def test_normalize_numbers_bools_and_mappings():
    mappings = [MetricMapping("c", "f", 1.8, 32.0), MetricMapping("c2", "f", 2.0, 0.0)]
    got = normalize({"c": 100, "on": True, "s": "text", "nested": {"x": 1}, "c2": 5}, mappings)
    assert got == {"c": 100.0, "on": 1.0, "c2": 5.0, "f": 212.0}  # the first numeric mapping wins


def test_filters():
    rule = parse_rule(row(site_ids=["s1"], group_ids=["g1", "g2"], device_type="pump"))
    assert rule.applies_to("s1", "pump", ["g2"])
    assert not rule.applies_to("s2", "pump", ["g2"])
    assert not rule.applies_to("s1", "fan", ["g2"])
    assert not rule.applies_to("s1", "pump", [])
    assert parse_rule(row()).applies_to("anywhere", None, [])
