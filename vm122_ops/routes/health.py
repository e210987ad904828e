"""GET /healthz: open, says whether the database answers."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from servicekit.envelope import error, ok
from servicekit.openapi import NO_QUERY
from vm122_ops.app_state import app_state


@NO_QUERY
async def healthz(request: Request) -> Response:
    if await app_state(request).db.ping():
        return ok(database="ok")
    return error(503, "the database is unreachable")
