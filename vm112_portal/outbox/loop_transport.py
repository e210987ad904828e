"""An httpx transport that runs another transport on the event loop it belongs to.

The outbox dispatcher has a thread and an event loop of its own (vm112_portal/outbox/dispatcher.py)
and, in production, builds its own httpx client there. A transport handed to
``create_app`` by a caller (tests: ``httpx.MockTransport``, or the real Ops app through
``httpx.ASGITransport``) belongs to the caller's loop instead: the Ops app's locks and
database connections live there, and asyncio objects refuse to be used from another loop.
``OnLoop`` sends each request through such a transport on its own loop and hands the
whole answer back; cancelling the waiting side cancels the request there too
(``asyncio.run_coroutine_threadsafe``).
"""

from __future__ import annotations

import asyncio

import httpx


class OnLoop(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport, loop: asyncio.AbstractEventLoop) -> None:
        self._inner = inner
        self._loop = loop

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        future = asyncio.run_coroutine_threadsafe(self._send(request), self._loop)
        return await asyncio.wrap_future(future)

    async def _send(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        try:
            content = await response.aread()
        finally:
            await response.aclose()
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            content=content,
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        future = asyncio.run_coroutine_threadsafe(self._inner.aclose(), self._loop)
        await asyncio.wrap_future(future)
