"""`pulse.metrics`: what the coming /metrics endpoint will read, after an increment."""

from __future__ import annotations

import importlib.util

from pulse import metrics
from pulse.evaluator.service import Evaluator
from pulse.metrics import REGISTRY, Tally
from pulse.notify.dispatch import Dispatcher


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_an_increment_shows_in_the_registry_and_in_the_objects_own_counts() -> None:
    before = sample("pulse_ingest_rejected_total", reason="TOKEN_INVALID")
    first = Tally({"TOKEN_INVALID": metrics.INGEST_REJECTED.labels(reason="TOKEN_INVALID")})
    second = Tally({"TOKEN_INVALID": metrics.INGEST_REJECTED.labels(reason="TOKEN_INVALID")})
    first.inc("TOKEN_INVALID")
    second.inc("TOKEN_INVALID", 2)
    assert (first["TOKEN_INVALID"], second["TOKEN_INVALID"]) == (1, 2)  # each its own
    assert sample("pulse_ingest_rejected_total", reason="TOKEN_INVALID") == before + 3  # the process's sum


def test_a_tally_reads_like_the_dict_it_replaced() -> None:
    tally = Tally(
        {"sent": metrics.NOTIFY_DELIVERIES.labels(outcome="sent"), "deferred": metrics.NOTIFY_JOBS_DEFERRED}
    )
    tally.inc("deferred")
    assert tally == {"sent": 0, "deferred": 1}
    assert dict(tally.items()) == {"sent": 0, "deferred": 1}


def test_service_counters_reach_the_registry() -> None:
    opened = sample("pulse_evaluator_alerts_opened_total")
    errors = sample("pulse_evaluator_errors_total")
    jobs = sample("pulse_notify_jobs_created_total")
    evaluator = Evaluator(pool=None, connect=None)  # counts only; nothing connects
    evaluator.stats.inc("opened", 2)
    evaluator.stats.inc("errors")
    Dispatcher().stats.inc("jobs", 5)
    assert evaluator.stats["opened"] == 2
    assert sample("pulse_evaluator_alerts_opened_total") == opened + 2
    assert sample("pulse_evaluator_errors_total") == errors + 1
    assert sample("pulse_notify_jobs_created_total") == jobs + 5


def test_metric_names_say_pulse_and_the_service() -> None:
    for family in REGISTRY.collect():
        prefix, service, *what = family.name.split("_")
        assert prefix == "pulse" and what, family.name
        assert importlib.util.find_spec(f"pulse.{service}") is not None, f"{family.name}: no pulse.{service}"
        if family.type == "counter":
            assert all(s.name.endswith(("_total", "_created")) for s in family.samples), family.name
