"""`pulse sim`: simulated devices that provision themselves through the admin API, then send
heartbeats and telemetry over MQTT (or HTTP with --http).

Devices are spread over sites (`sim-site-1` …) with a mix of sensor profiles. Each device has its own
schedule with ±10 % jitter, and with a small probability goes silent for a while (a dropout), so
heartbeat alerts have something to find.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
import orjson
import paho.mqtt.client as mqtt

from pulse.log import get_logger
from pulse.sim.profiles import PROFILES, SensorState

log = get_logger("pulse.sim")


@dataclass
class SimConfig:
    tenant_id: str = "demo"
    devices: int = 25
    sites: int = 3
    admin_url: str = "http://127.0.0.1:8081"
    admin_key: str = ""
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    api_url: str = "http://127.0.0.1:8080"
    http: bool = False
    qos: int = 1
    telemetry_interval: float = 5.0
    heartbeat_interval: float = 10.0
    excursion_probability: float = 0.01
    dropout_probability: float = 0.0005
    duration: float = 0.0  # seconds; 0 = until stopped
    seed: int = 42
    tokens: dict[str, str] = field(default_factory=dict)  # device_id -> provision token (skip provisioning)


@dataclass
class SimDevice:
    device_id: str
    site_id: str
    token: str
    sensor: SensorState
    seq: int = 0
    silent_until: float = 0.0


@dataclass
class SimStats:
    sent: int = 0
    errors: int = 0


class Simulator:
    def __init__(self, config: SimConfig):
        self.config = config
        self.rng = random.Random(config.seed)
        self.devices: list[SimDevice] = []
        self.stats = SimStats()
        self._mqtt: mqtt.Client | None = None
        self._http: httpx.AsyncClient | None = None

    def layout(self) -> list[tuple[str, str, str]]:
        """(device_id, site_id, profile) for every simulated device: stable for a given config."""
        profiles = list(PROFILES)
        result = []
        for i in range(self.config.devices):
            site = f"sim-site-{i % self.config.sites + 1}"
            result.append((f"{site}-dev-{i + 1:03d}", site, profiles[i % len(profiles)]))
        return result

    async def provision(self, *, attempts: int = 60) -> None:
        """Register each device and activate it (admin API), retrying while the API starts."""
        headers = {"X-Admin-Key": self.config.admin_key}
        async with httpx.AsyncClient(base_url=self.config.admin_url, headers=headers, timeout=10) as client:
            for device_id, site_id, profile in self.layout():
                token = self.config.tokens.get(device_id) or await self._activate(
                    client, device_id, site_id, attempts
                )
                self.devices.append(
                    SimDevice(device_id, site_id, token, SensorState.create(profile, self.rng))
                )
        log.info("simulated devices ready", devices=len(self.devices), tenant=self.config.tenant_id)

    async def _activate(self, client: httpx.AsyncClient, device_id: str, site_id: str, attempts: int) -> str:
        for attempt in range(attempts):
            try:
                created = await client.post(
                    "/api/admin/devices",
                    json={"tenant_id": self.config.tenant_id, "device_id": device_id, "site_id": site_id,
                          "device_type": "simulated", "fw_version": "sim-1.0"},
                )  # fmt: skip
                if created.status_code != 201:
                    raise SimError(f"registering {device_id}: {created.status_code} {created.text[:200]}")
                activated = await client.post(
                    "/api/device/activate",
                    json={"tenant_id": self.config.tenant_id, "device_id": device_id,
                          "activation_code": created.json()["activation_code"]},
                )  # fmt: skip
                if activated.status_code != 200:
                    raise SimError(f"activating {device_id}: {activated.status_code} {activated.text[:200]}")
                return activated.json()["provision_token"]
            except httpx.TransportError:
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(0.5)
        raise SimError("unreachable")

    async def run(self) -> None:
        if not self.devices:
            await self.provision()
        if self.config.http:
            self._http = httpx.AsyncClient(base_url=self.config.api_url, timeout=10)
        else:
            self._mqtt = _connect_mqtt(self.config.mqtt_url)
        deadline = time.monotonic() + self.config.duration if self.config.duration else None
        try:
            async with asyncio.TaskGroup() as group:
                for device in self.devices:
                    group.create_task(
                        self._device_loop(device, "telemetry", self.config.telemetry_interval, deadline)
                    )
                    group.create_task(
                        self._device_loop(device, "heartbeat", self.config.heartbeat_interval, deadline)
                    )
                group.create_task(self._report(deadline))
        finally:
            if self._mqtt is not None:
                self._mqtt.disconnect()
                self._mqtt.loop_stop()
            if self._http is not None:
                await self._http.aclose()

    async def _device_loop(
        self, device: SimDevice, msg_type: str, interval: float, deadline: float | None
    ) -> None:
        await asyncio.sleep(self.rng.uniform(0, interval))  # spread devices over the interval
        while deadline is None or time.monotonic() < deadline:
            now = time.monotonic()
            if now >= device.silent_until:
                if msg_type == "telemetry" and self.rng.random() < self.config.dropout_probability:
                    device.silent_until = now + self.rng.uniform(60, 300)
                    log.info("simulated device goes silent", device_id=device.device_id)
                else:
                    await self._send(device, msg_type)
            await asyncio.sleep(interval * self.rng.uniform(0.9, 1.1))

    async def _send(self, device: SimDevice, msg_type: str) -> None:
        device.seq += 1
        body: dict = {"site_id": device.site_id, "seq": device.seq}
        if msg_type == "telemetry":
            body["metrics"] = device.sensor.reading(self.rng, self.config.excursion_probability)
        topic = f"tenant/{self.config.tenant_id}/device/{device.device_id}/{msg_type}"
        try:
            if self._http is not None:
                response = await self._http.post(
                    f"/ingest/v1/{topic}", content=orjson.dumps(body),
                    headers={"X-Provision-Token": device.token, "Content-Type": "application/json"},
                )  # fmt: skip
                if response.status_code != 202:
                    self.stats.errors += 1
                    return
            else:
                assert self._mqtt is not None
                body["provision_token"] = device.token
                self._mqtt.publish(topic, orjson.dumps(body), qos=self.config.qos)
            self.stats.sent += 1
        except httpx.HTTPError:
            self.stats.errors += 1

    async def _report(self, deadline: float | None, every: float = 30.0) -> None:
        last = 0
        while deadline is None or time.monotonic() < deadline:
            await asyncio.sleep(
                every if deadline is None else min(every, max(0.0, deadline - time.monotonic()))
            )
            rate = round((self.stats.sent - last) / every, 1)
            log.info("sim stats", sent=self.stats.sent, per_s=rate, errors=self.stats.errors)
            last = self.stats.sent


class SimError(RuntimeError):
    pass


def _connect_mqtt(url: str) -> mqtt.Client:
    parts = urlsplit(url)
    client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.max_queued_messages_set(100_000)
    client.reconnect_delay_set(1, 30)
    client.connect_async(parts.hostname or "127.0.0.1", parts.port or 1883, keepalive=30)
    client.loop_start()
    return client
