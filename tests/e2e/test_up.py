"""`pulse up` end to end: embedded PostgreSQL and broker on free ports, ready, stopped by SIGTERM with no
server left behind, and the data kept for the next start."""

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
