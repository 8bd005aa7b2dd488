"""POST /customer/alert-rules/backtest: how often a rule would have fired on the stored telemetry.

The body is a rule as `POST /customer/alert-rules` takes it (same model, same checks) plus `hours` and an
optional `device_id`. The server replays the window through the evaluator's own rule logic
(pulse.evaluator.replay) and says which data it used and what that approximates. Threshold rules only
(single or multi-condition); anomaly, telemetry_gap and no_heartbeat answer 422 `backtest_unsupported`.
Tenant admins only, like creating a rule: it is the rule editor's preview, and it is the costliest read.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import asyncpg
import orjson
from fastapi import APIRouter
from pydantic import BaseModel, Field

from pulse.api.deps import AdminTenantId, TenantDb
from pulse.api.errors import ErrorBody
from pulse.api.queries import backtest as data
from pulse.api.queries import chart as chart_queries
from pulse.api.queries.devices import require_device
from pulse.api.routes.customer.alert_rules import RuleCreate, stored_conditions
from pulse.api.routes.customer.models import Name
from pulse.errors import PulseError
from pulse.evaluator.replay import DeviceReplay, minute_rule, replay
from pulse.evaluator.rules import Rule, RuleError, parse_rule

router = APIRouter(
    prefix="/customer/alert-rules",
    tags=["customer-alert-rules"],
    responses={401: {"model": ErrorBody}, 404: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)

MAX_PERIODS = 500
MAX_DEVICES_LISTED = 1_000
BacktestDeviceId = Annotated[str, Field(min_length=1, max_length=128)]


class BacktestRequest(RuleCreate):
    name: Name = "backtest"  # the editor may test a rule before naming it
    hours: Annotated[int, Field(ge=1, le=168)] = 24
    device_id: BacktestDeviceId | None = None


class DeviceFires(BaseModel):
    device_id: str
    fires: int
    first_at: datetime
    last_at: datetime


class FiringPeriod(BaseModel):
    device_id: str
    start: datetime  # the condition began to hold
    fired_at: datetime | None  # the alert would have opened (None: not held for duration_seconds)
    end: datetime | None  # closed, or stopped holding; None: still so at the end of the window


class Threshold(BaseModel):
    metric: str
    operator: str
    threshold: float
    clear_threshold: float | None


class BacktestResult(BaseModel):
    start: datetime
    end: datetime
    source: Literal["raw", "rollup_1m"]
    exact: bool  # every message replayed (source raw); `approximations` says what the answer leaves out
    approximations: list[str]
    devices_evaluated: int
    samples: int  # evaluations replayed (messages, or device-minutes)
    fires: int
    devices: list[DeviceFires]  # devices that would have fired, most fires first
    firing: list[FiringPeriod]  # oldest first
    firing_truncated: bool
    thresholds: list[Threshold]
    series: dict[str, Any] | None = None  # with device_id: the chart columns of the rule's metrics


_ALWAYS = "alerts open or conditions holding before the window are not known: the replay starts with none"
_RAW_NOTES = [
    "evaluations on heartbeats are not replayed: a duration completes at the next telemetry message"
]
_MINUTE_NOTES = [
    "per-minute rollup: a condition holds for a minute when some sample in it breached (GT/GTE read the "
    "minute's max, LT/LTE its min, EQ/NEQ its last sample only), and a minute counts as one evaluation, "
    "so durations and clearing are resolved to the minute",
]


def _rule(body: BacktestRequest) -> Rule:
    if body.rule_type != "threshold":
        raise PulseError(
            422,
            "backtest_unsupported",
            f"backtests replay threshold rules; a {body.rule_type} rule depends on timing and history "
            "(windows, gaps, heartbeats) that stored telemetry does not replay faithfully",
        )
    values = body.model_dump(exclude={"hours", "device_id"})
    row = values | {
        "rule_id": "backtest",
        "severity": values["severity"] or 3,
        "conditions": stored_conditions(body.rule_type, values),
    }
    try:
        return parse_rule(row)
    except RuleError as exc:  # the request model already checked it; belt and braces
        raise PulseError(422, "invalid_request", str(exc)) from None


@router.post("/backtest", response_model=BacktestResult)
async def backtest_rule(tenant: AdminTenantId, conn: TenantDb, body: BacktestRequest) -> BacktestResult:
    """Replay the last `hours` of stored telemetry through the rule: how often it would have fired, on
    which devices, and when its condition held."""
    rule = _rule(body)
    end = datetime.now(UTC)
    start = end - timedelta(hours=body.hours)
    await data.bound_statements(conn)
    try:
        if body.device_id is not None:
            await require_device(conn, tenant, body.device_id)
        devices = await data.devices_in_scope(conn, tenant, rule, body.device_id)
        mappings = await data.tenant_mappings(conn, tenant)
        keys = data.source_metrics(rule, mappings)
        raw = not devices or await data.raw_rows_within_cap(conn, tenant, devices, start, end)
        if raw:
            replayed_rule, notes = rule, list(_RAW_NOTES)
            loaded = (
                await data.raw_samples(conn, tenant, devices, start, end, keys, mappings) if devices else []
            )
        else:
            start = start.replace(second=0, microsecond=0)  # whole minutes
            replayed_rule, notes = minute_rule(rule), list(_MINUTE_NOTES)
            loaded = await data.minute_samples(conn, tenant, devices, start, end, keys, mappings)
        series = await _series(conn, tenant, body.device_id, rule, start, end) if body.device_id else None
    except asyncpg.QueryCanceledError:
        raise data.too_large(f"reading the data took longer than {data.STATEMENT_TIMEOUT_MS} ms") from None
    results = {d.device_id: replay(replayed_rule, d.samples, end) for d in loaded}
    return _answer(rule, start, end, raw, notes, len(devices), loaded, results, series)


def _answer(
    rule: Rule,
    start: datetime,
    end: datetime,
    raw: bool,
    notes: list[str],
    devices_evaluated: int,
    loaded: list[data.DeviceSamples],
    results: dict[str, DeviceReplay],
    series: dict[str, Any] | None,
) -> BacktestResult:
    fired = sorted(
        ((d, r) for d, r in results.items() if r.fires), key=lambda item: (-item[1].fires, item[0])
    )
    periods = sorted(
        (
            FiringPeriod(device_id=d, start=p.start, fired_at=p.fired_at, end=p.end)
            for d, r in results.items()
            for p in r.periods
        ),
        key=lambda p: (p.start, p.device_id),
    )
    return BacktestResult(
        start=start,
        end=end,
        source="raw" if raw else "rollup_1m",
        exact=raw,
        approximations=[*notes, _ALWAYS],
        devices_evaluated=devices_evaluated,
        samples=sum(len(d.samples) for d in loaded),
        fires=sum(r.fires for r in results.values()),
        devices=[
            DeviceFires(device_id=d, fires=r.fires, first_at=r.first_at, last_at=r.last_at)
            for d, r in fired[:MAX_DEVICES_LISTED]
        ],
        firing=periods[:MAX_PERIODS],
        firing_truncated=len(periods) > MAX_PERIODS,
        thresholds=[
            Threshold(
                metric=c.metric,
                operator=c.operator,
                threshold=c.threshold,
                clear_threshold=rule.clear_threshold if len(rule.conditions) == 1 else None,
            )
            for c in rule.conditions
        ],
        series=series,
    )


async def _series(
    conn: asyncpg.Connection, tenant: str, device_id: str, rule: Rule, start: datetime, end: datetime
) -> dict[str, Any]:
    """The chart columns of the rule's metrics for the one device, to draw with the thresholds."""
    ax = chart_queries.axis(start, end, chart_queries.auto_bucket(start, end))
    text = await chart_queries.chart_series_json(conn, tenant, device_id, ax, sorted(rule.metrics))
    return {"bucket_seconds": ax.bucket_seconds, "timestamps": ax.timestamps, "series": orjson.loads(text)}
