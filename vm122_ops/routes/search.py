"""GET /api/v1/desk/search?q=: sessions and tickets by domain prefix, session id, ticket."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from servicekit.envelope import ok_body, rendered
from servicekit.openapi import Param, Query
from vm122_ops.app_state import app_state
from vm122_ops.tickets import export, search

SEARCH_QUERY = Query(
    Param(
        "q",
        {"type": "string", "minLength": 1, "maxLength": search.MAX_QUERY},
        "any part of a domain (Unicode or ASCII form) or contact e-mail, a support "
        "reference (any case, spaces or hyphens ignored), a session id, a ticket number",
        required=True,
    )
)
SEARCH_CSV_HEADER = [
    "session_id",
    "domain",
    "stage",
    "status",
    "last_event_at",
    "ticket_id",
    "matched",
]


@SEARCH_QUERY
async def find(request: Request) -> Response:
    query = search.parse_query(request.query_params.get("q"))
    state = app_state(request)

    async def read() -> bytes:
        found = await state.db.read(search.find, query)
        return ok_body(q=query, items=[item.document() for item in found])

    # Kept while the database is the same (vm122_ops/kept/memo.py), by the trimmed q.
    return rendered(await state.memo.get(("search", query), state.db.data_version(), read))


@SEARCH_QUERY
async def find_csv(request: Request) -> Response:
    """GET /api/v1/desk/search.csv?q=: the same results as CSV (at most search.LIMIT)."""
    query = search.parse_query(request.query_params.get("q"))
    found = await app_state(request).db.read(search.find, query)
    items = (item.document() for item in found[: export.MAX_ROWS])
    return export.csv_response("search.csv", SEARCH_CSV_HEADER, items)
