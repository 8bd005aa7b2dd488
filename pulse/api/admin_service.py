"""The `admin` service: the provisioning admin API on PULSE_ADMIN_PORT."""

from __future__ import annotations

from pulse.api.app import create_admin_app
from pulse.api.service import bind_socket, serve_app
from pulse.config import Settings
from pulse.db.pool import create_pool
from pulse.log import get_logger

log = get_logger("pulse.admin")


class AdminKeyMissing(RuntimeError):
    pass


async def run(settings: Settings) -> None:
    if settings.admin_key is None:
        raise AdminKeyMissing("PULSE_ADMIN_KEY is not set (the admin API refuses to run without a key)")
    sock = bind_socket(settings.http_host, settings.admin_port)
    pool = await create_pool(settings, name="admin", min_size=0, max_size=4)
    try:
        log.info("admin API listening", address=f"http://{settings.http_host}:{settings.admin_port}")
        await serve_app(create_admin_app(settings, pool, settings.admin_key.get_secret_value()), sock)
    finally:
        await pool.close()
        sock.close()
