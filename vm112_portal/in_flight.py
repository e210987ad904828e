"""How many HTTP requests the Portal is handling right now (an ASGI middleware).

The outbox dispatcher (vm112_portal/dispatcher.py) reads the count from its own thread and
holds a batch back, for a moment, while requests are in flight: background deliveries
then do not take the process's CPU (its one interpreter lock) from a wizard step, which
is what emission cost the wizard (issue 16, docs/portal.md). The count is a plain int
changed only on the event loop's thread; reading it from another thread is safe.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class InFlight:
    """The number of HTTP requests being handled."""

    def __init__(self) -> None:
        self.count = 0

    @property
    def busy(self) -> bool:
        return self.count > 0


class CountRequests:
    """Counts every HTTP request from its start to the end of its answer."""

    def __init__(self, app: ASGIApp, in_flight: InFlight) -> None:
        self.app = app
        self.in_flight = in_flight

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.in_flight.count += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight.count -= 1
