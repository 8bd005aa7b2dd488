"""Pure parts of platform health: the names a process reports its services under, alert fingerprints."""

from __future__ import annotations

import os
import socket

from pulse.db import service_health
from pulse.ops import platform_health


def test_instance_names_carry_service_host_and_pid():
    names = service_health.instance_names(["ingest", "notify"])
    where = f"{socket.gethostname()}:{os.getpid()}"
    assert names == [f"ingest@{where}", f"notify@{where}"]


def test_fingerprint_per_service():
    assert platform_health._fingerprint("ingest@h:1") != platform_health._fingerprint("notify@h:1")
