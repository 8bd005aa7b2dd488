"""`/metrics` for processes without an HTTP server of their own (`pulse run ingest`, `evaluator`, …):
prometheus_client's own exposition server on `PULSE_METRICS_HOST:PULSE_METRICS_PORT`, in a daemon thread,
serving `pulse.metrics.REGISTRY`. The API serves the same registry at `/metrics` on its own port."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import start_http_server

from pulse.metrics import REGISTRY


@contextmanager
def metrics_listener(host: str, port: int) -> Iterator[int]:
    """Serve the registry until the block ends; yields the bound port (useful with port 0)."""
    try:
        server, thread = start_http_server(port, addr=host, registry=REGISTRY)
    except OSError as exc:
        raise RuntimeError(f"cannot serve metrics on {host}:{port} ({exc.strerror})") from None
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=2)
