"""`pulse up` end to end: embedded PostgreSQL and broker on free ports, ready, simulated devices
reporting, an alert routed through a webhook channel set up over the API arriving signed at a local
receiver, stopped by SIGTERM with no server left behind, and the data kept for the next start."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx
import psutil
import pytest

from pulse.embedded import free_port
from pulse.notify import signing
from tests.integration.ingest.helpers import wait_for
from tests.integration.notify.helpers import Receiver

SECRET = "whsec_ZTJlLXB1bHNlLXVwLXNpZ25pbmcta2V5LTEyMzQ="

pytestmark = pytest.mark.slow


def _children_using(data_dir: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(data_dir) in cmdline and ("postgres" in cmdline or "mosquitto" in cmdline):
            found.append(proc)
    return found


def _start(data_dir: Path, http_port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
    env.update(
        PULSE_DATA_DIR=str(data_dir),
        PULSE_HTTP_PORT=str(http_port),
        PULSE_ADMIN_PORT=str(free_port()),
        PULSE_EMBEDDED_MQTT_PORT=str(free_port()),
        PULSE_LOG_FORMAT="json",
        PULSE_NOTIFY_ALLOW_LOOPBACK="true",  # the test's webhook receiver listens on 127.0.0.1
    )
    return subprocess.Popen(
        [sys.executable, "-m", "pulse", "up"],
        env=env,
        cwd=data_dir.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_ready(proc: subprocess.Popen, url: str, timeout: float = 120) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"pulse up exited with {proc.returncode}:\n{proc.stdout.read()}")
        try:
            response = httpx.get(url, timeout=5)
            if response.status_code == 200:
                return response
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    pytest.fail(f"not ready after {timeout}s:\n{proc.stdout.read()}")


def _stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        output, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("pulse up did not stop within 60s of SIGTERM")
    assert proc.returncode == 0, output
    return output


async def _simulated_fleet(data_dir: Path, timeout: float = 90) -> tuple[int, int]:
    """Devices with telemetry rows and devices ONLINE in device_state, once all 25 have reported."""
    pgdata = data_dir / "postgres"
    port = int((pgdata / "postmaster.pid").read_text().splitlines()[3])
    password = (data_dir / "postgres.password").read_text().strip()
    conn = await asyncpg.connect(
        host="127.0.0.1", port=port, user="postgres", password=password, database="pulse"
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            devices = await conn.fetchval(
                "SELECT count(DISTINCT device_id) FROM telemetry WHERE tenant_id = 'demo'"
            )
            online = await conn.fetchval(
                "SELECT count(*) FROM device_state WHERE tenant_id = 'demo' AND status = 'ONLINE'"
            )
            if devices >= 25 or time.monotonic() > deadline:
                return devices, online
            await asyncio.sleep(0.5)
    finally:
        await conn.close()


def _api_client(data_dir: Path) -> tuple[str, str]:
    """A tenant-admin API client of the demo tenant, made with the CLI a user would run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")} | {
        "PULSE_DATA_DIR": str(data_dir)
    }
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pulse",
            "admin",
            "create-api-client",
            "e2e",
            "--role",
            "tenant-admin",
            "--tenant",
            "demo",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    fields = dict(line.split(":", 1) for line in out.splitlines() if line.startswith("client_"))
    return fields["client_id"].strip(), fields["client_secret"].strip()


async def _signed_alert_delivery(base: str, client_id: str, client_secret: str, timeout: float = 60) -> dict:
    """The README's walk-through: an alert rule, a webhook channel and a routing rule over the API;
    returns the first delivery's body once its signature checks out."""
    async with Receiver() as receiver, httpx.AsyncClient(base_url=base, timeout=10) as api:
        token = await api.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, client_secret)
        )
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        rule = {
            "name": "always",
            "metric_name": "temperature_c",
            "operator": "GT",
            "threshold": -100,
            "severity": 4,
        }
        channel = {
            "name": "mine",
            "channel_type": "webhook",
            "config": {"url": receiver.url, "secret": SECRET},
        }
        assert (await api.post("/customer/alert-rules", json=rule, headers=headers)).status_code == 201
        created = await api.post("/customer/notification-channels", json=channel, headers=headers)
        routing = {"channel_id": created.json()["channel_id"], "min_severity": 3}
        assert (
            await api.post("/customer/notification-routing-rules", json=routing, headers=headers)
        ).status_code == 201

        async def delivered() -> bool:
            return bool(receiver.requests)

        await wait_for(delivered, timeout=timeout)
    assert receiver.requests, "no delivery reached the receiver"
    request = receiver.requests[0]
    stamp, msg_id = int(request.headers["webhook-timestamp"]), request.headers["webhook-id"]
    assert request.headers["webhook-signature"] == signing.standard_signature(
        SECRET, msg_id, stamp, request.body
    )
    return request.json()


def test_up_serves_stops_cleanly_and_keeps_data(tmp_path: Path) -> None:
    data_dir = tmp_path / "pulse-data"
    port = free_port()
    proc = _start(data_dir, port)
    try:
        ready = _wait_ready(proc, f"http://127.0.0.1:{port}/readyz")
        assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}
        assert httpx.get(f"http://127.0.0.1:{port}/docs", timeout=5).status_code == 200
        assert _children_using(data_dir), "expected the embedded postgres to be running"
        devices, online = asyncio.run(_simulated_fleet(data_dir))
        assert devices == 25, "the 25 simulated devices' telemetry should arrive"
        assert online == 25
        delivered = asyncio.run(_signed_alert_delivery(f"http://127.0.0.1:{port}", *_api_client(data_dir)))
        assert (delivered["event"], delivered["tenant_id"]) == ("OPEN", "demo")
        assert delivered["device_id"].startswith("sim-")
    finally:
        if proc.poll() is None:
            first_output = _stop(proc)
    assert "Pulse 0.1.0 is running" in first_output
    assert "demo-admin" in first_output  # first start prints the demo credentials once
    assert not _children_using(data_dir), "a server outlived pulse up"

    # Second start: same data, no new migrations or demo users, still ready.
    proc = _start(data_dir, port)
    try:
        _wait_ready(proc, f"http://127.0.0.1:{port}/readyz")
    finally:
        second_output = _stop(proc)
    assert "migration(s)" not in second_output
    assert "created" not in second_output.split("Demo", 1)[1].splitlines()[0]
    assert not _children_using(data_dir)
