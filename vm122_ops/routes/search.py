"""GET /api/v1/desk/search?q=: sessions and tickets by domain prefix, session id, ticket."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from servicekit.envelope import ok
from vm122_ops import params, search
from vm122_ops.state import app_state


async def find(request: Request) -> Response:
    params.only(request, {"q"})
    query = search.parse_query(request.query_params.get("q"))
    found = await app_state(request).db.read(search.find, query)
    return ok(q=query, items=[item.document() for item in found])
