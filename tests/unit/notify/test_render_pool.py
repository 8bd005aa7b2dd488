"""Slow template renders run in a small pool of their own: a burst of them cannot take the threads
that unrelated work (DNS resolution of another tenant's target, other off-loop calls) needs."""

from __future__ import annotations

import asyncio
import threading

import httpx

from pulse.notify import ssrf, templates
from pulse.notify.channels import webhook
from pulse.notify.channels.base import SendContext
from tests.alert_events import make_event

BURST = 40  # more than the default executor's threads on any machine (at most 32)


async def test_slow_renders_do_not_hold_up_unrelated_requests(monkeypatch) -> None:
    release = threading.Event()
    started = asyncio.Event()
    loop = asyncio.get_running_loop()
    running = 0
    most = 0
    lock = threading.Lock()

    def slow_render(event, config):
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        loop.call_soon_threadsafe(started.set)
        release.wait(30)  # a template using its whole time budget, held until the test says
        with lock:
            running -= 1
        return {"ok": True}

    monkeypatch.setattr(webhook, "render", slow_render)
    config = webhook.Config(url="http://127.0.0.1:9/hook", body_template="{{ summary }}")
    ctx = SendContext(ssrf.Policy(allow_loopback=True), "m", 0, timeout=1.0)
    async with httpx.AsyncClient() as http:
        sends = [asyncio.create_task(webhook.send(make_event(), config, http, ctx)) for _ in range(BURST)]
        try:
            await asyncio.wait_for(started.wait(), 10)
            # Unrelated work that needs the default executor: resolving another tenant's host name.
            # (Without the render pool it waits behind the blocked renders: the guard below fails.)
            resolved = await asyncio.wait_for(loop.getaddrinfo("localhost", 80), 10)
            # ... completed while every render was still running or queued
            assert resolved and not release.is_set()
            assert not any(task.done() for task in sends)
            assert most <= templates.RENDER_THREADS
        finally:
            release.set()
            await asyncio.gather(*sends, return_exceptions=True)
