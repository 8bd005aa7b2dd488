"""The `alert_rules.conditions` schema: what the API accepts on write, and what the evaluator reads."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from pulse.alerts.rules import (
    AnomalyConditions,
    AnomalyConditionsWrite,
    ConditionsError,
    GapConditions,
    GapConditionsWrite,
    ThresholdConditions,
    ThresholdConditionsWrite,
    read_conditions,
    simple_condition,
)

COND = {"metric_name": "temp", "operator": "GT", "threshold": 1}


@pytest.mark.parametrize(
    ("write_model", "body"),
    [
        (ThresholdConditionsWrite, {"combinator": "OR", "conditions": [COND] * 10}),
        (AnomalyConditionsWrite, {"metric_name": "p"}),
        (
            AnomalyConditionsWrite,
            {"metric_name": "p", "window_minutes": 5, "min_samples": 3, "z_threshold": 20},
        ),
        (AnomalyConditionsWrite, {"metric_name": "p", "window_minutes": 1440, "min_samples": 10_000}),
        (GapConditionsWrite, {"gap_minutes": 1}),
        (GapConditionsWrite, {"gap_minutes": 10080, "metric_name": "p"}),
    ],
)
def test_everything_the_api_stores_reads_back_unchanged(write_model, body):
    stored = write_model.model_validate(body).model_dump()
    read = write_model.__mro__[1].model_validate(stored)
    assert read.model_dump() == stored


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"metric_name": "p", "window_minutes": 4}, "window_minutes"),
        ({"metric_name": "p", "window_minutes": 1441}, "window_minutes"),
        ({"metric_name": "p", "min_samples": 10_001}, "min_samples"),
        ({"metric_name": "p", "min_samples": 2}, "min_samples"),
        ({"metric_name": "p", "z_threshold": 20.5}, "z_threshold"),
        ({"metric_name": "p", "z_threshold": 0}, "z_threshold"),
        ({"metric_name": "1bad name"}, "metric_name"),
        ({"metric_name": "p", "extra": 1}, "extra"),
    ],
)
def test_the_api_keeps_its_promised_anomaly_bounds(body, field):
    with pytest.raises(ValidationError) as caught:
        AnomalyConditionsWrite.model_validate(body)
    assert field in str(caught.value)


def test_the_evaluator_still_reads_wider_legacy_anomaly_rows():
    legacy = {"metric_name": "pressure.kpa", "window_minutes": 10080, "min_samples": 100_000, "note": "x"}
    read = read_conditions("anomaly", legacy)
    assert isinstance(read, AnomalyConditions)
    assert (read.window_minutes, read.min_samples, read.z_threshold) == (10080, 100_000, 3.0)
    with pytest.raises(ConditionsError, match="window_minutes"):
        read_conditions("anomaly", {"metric_name": "p", "window_minutes": 10081})


def test_gap_minutes_is_required_on_write_and_defaulted_on_read():
    with pytest.raises(ValidationError, match="gap_minutes"):
        GapConditionsWrite.model_validate({})
    assert read_conditions("telemetry_gap", {"metric_name": "p"}) == GapConditions(
        gap_minutes=10, metric_name="p"
    )


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        ({"conditions": []}, "1 to 10"),
        ({"conditions": [COND] * 11}, "1 to 10"),
        ({"conditions": ["x"]}, r"conditions\.conditions\.0: .*must be an object"),
        ({"conditions": [COND | {"operator": "LIKE"}]}, "unknown operator 'LIKE'"),
        ({"conditions": [COND | {"threshold": True}]}, "finite number"),
        ({"conditions": [COND | {"threshold": float("inf")}]}, "finite number"),
        ({"combinator": "XOR", "conditions": [COND]}, "combinator"),
        ("a string", "must be an object"),
    ],
)
def test_unusable_threshold_conditions_name_the_field(stored, message):
    with pytest.raises(ConditionsError, match=message):
        read_conditions("threshold", stored)


@pytest.mark.parametrize("empty", [None, {}])
def test_empty_conditions_mean_the_rules_own_columns(empty):
    assert read_conditions("threshold", empty) is None
    assert read_conditions("no_heartbeat", {"anything": 1}) is None


def test_booleans_are_not_numbers():
    with pytest.raises(ConditionsError, match="gap_minutes"):
        read_conditions("telemetry_gap", {"gap_minutes": True})
    with pytest.raises(ConditionsError, match="finite number"):
        simple_condition("t", "GT", None)


def test_write_models_refuse_unknown_keys_that_reads_ignore():
    body = {"conditions": [COND | {"unit": "C"}]}
    with pytest.raises(ValidationError, match="unit"):
        ThresholdConditionsWrite.model_validate(body)
    assert ThresholdConditions.model_validate(body).conditions[0].metric_name == "temp"
