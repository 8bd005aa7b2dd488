"""Simulator sensor profiles with a seeded random: bounded mean-reverting walks, excursions that cross
and return, battery drain and swaps."""

from __future__ import annotations

import itertools
import random

import pytest

from pulse.sim.profiles import PROFILES, Battery, Metric, SensorState


def test_walk_stays_within_physical_bounds_even_with_wild_noise():
    rng = random.Random(1)
    metric = Metric("m", normal=50, noise=40, low=0, high=100, excursion=90)
    values = [metric.step(rng) for _ in range(2000)]
    assert min(values) == 0 and max(values) == 100  # the noise does reach the bounds: they hold
    assert all(0 <= v <= 100 for v in values)


def test_without_noise_the_value_reverts_geometrically_to_its_target():
    metric = Metric("m", normal=20, noise=0, low=-100, high=100, excursion=40, revert=0.25, decimals=6)
    metric.target = 40
    values = [metric.step(random.Random(0)) for _ in range(4)]
    assert values == pytest.approx([40 - 20 * 0.75**n for n in range(1, 5)])


def test_values_are_rounded_to_the_metric_decimals():
    metric = Metric("m", normal=1 / 3, noise=0.01, low=-10, high=10, excursion=5, decimals=1)
    value = metric.step(random.Random(2))
    assert value == round(value, 1) and metric.value != value  # rounded on the way out only


def test_battery_drains_never_below_zero_and_a_swap_refills_it():
    rng = random.Random(3)
    battery = Battery(level=30, drain=2.0)
    levels = [battery.step(rng) for _ in range(3000)]
    assert min(levels) >= 0
    rises = [(before, after) for before, after in itertools.pairwise(levels) if after > before]
    assert rises, "a low battery is swapped now and then"
    for before, after in rises:  # only a swap raises the level: from below 15 to 90-100
        assert before < 15 and 90 <= after <= 100


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_same_seed_same_readings(profile):
    def run(seed: int) -> list[dict[str, float]]:
        rng = random.Random(seed)
        state = SensorState.create(profile, rng)
        return [state.reading(rng, 0.2) for _ in range(50)]

    assert run(7) == run(7)
    assert run(7) != run(8)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_reading_has_the_profile_metrics_rssi_and_battery_when_battery_powered(profile):
    rng = random.Random(4)
    state = SensorState.create(profile, rng)
    reading = state.reading(rng, 0.0)
    battery_powered = PROFILES[profile][1]
    expected = (
        {m.name for m in state.metrics} | {"rssi_dbm"} | ({"battery_pct"} if battery_powered else set())
    )
    assert set(reading) == expected


def test_excursion_moves_one_metric_toward_its_excursion_then_returns():
    rng = random.Random(5)
    state = SensorState.create("pressure", rng)
    state.reading(rng, 1.0)  # certain to start an excursion
    (chosen,) = [m for m in state.metrics if m.target == m.excursion]
    assert all(m.target == m.normal for m in state.metrics if m is not chosen)
    ticks = state.excursion_ticks
    assert 5 <= ticks <= 20
    start_distance = abs(chosen.excursion - chosen.normal)
    for _ in range(ticks - 1):
        state.reading(rng, 0.0)
    assert abs(chosen.excursion - chosen.value) < start_distance / 2  # well on its way across
    state.reading(rng, 0.0)  # the last excursion tick: targets go back to normal
    assert state.excursion_ticks == 0
    assert all(m.target == m.normal for m in state.metrics)


def test_no_new_excursion_starts_during_one():
    rng = random.Random(6)
    state = SensorState.create("environment", rng)
    state.reading(rng, 1.0)
    ticks = state.excursion_ticks
    state.reading(rng, 1.0)
    assert state.excursion_ticks == ticks - 1
    assert sum(m.target == m.excursion for m in state.metrics) == 1
