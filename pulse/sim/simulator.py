"""`pulse sim`: simulated devices that provision themselves through the admin API, then send
heartbeats and telemetry over MQTT (or HTTP with --http).

Provisioning uses the bulk endpoint (`POST /api/admin/devices/bulk`, chunks of `PROVISION_CHUNK`),
waiting out any 429/503 for its `Retry-After`. On an authenticated broker every device holds its own
connection, all driven by the event loop (no thread per client); connects run `CONNECT_CONCURRENCY` at
a time and the process's open-file limit is raised to fit, so thousands of devices work.

Devices are spread over sites (`sim-site-1` …) with a mix of sensor profiles. Each device has its own
schedule with ±10 % jitter, and with a small probability goes silent for a while (a dropout), so
heartbeat alerts have something to find.
"""

from __future__ import annotations

import asyncio
import random
import resource
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
import orjson
import paho.mqtt.client as mqtt

from pulse.log import get_logger
from pulse.sim.profiles import PROFILES, SensorState

log = get_logger("pulse.sim")

PROVISION_CHUNK = 500  # devices per bulk request (the endpoint takes up to 1000)
CONNECT_CONCURRENCY = 64  # device connections being set up at once
# A new account reaches the broker after the API's commit. Mosquitto 2.0's dynamic-security plugin
# rewrites its whole file after every command, so pushing N accounts costs it O(N²) and keeps it busy
# for minutes with thousands of new devices: connecting gives up only when no device got in for this long.
CONNECT_STALL = 120.0
MAX_RETRY_AFTER = 60.0


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
    # Each device connects with its own broker account ({tenant}/{device}, its token as password), as on
    # an authenticated broker; False: one anonymous connection for all, the token in the payload only.
    device_logins: bool = False


@dataclass
class SimDevice:
    device_id: str
    site_id: str
    token: str
    sensor: SensorState
    seq: int = 0
    silent_until: float = 0.0
    mqtt: mqtt.Client | None = None  # its own connection (SimConfig.device_logins)


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
        """Register every device not given a token through the bulk admin endpoint, in chunks; each
        answer carries the device's provision token (its broker password). Waits while the API starts
        (connection errors) and for `Retry-After` on 429/503; any other refusal is fatal."""
        headers = {"X-Admin-Key": self.config.admin_key}
        layout = self.layout()
        tokens = dict(self.config.tokens)
        missing = [(d, s) for d, s, _ in layout if not tokens.get(d)]
        if missing:
            async with httpx.AsyncClient(
                base_url=self.config.admin_url, headers=headers, timeout=120
            ) as client:
                for start in range(0, len(missing), PROVISION_CHUNK):
                    chunk = missing[start : start + PROVISION_CHUNK]
                    tokens.update(await self._provision_chunk(client, chunk, attempts))
                    log.info("simulated devices provisioned", done=start + len(chunk), of=len(missing))
        for device_id, site_id, profile in layout:
            self.devices.append(
                SimDevice(device_id, site_id, tokens[device_id], SensorState.create(profile, self.rng))
            )
        log.info("simulated devices ready", devices=len(self.devices), tenant=self.config.tenant_id)

    async def _provision_chunk(
        self, client: httpx.AsyncClient, chunk: list[tuple[str, str]], attempts: int
    ) -> dict[str, str]:
        body = {
            "tenant_id": self.config.tenant_id,
            "devices": [
                {
                    "device_id": device_id,
                    "site_id": site_id,
                    "device_type": "simulated",
                    "fw_version": "sim-1.0",
                }
                for device_id, site_id in chunk
            ],
        }
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = await client.post("/api/admin/devices/bulk", json=body)
            except httpx.TransportError:
                if last:
                    raise
                await asyncio.sleep(0.5)
                continue
            if response.status_code == 201:
                return {d["device_id"]: d["provision_token"] for d in response.json()["devices"]}
            if response.status_code in (429, 503) and not last:
                wait = _retry_after(response.headers.get("Retry-After"))
                log.info("admin API asks to wait", status=response.status_code, seconds=wait)
                await asyncio.sleep(wait)
                continue
            raise SimError(
                f"provisioning {len(chunk)} devices from {chunk[0][0]}: "
                f"{response.status_code} {response.text[:300]}"
            )
        raise SimError("unreachable")

    async def _connect_all(self) -> None:
        """One connection per device, `CONNECT_CONCURRENCY` being set up at a time; a refused login is
        retried for a while (the account is pushed to the broker just after the commit)."""
        raise_open_file_limit(len(self.devices) + 256)
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
        progress = [time.monotonic()]  # when a device last got in

        async def connect(device: SimDevice) -> None:
            username = f"{self.config.tenant_id}/{device.device_id}"
            async with gate:
                attempt = 0
                while True:
                    try:
                        device.mqtt = await _connect_device(self.config.mqtt_url, username, device.token)
                        progress[0] = time.monotonic()
                        return
                    except (SimError, OSError, TimeoutError) as exc:
                        if time.monotonic() - progress[0] > CONNECT_STALL:
                            raise SimError(
                                f"{username} cannot connect (no device got in for {CONNECT_STALL:.0f} s): {exc}"
                            ) from None
                        attempt += 1
                        await asyncio.sleep(min(0.25 * attempt, 2.0))

        try:
            async with asyncio.TaskGroup() as group:
                for device in self.devices:
                    group.create_task(connect(device))
        except ExceptionGroup as failed:  # the first reason, not "unhandled errors in a TaskGroup"
            raise failed.exceptions[0] from None
        log.info("simulated devices connected", devices=len(self.devices))

    async def run(self) -> None:
        if not self.devices:
            await self.provision()
        try:
            if self.config.http:
                self._http = httpx.AsyncClient(base_url=self.config.api_url, timeout=10)
            elif self.config.device_logins:
                await self._connect_all()
            else:
                self._mqtt = _connect_mqtt(self.config.mqtt_url)
            deadline = time.monotonic() + self.config.duration if self.config.duration else None
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
            await self._disconnect()

    async def _disconnect(self) -> None:
        if self._mqtt is not None:
            self._mqtt.disconnect()
            self._mqtt.loop_stop()
        for device in self.devices:
            if device.mqtt is not None:
                device.mqtt.disconnect()
                device.mqtt = None
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
            elif device.mqtt is not None:
                body["provision_token"] = device.token  # ingest still checks it (the broker did the login)
                if device.mqtt.publish(topic, orjson.dumps(body), qos=self.config.qos).rc != 0:
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


