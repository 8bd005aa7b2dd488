"""Sensor profiles for the simulator: values that drift like real sensors and now and then cross the
thresholds an operator would alert on (an "excursion"), then return.

Each metric is a mean-reverting random walk: every tick it moves toward its target by `revert` of the
distance plus Gaussian noise. An excursion moves the target outside the normal band for a while.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Metric:
    name: str
    normal: float  # where the value settles
    noise: float  # standard deviation of one step
    low: float  # physical bounds
    high: float
    excursion: float  # the target during an excursion (a threshold-crossing value)
    revert: float = 0.15
    decimals: int = 2
    value: float = field(init=False)
    target: float = field(init=False)

    def __post_init__(self) -> None:
        self.value = self.target = self.normal

    def step(self, rng: random.Random) -> float:
        self.value += (self.target - self.value) * self.revert + rng.gauss(0.0, self.noise)
        self.value = min(self.high, max(self.low, self.value))
        return round(self.value, self.decimals)


@dataclass
class Battery:
    """Drains a little every tick; now and then someone swaps it."""

    level: float
    drain: float

    def step(self, rng: random.Random) -> float:
        self.level = max(0.0, self.level - rng.uniform(0, self.drain))
        if self.level < 15 and rng.random() < 0.01:
            self.level = rng.uniform(90, 100)
        return round(self.level, 1)


def _env(rng: random.Random) -> list[Metric]:
    return [
        Metric("temperature_c", rng.uniform(19, 24), 0.15, -20, 80, excursion=rng.choice([38.0, 2.0])),
        Metric("humidity_pct", rng.uniform(35, 55), 0.5, 0, 100, excursion=88.0),
    ]


def _pressure(rng: random.Random) -> list[Metric]:
    return [
        Metric("pressure_kpa", rng.uniform(100, 102.5), 0.08, 80, 120, excursion=108.0),
        Metric("temperature_c", rng.uniform(18, 26), 0.1, -20, 80, excursion=45.0),
    ]


def _vibration(rng: random.Random) -> list[Metric]:
    return [
        Metric("vibration_mm_s", rng.uniform(1.0, 2.5), 0.2, 0, 50, excursion=11.0),
        Metric("frequency_hz", rng.uniform(48, 52), 0.3, 0, 500, excursion=65.0, decimals=1),
    ]


def _power(rng: random.Random) -> list[Metric]:
    return [
        Metric("power_kw", rng.uniform(5, 30), 0.8, 0, 100, excursion=85.0),
        Metric("voltage_v", rng.uniform(228, 232), 0.4, 180, 260, excursion=205.0, decimals=1),
    ]


# name -> (metric factory, battery powered)
PROFILES = {
    "environment": (_env, True),
    "pressure": (_pressure, True),
    "vibration": (_vibration, False),
    "power_meter": (_power, False),
}


@dataclass
class SensorState:
    profile: str
    metrics: list[Metric]
    battery: Battery | None
    rssi: Metric
    excursion_ticks: int = 0

    @classmethod
    def create(cls, profile: str, rng: random.Random) -> SensorState:
        factory, battery_powered = PROFILES[profile]
        return cls(
            profile=profile,
            metrics=factory(rng),
            battery=Battery(rng.uniform(60, 100), 0.05) if battery_powered else None,
            rssi=Metric("rssi_dbm", rng.uniform(-85, -55), 1.0, -120, -30, excursion=-105.0, decimals=0),
        )

    def reading(self, rng: random.Random, excursion_probability: float) -> dict[str, float]:
        if self.excursion_ticks > 0:
            self.excursion_ticks -= 1
            if self.excursion_ticks == 0:
                for m in self.metrics:
                    m.target = m.normal
        elif rng.random() < excursion_probability:
            chosen = rng.choice(self.metrics)
            chosen.target = chosen.excursion
            self.excursion_ticks = rng.randint(5, 20)
        values = {m.name: m.step(rng) for m in self.metrics}
        values["rssi_dbm"] = self.rssi.step(rng)
        if self.battery is not None:
            values["battery_pct"] = self.battery.step(rng)
        return values
