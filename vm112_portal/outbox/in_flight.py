"""How many HTTP requests the Portal is handling right now (an ASGI middleware).

The outbox dispatcher (vm112_portal/outbox/dispatcher.py) reads the count from its own thread and
holds a batch back, for a moment, while requests are in flight: background deliveries
then do not take the process's CPU (its one interpreter lock) from a wizard step, which
is what emission cost the wizard (docs/portal.md). The count is a plain int
changed only on the event loop's thread; reading it from another thread is safe. When it
drops to zero, ``on_idle`` listeners are called (on the event loop's thread): the
dispatcher's wakes its own loop only when it is waiting for that moment.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send


class InFlight:
    """The number of HTTP requests being handled."""

    def __init__(self) -> None:
        self.count = 0
        self.last_end = 0.0  # time.monotonic() when the last request ended
        self._listeners: list[Callable[[], None]] = []

    @property
    def busy(self) -> bool:
        return self.count > 0

    def quiet_for(self) -> float:
        """Seconds since the last request ended; 0.0 while one is in flight."""
        return 0.0 if self.count else time.monotonic() - self.last_end

    def on_idle(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` each time the last request in flight ends."""
        self._listeners.append(listener)

    def enter(self) -> None:
        self.count += 1

    def leave(self) -> None:
        self.count -= 1
        self.last_end = time.monotonic()
        if self.count == 0:
            for listener in self._listeners:
                listener()


class CountRequests:
    """Counts every HTTP request from its start to the end of its answer."""

    def __init__(self, app: ASGIApp, in_flight: InFlight) -> None:
        self.app = app
        self.in_flight = in_flight

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.in_flight.enter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight.leave()