def _retry_after(value: str | None) -> float:
    try:
        return min(max(float(value or 1), 0.1), MAX_RETRY_AFTER)
    except ValueError:
        return 1.0


def raise_open_file_limit(needed: int) -> None:
    """Raise the soft limit on open files towards the hard one: each simulated device holds a socket
    (the usual soft default, 1024, would stop at about a thousand devices)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        if target < needed:
            log.warning("open-file limit too low for every device", needed=needed, limit=target)


def _connect_mqtt(url: str) -> mqtt.Client:
    parts = urlsplit(url)
    client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.max_queued_messages_set(100_000)
    client.reconnect_delay_set(1, 30)
    client.connect_async(parts.hostname or "127.0.0.1", parts.port or 1883, keepalive=30)
    client.loop_start()
    return client


class _LoopDriver:
    """Drives one paho client from the asyncio loop (paho's socket callbacks) instead of a thread per
    client, so thousands of simulated devices can each hold their own connection."""

    def __init__(self, client: mqtt.Client):
        self._loop = asyncio.get_running_loop()
        self._client = client
        self._misc: asyncio.Task | None = None
        client.on_socket_open = self._opened
        client.on_socket_close = self._closed
        client.on_socket_register_write = lambda c, u, sock: self._loop.add_writer(sock, c.loop_write)
        client.on_socket_unregister_write = lambda c, u, sock: self._loop.remove_writer(sock)

    def _opened(self, client, userdata, sock) -> None:
        self._loop.add_reader(sock, client.loop_read)
        self._misc = self._loop.create_task(self._keepalive())

    def _closed(self, client, userdata, sock) -> None:
        self._loop.remove_reader(sock)
        if self._misc is not None:
            self._misc.cancel()

    async def _keepalive(self) -> None:
        while self._client.loop_misc() == mqtt.MQTT_ERR_SUCCESS:  # noqa: ASYNC110 - paho's periodic work
            await asyncio.sleep(1)


async def _connect_device(url: str, username: str, password: str, timeout: float = 15) -> mqtt.Client:
    """A device's own authenticated connection (client id = username, as the broker requires)."""
    parts = urlsplit(url)
    client = mqtt.Client(
        callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id=username, protocol=mqtt.MQTTv311
    )
    client.username_pw_set(username, password)
    client.max_queued_messages_set(1000)
    connected: asyncio.Future = asyncio.get_running_loop().create_future()

    def on_connect(client, userdata, flags, reason_code, properties) -> None:
        if not connected.done():
            connected.set_result(reason_code)

    client.on_connect = on_connect
    client._pulse_driver = _LoopDriver(client)  # type: ignore[attr-defined]  # kept alive with the client
    client.connect(parts.hostname or "127.0.0.1", parts.port or 1883, keepalive=60)
    try:
        reason = await asyncio.wait_for(connected, timeout)
    except BaseException:  # timed out, or cancelled with the other connects: leave no socket behind
        client.disconnect()
        raise
    if reason.is_failure:
        client.disconnect()
        raise SimError(f"the broker refused {username}: {reason}")
    return client
