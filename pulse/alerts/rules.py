"""The schema of `alert_rules.conditions` (JSONB), one column read according to `rule_type`:

- `threshold`: `ThresholdConditions` — up to ten conditions combined with AND/OR; NULL or `{}` means
  the rule's own metric_name/operator/threshold columns are the one condition (reference §17.3);
- `anomaly`: `AnomalyConditions` — z-score of a metric over a window;
- `telemetry_gap`: `GapConditions` — no data for some minutes;
- `no_heartbeat`: nothing.

The API validates request bodies with the `…Write` models and the evaluator reads rows with the plain
ones. A write model only narrows its stored model, so every rule the API stores can be read. The
stored models keep the evaluator's older, wider bounds on purpose: rows written by hand or by earlier
versions (window_minutes 1 to 10080, min_samples up to 100,000, any non-empty metric name, defaults for
missing keys) must keep working; clients were only ever promised the write bounds.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, StringConstraints, ValidationError, field_validator

from pulse.alerts.json_types import WRITE, FiniteNumber, StoredJson, explain, positive_number, whole

MAX_CONDITIONS = 10
OPERATOR_NAMES = ("GT", "GTE", "LT", "LTE", "EQ", "NEQ")
RULE_TYPES = ("threshold", "anomaly", "telemetry_gap", "no_heartbeat")


def _known_operator(value: Any) -> Any:
    if value not in OPERATOR_NAMES:
        raise ValueError(f"unknown operator {value!r}")
    return value


Operator = Annotated[Literal["GT", "GTE", "LT", "LTE", "EQ", "NEQ"], BeforeValidator(_known_operator)]
RuleType = Literal["threshold", "anomaly", "telemetry_gap", "no_heartbeat"]
# What the API accepts for a metric name; stored rows only need a non-empty string.
MetricName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=64)]
StoredMetricName = Annotated[str, StringConstraints(min_length=1)]


class Condition(StoredJson):
    metric_name: StoredMetricName
    operator: Operator
    threshold: FiniteNumber


class ThresholdConditions(StoredJson):
    combinator: Literal["AND", "OR"] = "AND"
    conditions: Annotated[list[Condition], Field(min_length=1, max_length=MAX_CONDITIONS)]

    @field_validator("conditions", mode="before")
    @classmethod
    def _count(cls, value: Any) -> Any:
        # Before the item checks, so the message says what is allowed rather than pydantic's wording.
        if not isinstance(value, list) or not 1 <= len(value) <= MAX_CONDITIONS:
            raise ValueError(f"must list 1 to {MAX_CONDITIONS} conditions")
        return value


class AnomalyConditions(StoredJson):
    metric_name: StoredMetricName
    window_minutes: whole(1, 10080) = 60
    z_threshold: positive_number() = 3.0
    min_samples: whole(3, 100_000) = 10


class GapConditions(StoredJson):
    gap_minutes: whole(1, 10080) = 10
    metric_name: StoredMetricName | None = None


class ConditionWrite(Condition):
    model_config = WRITE
    metric_name: MetricName


class ThresholdConditionsWrite(ThresholdConditions):
    model_config = WRITE
    conditions: Annotated[list[ConditionWrite], Field(min_length=1, max_length=MAX_CONDITIONS)]


class AnomalyConditionsWrite(AnomalyConditions):
    model_config = WRITE
    metric_name: MetricName
    window_minutes: whole(5, 1440) = 60
    z_threshold: positive_number(le=20) = 3.0
    min_samples: whole(3, 10_000) = 10


class GapConditionsWrite(GapConditions):
    model_config = WRITE
    gap_minutes: whole(1, 10080)  # no default: a client says how long
    metric_name: MetricName | None = None


StoredConditions = ThresholdConditions | AnomalyConditions | GapConditions
CONDITIONS_OF: dict[str, type[StoredConditions]] = {
    "threshold": ThresholdConditions,
    "anomaly": AnomalyConditions,
    "telemetry_gap": GapConditions,
}


class ConditionsError(ValueError):
    """A stored `conditions` value that does not fit its rule type; the message names the field."""


def read_conditions(rule_type: str, stored: Any) -> StoredConditions | None:
    """The `conditions` column of a rule of this type, validated; None when the column is NULL or `{}`
    (for a threshold rule: use the rule's own columns) or the type has no conditions."""
    model = CONDITIONS_OF.get(rule_type)
    if model is None or not stored:
        return None
    try:
        return model.model_validate(stored)
    except ValidationError as exc:
        raise ConditionsError(explain(exc, "conditions")) from None


def simple_condition(metric_name: Any, operator: Any, threshold: Any) -> Condition:
    """The one condition of a threshold rule without `conditions`, from its columns."""
    try:
        return Condition.model_validate(
            {"metric_name": metric_name, "operator": operator, "threshold": threshold}
        )
    except ValidationError as exc:
        raise ConditionsError(explain(exc, "rule")) from None
