"""GET /api/v1/desk/tickets and /api/v1/desk/tickets/{id}."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response

from servicekit.envelope import ok
from vm122_ops import params, tickets
from vm122_ops.errors import BadRequest, NotFound
from vm122_ops.state import app_state

TICKET_STATUSES = ("open", "closed")
_TAG = re.compile(r"^[a-z0-9_]{1,64}\Z")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


async def list_tickets(request: Request) -> Response:
    query = request.query_params
    status = query.get("status") or None
    if status is not None and status not in TICKET_STATUSES:
        raise BadRequest(f"status must be one of {', '.join(TICKET_STATUSES)}")
    tag = query.get("tag") or None
    if tag is not None and not _TAG.match(tag):
        raise BadRequest("tag must be 1-64 characters of a-z 0-9 _")
    filters = tickets.TicketFilter(
        status=status, tag=tag, session_id=params.optional_session_id(query.get("session_id"))
    )
    raw_limit = query.get("limit", str(DEFAULT_LIMIT))
    if not (raw_limit.isascii() and raw_limit.isdigit()) or not 1 <= int(raw_limit) <= MAX_LIMIT:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    before = tickets.decode_cursor(query["cursor"]) if query.get("cursor") else None
    page = await app_state(request).db.read(tickets.page, filters, int(raw_limit), before)
    return ok(tickets=[ticket.document() for ticket in page.tickets], next=page.next)


async def get_ticket(request: Request) -> Response:
    raw_id = request.path_params["ticket_id"]
    if not (raw_id.isascii() and raw_id.isdigit()) or len(raw_id) > 18:
        raise BadRequest("ticket id must be a positive whole number")
    ticket_id = int(raw_id)
    ticket = await app_state(request).db.read(tickets.get, ticket_id)
    if ticket is None:
        raise NotFound(f"no ticket {ticket_id}")
    return ok(**ticket.document())
