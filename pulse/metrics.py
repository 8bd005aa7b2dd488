"""Prometheus metrics of every Pulse service, in one registry (`REGISTRY`) for the `/metrics` endpoint.

Names are `pulse_<service>_<what>_total`; labels say which kind (`reason`, `outcome`). A metric is
process-wide: `pulse up` runs every service in one process, and two ingest pipelines (MQTT and HTTP)
add to the same counters. Objects that also show their own counts (tests, log lines, benchmarks read
`evaluator.stats["opened"]`) keep them in a `Tally`, which adds every increment to its metric too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry()

# --- ingest ---------------------------------------------------------------------------------------
INGEST_ACCEPTED = Counter(
    "pulse_ingest_accepted_total", "Messages that passed validation and went to the writer", registry=REGISTRY
)
INGEST_RETAINED_RESENT = Counter(
    "pulse_ingest_retained_resent_total",
    "Retained messages the broker sent again (on subscribe) and ingest did not store twice",
    registry=REGISTRY,
)
INGEST_REJECTED = Counter(
    "pulse_ingest_rejected_total",
    "Messages rejected (quarantined or only counted)",
    ["reason"],
    registry=REGISTRY,
)
INGEST_ROWS_WRITTEN = Counter(
    "pulse_ingest_rows_written_total", "Telemetry rows committed", registry=REGISTRY
)
INGEST_REJECTIONS_WRITTEN = Counter(
    "pulse_ingest_rejections_written_total",
    "Rejected messages committed (quarantine and counters)",
    registry=REGISTRY,
)
INGEST_BATCHES = Counter("pulse_ingest_batches_total", "Batches committed by the writer", registry=REGISTRY)
INGEST_WRITE_RETRIES = Counter(
    "pulse_ingest_write_retries_total",
    "Batch writes retried after a transient database error",
    registry=REGISTRY,
)
INGEST_POISON_ROWS = Counter(
    "pulse_ingest_poison_rows_total",
    "Telemetry rows PostgreSQL refused (quarantined as INGEST_EXCEPTION)",
    registry=REGISTRY,
)
INGEST_FLUSH_SECONDS = Histogram("pulse_ingest_flush_seconds", "Time to commit one batch", registry=REGISTRY)
INGEST_LAST_COMMIT = Gauge(
    "pulse_ingest_last_commit_timestamp_seconds", "Unix time of the last committed batch", registry=REGISTRY
)

# --- evaluator ------------------------------------------------------------------------------------
EVALUATOR_BATCHES = Counter(
    "pulse_evaluator_batches_total", "Telemetry-driven evaluation passes over a tenant", registry=REGISTRY
)
EVALUATOR_SNAPSHOTS = Counter(
    "pulse_evaluator_snapshots_total", "Device snapshots evaluated", registry=REGISTRY
)
EVALUATOR_ALERTS_OPENED = Counter(
    "pulse_evaluator_alerts_opened_total",
    "Rule alerts opened by telemetry-driven evaluation",
    registry=REGISTRY,
)
EVALUATOR_ALERTS_CLOSED = Counter(
    "pulse_evaluator_alerts_closed_total",
    "Rule alerts closed (evaluation and quiet periods)",
    registry=REGISTRY,
)
EVALUATOR_ERRORS = Counter(
    "pulse_evaluator_errors_total", "Evaluations and sweeps that failed (and were retried)", registry=REGISTRY
)

# --- notify ---------------------------------------------------------------------------------------
NOTIFY_EVENTS = Counter("pulse_notify_events_total", "Alert events read by the dispatcher", registry=REGISTRY)
NOTIFY_JOBS_CREATED = Counter(
    "pulse_notify_jobs_created_total", "Delivery jobs created from alert events", registry=REGISTRY
)
NOTIFY_DELIVERIES = Counter(
    "pulse_notify_deliveries_total",
    "Delivery attempts by outcome: sent, failed (dead letter) or retried",
    ["outcome"],
    registry=REGISTRY,
)
NOTIFY_JOBS_DEFERRED = Counter(
    "pulse_notify_jobs_deferred_total",
    "Jobs put back to wait for a provider rate-limit slot",
    registry=REGISTRY,
)
NOTIFY_JOBS_RECLAIMED = Counter(
    "pulse_notify_jobs_reclaimed_total", "Stuck PROCESSING jobs put back to PENDING", registry=REGISTRY
)
ESCALATION_FIRES = Counter(
    "pulse_escalation_levels_fired_total", "Escalation levels fired on open alerts", registry=REGISTRY
)
ESCALATION_LATENESS = Histogram(
    "pulse_escalation_lateness_seconds",
    "How long after its due time an escalation level fired",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
    registry=REGISTRY,
)


class _Incrementable(Protocol):
    def inc(self, amount: float = 1) -> None: ...


class Tally(Mapping[str, int]):
    """One object's own counts, read like a dict; every `inc` also goes to the key's metric."""

    def __init__(self, metrics: Mapping[str, _Incrementable]):
        self._metrics = dict(metrics)
        self._counts = dict.fromkeys(self._metrics, 0)

    def inc(self, key: str, amount: int = 1) -> None:
        self._counts[key] += amount
        self._metrics[key].inc(amount)

    def __getitem__(self, key: str) -> int:
        return self._counts[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._counts)

    def __len__(self) -> int:
        return len(self._counts)

    def __repr__(self) -> str:
        return f"Tally({self._counts!r})"
