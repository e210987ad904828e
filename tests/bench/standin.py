"""A deliberately slow stand-in for Ops: /healthz answers at once, the funnel after a delay.

It speaks just enough HTTP/1.1 (keep-alive, content-length) for bench.wire's client, so
the benchmark's own measuring code can be run against a server known to miss the budget.
"""

from __future__ import annotations

import asyncio
from types import TracebackType

import orjson


class SlowOps:
    def __init__(self, funnel_delay: float) -> None:
        self.funnel_delay = funnel_delay
        self.port = 0
        self.requests: list[str] = []
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> SlowOps:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

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
                if path.startswith("/api/v1/onboard/funnel"):
                    await asyncio.sleep(self.funnel_delay)
                    body = orjson.dumps({"ok": True, "cohort": 7, "stages": {}})
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
