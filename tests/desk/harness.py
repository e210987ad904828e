"""Test harness for the Desk: a real uvicorn on a free 127.0.0.1 port, signed posts, and a
small Server-Sent Events reader that also sees comments (heartbeats)."""

from __future__ import annotations

import asyncio
import base64
import os
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from starlette.applications import Starlette

from tests.loopback import LoopbackServer
from vm122_ops.app import create_app
from vm122_ops.broker import Broker, StreamConfig
from vm122_ops.settings import Settings
from vm122_ops.signatures import sign

TOKEN = "desk-test-token-0123456789"
KEY = bytes(range(32))
SECRET = "whsec_" + base64.b64encode(KEY).decode()
FAST = StreamConfig(heartbeat_seconds=15, retry_ms=500, funnel_interval=0.2, send_timeout=2)


@dataclass
class OpsServer:
    """Ops under uvicorn in this event loop; stop() and start() again keep the port."""

    db_path: Path
    config: StreamConfig
    port: int = 0
    app: Starlette | None = None
    clock: Callable[[], float] = time.time
    _loopback: LoopbackServer = field(default_factory=LoopbackServer)

    @property
    def settings(self) -> Settings:
        return Settings(
            host="127.0.0.1",
            port=self.port,
            db_path=self.db_path,
            webhook_secrets=(KEY,),
            api_token=TOKEN,
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def broker(self) -> Broker:
        assert self.app is not None
        broker: Broker = self.app.state.ops.broker
        return broker

    async def start(self) -> None:
        self._loopback.port = self.port
        self.app = create_app(self.settings, clock=self.clock, stream_config=self.config)
        await self._loopback.start(self.app)
        self.port = self._loopback.port

    async def stop(self) -> None:
        await self._loopback.stop()


@dataclass
class Ops:
    server: OpsServer
    client: httpx.AsyncClient
    posted: list[int] = field(default_factory=list)

    @property
    def broker(self) -> Broker:
        return self.server.broker

    async def post(
        self,
        event_type: str,
        session_id: str,
        *,
        domain: str = "example.pt",
        at: datetime | None = None,
        webhook_id: str | None = None,
        **data: Any,
    ) -> dict[str, Any]:
        return await post_event(
            self.client,
            event_type,
            session_id,
            domain=domain,
            at=at,
            webhook_id=webhook_id,
            **data,
        )


_counter = 0


async def post_event(
    client: httpx.AsyncClient,
    event_type: str,
    session_id: str,
    *,
    domain: str = "example.pt",
    at: datetime | None = None,
    webhook_id: str | None = None,
    **data: Any,
) -> dict[str, Any]:
    """Sign and POST one event the way the Portal does; returns the JSON answer."""
    global _counter
    _counter += 1
    moment = at or datetime.now(UTC)
    body = orjson.dumps(
        {
            "type": event_type,
            "timestamp": moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "data": {"session_id": session_id, "domain": domain, **data},
        }
    )
    webhook_id = webhook_id or f"msg_{os.getpid()}_{_counter}_{time.monotonic_ns()}"
    now = int(time.time())
    response = await client.post(
        "/api/v1/webhooks/onboard",
        content=body,
        headers={
            "content-type": "application/json",
            "webhook-id": webhook_id,
            "webhook-timestamp": str(now),
            "webhook-signature": sign(KEY, webhook_id, now, body),
        },
    )
    assert response.status_code in (200, 202), response.text
    answer: dict[str, Any] = response.json()
    return answer


@dataclass
class SSE:
    """One dispatched event, or a comment line (kind "comment")."""

    kind: str
    data: str = ""
    id: str | None = None
    retry: int | None = None

    def json(self) -> Any:
        return orjson.loads(self.data)


class SSEReader:
    """Parses a text/event-stream response in a task, so a read can time out safely."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._items: asyncio.Queue[SSE | None] = asyncio.Queue()
        self._task = asyncio.create_task(self._pump())

    async def aclose(self) -> None:
        self._task.cancel()
        with suppress(asyncio.CancelledError):
            await self._task
        await self.response.aclose()

    async def _pump(self) -> None:
        event: dict[str, Any] = {}
        data: list[str] = []
        try:
            async for line in self.response.aiter_lines():
                if line.startswith(":"):
                    self._items.put_nowait(SSE("comment", line[1:].strip()))
                elif line == "":
                    if data or "event" in event:
                        self._items.put_nowait(
                            SSE(
                                event.get("event", "message"),
                                "\n".join(data),
                                event.get("id"),
                                event.get("retry"),
                            )
                        )
                    elif "retry" in event:
                        self._items.put_nowait(SSE("retry", retry=event["retry"]))
                    event, data = {}, []
                else:
                    name, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if name == "data":
                        data.append(value)
                    elif name == "retry":
                        event["retry"] = int(value)
                    else:
                        event[name] = value
        except httpx.HTTPError:
            pass
        finally:
            self._items.put_nowait(None)

    async def next(self, within: float = 5.0) -> SSE:
        async with asyncio.timeout(within):
            item = await self._items.get()
        if item is None:
            self._items.put_nowait(None)
            raise EOFError("the stream ended")
        return item

    async def next_event(self, within: float = 5.0) -> SSE:
        """The next dispatched event, skipping comments and retry-only blocks."""
        deadline = time.monotonic() + within
        while True:
            item = await self.next(max(0.01, deadline - time.monotonic()))
            if item.kind not in ("comment", "retry"):
                return item

    async def next_onboard(self, within: float = 5.0) -> SSE:
        deadline = time.monotonic() + within
        while True:
            item = await self.next_event(max(0.01, deadline - time.monotonic()))
            if item.kind == "onboard":
                return item


async def open_stream(
    client: httpx.AsyncClient,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[httpx.Response, SSEReader]:
    request = client.build_request("GET", "/api/v1/stream", params=params, headers=headers)
    response = await client.send(request, stream=True)
    return response, SSEReader(response)


async def wait_until(predicate: Any, within: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)
