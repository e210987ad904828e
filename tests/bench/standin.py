"""A deliberately slow stand-in for Ops: /healthz answers at once, the funnel after a delay.

It speaks just enough HTTP/1.1 (keep-alive, content-length) for bench.wire's client, so
the benchmark's own measuring code can be run against a server known to miss the budget.
Other paths answer after the delay of their longest matching prefix in ``delays`` (none:
at once) with the fields the benchmarks read: the funnel's ``stopped`` counts and a
drill-down page's ``next`` cursor (docs/webhook-funnel-events.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import orjson

from tests.support.runner import HOST, free_port

STOPPED = {"dns_applied": {"stuck": 120, "abandoned": 80}, "account_created": {"failed": 300}}


class SlowOps:
    def __init__(self, funnel_delay: float, delays: Mapping[str, float] | None = None) -> None:
        self.funnel_delay = funnel_delay
        self.delays = dict(delays or {})
        self.port = 0
        self.requests: list[str] = []

    @classmethod
    @asynccontextmanager
    async def serving(
        cls, funnel_delay: float, delays: Mapping[str, float] | None = None
    ) -> AsyncIterator[SlowOps]:
        """The stand-in listening on a free loopback port until the block ends."""
        slow = cls(funnel_delay, delays)
        slow.port = free_port()
        server = await asyncio.start_server(slow._serve, HOST, slow.port)
        try:
            yield slow
        finally:
            server.close()
            await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return
                request_line = head.split(b"\r\n", 1)[0].decode()
                path = request_line.split(" ")[1]
                self.requests.append(path)
                delay = max(
                    (
                        (len(prefix), seconds)
                        for prefix, seconds in self.delays.items()
                        if path.startswith(prefix)
                    ),
                    default=(0, 0.0),
                )[1]
                if path.startswith("/api/v1/onboard/funnel/sessions"):
                    await asyncio.sleep(delay)
                    cursor = None if "cursor=" in path else "MTc5NTk1MzYwMDAwMDpz"
                    body = orjson.dumps({"ok": True, "total": 120, "items": [], "next": cursor})
                elif path.startswith("/api/v1/onboard/funnel"):
                    await asyncio.sleep(self.funnel_delay)
                    body = orjson.dumps({"ok": True, "cohort": 7, "stages": {}, "stopped": STOPPED})
                elif path.startswith("/api/"):
                    await asyncio.sleep(delay)
                    body = orjson.dumps({"ok": True})
                else:
                    body = orjson.dumps({"ok": True, "database": "ok"})
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    + f"content-length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
        finally:
            writer.close()
            await writer.wait_closed()
