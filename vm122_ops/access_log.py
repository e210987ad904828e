"""One JSON log line per request, with a request id that follows an onboarding across
services (the portal sends X-Request-ID; otherwise one is made here), and the request
counter of /metrics. Query strings are not logged: only the path."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jsonlogs import log_event
from vm122_ops.metrics import OpsMetrics

log = logging.getLogger("vm122_ops.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class AccessLog:
    def __init__(self, app: ASGIApp, metrics: OpsMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                request_id = value.decode("latin-1")
                break
        if not _REQUEST_ID.match(request_id):
            request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"],
                                      (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            self.metrics.requests.labels(route=template, status=str(status)).inc()
            log_event(
                log, "request", method=scope["method"], path=scope["path"], status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
                request_id=request_id,
            )
