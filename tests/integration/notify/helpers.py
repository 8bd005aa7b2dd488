"""Local HTTP receivers with scripted answers, and reading rows in notification tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field

from pulse.db.tx import operator_tx


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: str = "ok"
    delay: float = 0.0


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


class Receiver:
    """An HTTP/1.1 server on 127.0.0.1 that records requests and answers from a script (the last
    answer repeats)."""

    def __init__(self, *answers: Answer):
        self.script = list(answers) or [Answer()]
        self.requests: list[Request] = []
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task] = set()

    @property
    def url(self) -> str:
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/hook"

    async def __aenter__(self) -> Receiver:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc) -> None:
        self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._handlers.add(asyncio.current_task())
        try:
            line = (await reader.readline()).decode()
            method, path, _ = line.split(" ", 2)
            headers = {}
            while (h := (await reader.readline()).decode().strip()) != "":
                name, value = h.split(":", 1)
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            answer = self.script[min(len(self.requests), len(self.script) - 1)]
            self.requests.append(Request(method, path, headers, body))
            if answer.delay:
                await asyncio.sleep(answer.delay)
            payload = answer.body.encode()
            extra = "".join(f"{k}: {v}\r\n" for k, v in answer.headers.items())
            writer.write(
                f"HTTP/1.1 {answer.status} X\r\nContent-Length: {len(payload)}\r\n"
                f"Content-Type: text/plain\r\nConnection: close\r\n{extra}\r\n".encode()
                + payload
            )
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            self._handlers.discard(asyncio.current_task())
            with contextlib.suppress(Exception):
                writer.close()


async def set_status(pool, tenant_id: str, alert_id: int, status: str) -> None:
    async with operator_tx(pool, "test") as conn:
        await conn.execute(
            "UPDATE alerts SET status = $3, acknowledged_by = CASE WHEN $3 = 'ACKNOWLEDGED' THEN 'ann' END "
            "WHERE tenant_id = $1 AND id = $2",
            tenant_id,
            alert_id,
            status,
        )


async def dispatch(pool, dispatcher) -> int:
    async with operator_tx(pool, "test") as conn:
        return await dispatcher.dispatch_once(conn)


async def fetch(pool, query: str, *args):
    async with operator_tx(pool, "test") as conn:
        return await conn.fetch(query, *args)
