"""The z-score verdict: enough samples, zero spread, threshold."""

from __future__ import annotations

from pulse.evaluator.arrivals import anomaly_verdict
from pulse.evaluator.rules import parse_rule

RULE = parse_rule(
    {
        "rule_id": "r",
        "name": "a",
        "rule_type": "anomaly",
        "severity": 3,
        "conditions": {"metric_name": "p", "z_threshold": 3.0, "min_samples": 5},
    }
)


def test_too_few_samples_or_no_value_decides_nothing():
    assert anomaly_verdict(RULE, 100.0, (10.0, 1.0, 4)) == (None, {})
    assert anomaly_verdict(RULE, None, (10.0, 1.0, 50)) == (None, {})
    assert anomaly_verdict(RULE, 100.0, (None, None, 0)) == (None, {})


def test_zero_spread_is_normal():
    assert anomaly_verdict(RULE, 100.0, (10.0, 0.0, 50))[0] is False


def test_z_against_threshold():
    verdict, details = anomaly_verdict(RULE, 14.0, (10.0, 1.0, 50))
    assert verdict is True and details["z_score"] == 4.0 and details["count"] == 50
    assert anomaly_verdict(RULE, 13.0, (10.0, 1.0, 50))[0] is False  # z = 3 is not above 3
    assert anomaly_verdict(RULE, 6.0, (10.0, 1.0, 50))[0] is True  # both directions
