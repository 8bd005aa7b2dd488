"""The `api` service: the HTTP API on PULSE_HTTP_HOST:PULSE_HTTP_PORT."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import uvicorn

from pulse.api.app import create_app
from pulse.api.routes import ingest as ingest_routes
from pulse.config import Settings
from pulse.db.pool import create_pool
from pulse.ingest.pipeline import build_ingestor, wait_for_limits
from pulse.log import get_logger

log = get_logger("pulse.api")


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: `pulse` stops services by cancelling them."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind before serving, so a taken port is a clear error at start rather than a SystemExit later."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted sockets only when the listening
    # socket says TCP; without it every keep-alive response waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise RuntimeError(f"cannot listen on {host}:{port} ({exc.strerror})") from None
    sock.listen(2048)
    sock.setblocking(False)
    return sock


async def serve_app(app, sock: socket.socket) -> None:
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off", server_header=False)
    server = _Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await asyncio.shield(serving)
    except asyncio.CancelledError:
        # Stopping (Ctrl-C / SIGTERM): let uvicorn finish open requests before the pool goes away.
        server.should_exit = True
        await serving
        raise


async def run(settings: Settings) -> None:
    sock = bind_socket(settings.http_host, settings.http_port)
    pool = await create_pool(settings, name="api")
    ingestor = build_ingestor(settings, pool, "http")
    background = []
    try:
        await wait_for_limits(ingestor)
        background = [asyncio.create_task(ingestor.writer.run()), asyncio.create_task(ingestor.limits.run())]
        app = create_app(settings, pool)
        ingest_routes.mount(app, ingestor)
        log.info("api listening", address=f"http://{settings.http_host}:{settings.http_port}")
        await serve_app(app, sock)
    finally:
        for task in background:  # the writer commits what it holds before it stops
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await pool.close()
        sock.close()
