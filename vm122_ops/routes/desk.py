"""GET /api/v1/desk/tickets and /api/v1/desk/tickets/{id}."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response

from servicekit.envelope import ok
from vm122_ops.errors import BadRequest, NotFound
from vm122_ops.events import SESSION_ID
from vm122_ops.state import app_state
from vm122_ops.tickets import (
    decode_cursor,
    encode_cursor,
    ticket_summary,
    timeline_entry,
)

TICKET_STATUSES = ("open", "closed")
_TAG = re.compile(r"^[a-z0-9_]{1,64}\Z")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


async def list_tickets(request: Request) -> Response:
    state = app_state(request)
    query = request.query_params
    status = query.get("status") or None
    if status is not None and status not in TICKET_STATUSES:
        raise BadRequest(f"status must be one of {', '.join(TICKET_STATUSES)}")
    tag = query.get("tag") or None
    if tag is not None and not _TAG.match(tag):
        raise BadRequest("tag must be 1-64 characters of a-z 0-9 _")
    session_id = query.get("session_id") or None
    if session_id is not None and not SESSION_ID.match(session_id):
        raise BadRequest("session_id must be 1-128 characters of A-Z a-z 0-9 _ -")
    raw_limit = query.get("limit", str(DEFAULT_LIMIT))
    if not (raw_limit.isascii() and raw_limit.isdigit()) or not 1 <= int(raw_limit) <= MAX_LIMIT:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    limit = int(raw_limit)
    before_updated, before_id = (None, None)
    if query.get("cursor"):
        before_updated, before_id = decode_cursor(query["cursor"])
    rows = await state.db.fetch_all(
        "list_tickets",
        {
            "status": status,
            "tag": tag,
            "session_id": session_id,
            "before_updated": before_updated,
            "before_id": before_id,
            "limit": limit + 1,  # one more row tells whether a next page exists
        },
    )
    page = rows[:limit]
    next_cursor = (
        encode_cursor(page[-1]["updated_at"], page[-1]["id"]) if len(rows) > limit else None
    )
    return ok(tickets=[ticket_summary(row) for row in page], next=next_cursor)


async def get_ticket(request: Request) -> Response:
    state = app_state(request)
    raw_id = request.path_params["ticket_id"]
    if not (raw_id.isascii() and raw_id.isdigit()) or len(raw_id) > 18:
        raise BadRequest("ticket id must be a positive whole number")
    ticket_id = int(raw_id)
    queries = state.db.queries
    async with state.db.read() as conn:
        async with conn.execute(queries["get_ticket"], {"ticket_id": ticket_id}) as cursor:
            row = await cursor.fetchone()
        if row is None:
            raise NotFound(f"no ticket {ticket_id}")
        async with conn.execute(queries["ticket_entries"], {"ticket_id": ticket_id}) as cursor:
            entries = [timeline_entry(entry) for entry in await cursor.fetchall()]
    return ok(**ticket_summary(row), timeline=entries)
