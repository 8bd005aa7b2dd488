"""`pulse.backoff`: the ceilings, full jitter, and a retry loop's place (no sleeping)."""

from __future__ import annotations

import random

import pytest

from pulse.backoff import Backoff, exponential_delay, full_jitter


def test_delays_double_from_the_base_up_to_the_cap() -> None:
    assert [exponential_delay(n, 0.5, 10.0) for n in range(1, 8)] == [0.5, 1, 2, 4, 8, 10, 10]


def test_a_long_outage_does_not_overflow() -> None:
    assert exponential_delay(10**6, 30.0, 7200.0) == 7200.0


def test_attempts_count_from_one() -> None:
    with pytest.raises(ValueError):
        exponential_delay(0, 1.0, 2.0)


def test_full_jitter_spreads_over_the_whole_window() -> None:
    rng = random.Random(7)
    for attempt, ceiling in [(1, 30), (3, 120), (20, 7200)]:
        delays = [full_jitter(attempt, 30.0, 7200.0, rng) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling / 2 and min(delays) < ceiling / 2


def test_backoff_keeps_its_place_and_resets_after_a_success() -> None:
    b = Backoff(0.1, 5.0)  # the ingest writer's retry
    assert [b.next_delay() for _ in range(8)] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0])
    b.reset()
    assert b.next_delay() == 0.1


def test_backoff_with_a_random_source_jitters_below_the_ceilings() -> None:
    b = Backoff(1.0, 4.0, rng=random.Random(3))
    delays = [b.next_delay() for _ in range(50)]
    ceilings = [exponential_delay(n, 1.0, 4.0) for n in range(1, 51)]
    assert all(0 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert len(set(delays)) == len(delays)
