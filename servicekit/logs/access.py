"""The access log both services put outermost: one JSON line per request, and the request
id that follows an onboarding from the Portal to Ops.

The id comes from the caller's X-Request-ID (1-64 of ``A-Z a-z 0-9 . _ -``) or is made
here; it is echoed in the response and kept in ``current_request_id`` for the request's
duration (the Portal stores it with each outbox row and sends it to Ops). Only the path
is logged, never the query string or a body. ``on_response(route, status)`` lets the
service count requests by route template (never the raw path, so labels stay few).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit.logs import log_event

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}\Z")
current_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


class AccessLog:
    def __init__(
        self,
        app: ASGIApp,
        logger: str,
        on_response: Callable[[str, int], None] | None = None,
    ) -> None:
        self.app = app
        self.log = logging.getLogger(logger)
        self.on_response = on_response

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                request_id = value.decode("latin-1")
                break
        if not REQUEST_ID.match(request_id):
            request_id = uuid.uuid4().hex
        token = current_request_id.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            current_request_id.reset(token)
            if self.on_response is not None:
                self.on_response(route_template(scope), status)
            log_event(
                self.log,
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
                request_id=request_id,
            )


def route_template(scope: Scope) -> str:
    """The matched route's template: a route inside a mount gets the mount's prefix
    (root_path), a mount without a router (static files) is its prefix; nothing matched
    is ``unmatched``."""
    route = scope.get("route")
    root = str(scope.get("root_path", ""))
    if isinstance(route, Mount):
        return root or route.path
    if isinstance(route, Route):
        return root + route.path
    return "unmatched"
