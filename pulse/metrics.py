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
INGEST_RECEIVED = Counter(
    "pulse_ingest_messages_received_total",
    "Messages handed to the validation pipeline (MQTT and HTTP)",
    registry=REGISTRY,
)
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
INGEST_FLUSH_SECONDS = Histogram(
    "pulse_ingest_flush_seconds", "Commit latency: time to write and commit one batch", registry=REGISTRY
)
INGEST_BATCH_MESSAGES = Histogram(
    "pulse_ingest_batch_messages",
    "Messages (telemetry and rejections) per committed batch",
    buckets=(1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000),
    registry=REGISTRY,
)
INGEST_QUEUE_DEPTH = Gauge(
    "pulse_ingest_queue_depth",
    "Messages waiting for their batch to commit, per writer (mqtt: the ingest service, http: the API)",
    ["transport"],
    registry=REGISTRY,
)
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
EVALUATOR_SECONDS = Histogram(
    "pulse_evaluator_evaluation_seconds",
    "Time of one telemetry-driven evaluation pass over a tenant (lock, load, rules, alerts, commit)",
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
NOTIFY_DELIVERY_SECONDS = Histogram(
    "pulse_notify_delivery_seconds",
    "Time of one delivery attempt at the provider, by outcome",
    ["outcome"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
NOTIFY_JOBS = Gauge(
    "pulse_notify_jobs",
    "Delivery jobs by state, counted in the database by the notify service every 15 s (every tenant)",
    ["state"],
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


# What a process reports with its heartbeat (`service_health.details.counters`): a few totals, each the sum
# of one metric's samples over its labels, cumulative since the process started. The ops service sums
# them over live processes into `system_metrics`.
PROCESS_TOTALS: dict[str, tuple[str, dict[str, str]]] = {
    "messages_received": ("pulse_ingest_messages_received_total", {}),
    "messages_written": ("pulse_ingest_rows_written_total", {}),
    "messages_rejected": ("pulse_ingest_rejected_total", {}),
    "ingest_queue_depth": ("pulse_ingest_queue_depth", {}),
    "alerts_opened": ("pulse_evaluator_alerts_opened_total", {}),
    "alerts_closed": ("pulse_evaluator_alerts_closed_total", {}),
    "evaluation_errors": ("pulse_evaluator_errors_total", {}),
    "deliveries_sent": ("pulse_notify_deliveries_total", {"outcome": "sent"}),
    "deliveries_failed": ("pulse_notify_deliveries_total", {"outcome": "failed"}),
    "escalations_fired": ("pulse_escalation_levels_fired_total", {}),
}


def process_totals() -> dict[str, float]:
    wanted = {sample: key for key, (sample, _) in PROCESS_TOTALS.items()}
    totals = dict.fromkeys(PROCESS_TOTALS, 0.0)
    for family in REGISTRY.collect():
        for sample in family.samples:
            key = wanted.get(sample.name)
            if key is None:
                continue
            labels = PROCESS_TOTALS[key][1]
            if all(sample.labels.get(k) == v for k, v in labels.items()):
                totals[key] += sample.value
    return totals
