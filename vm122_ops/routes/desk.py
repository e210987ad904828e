"""The Desk's ticket API (docs/desk.md, "Tickets"): list, read, change, note; agents.

Routes parse and answer; the reads and the units of work are in vm122_ops/tickets/ticket.py and
vm122_ops/tickets/work.py.
"""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response

from servicekit.body import media_type, read_body
from servicekit.envelope import JSONResponse, ok, ok_body, rendered
from servicekit.openapi import NO_QUERY, Param, Query, enum
from vm122_ops.app_state import AppState, app_state
from vm122_ops.desk import accounts
from vm122_ops.desk.auth import principal
from vm122_ops.errors import BadRequest, NotFound, Unprocessable, UnsupportedMediaType
from vm122_ops.routes import params
from vm122_ops.tickets import export
from vm122_ops.tickets import ticket as tickets
from vm122_ops.tickets import work as ticket_work
from vm122_ops.tickets.ticket import QUEUES, STATUSES, TicketFilter
from vm122_ops.tickets.work import Actor, Conflict, TicketChange, TicketGone

MAX_BODY = 32 * 1024
ME = "me"


def _ticket_id(request: Request) -> int:
    raw = request.path_params["ticket_id"]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise BadRequest("ticket id must be a positive whole number")
    return int(raw)


# Anything else is refused: a typo (`?domain=`) must not answer every ticket.
TICKETS_CSV_QUERY = Query(
    Param(
        "queue", enum(QUEUES), "needs_action, handover or all (the default): docs/desk.md, Queues"
    ),
    Param("status", enum(STATUSES), "only tickets in this status"),
    Param("tag", {"type": "string", "pattern": "^[a-z0-9_]{1,64}$"}, "only tickets with this tag"),
    Param("session_id", params.SESSION_ID_PATTERN, "only this session's ticket"),
    Param(
        "assignee",
        {"type": "string", "pattern": "^(me|none|[a-z0-9][a-z0-9._-]{0,63})$"},
        "me (a session's own account), none (unassigned) or an account name",
    ),
)
TICKETS_QUERY = TICKETS_CSV_QUERY + Query(params.LIMIT, params.CURSOR)


def _filter(request: Request) -> TicketFilter:
    query = request.query_params
    queue = query.get("queue") or "all"
    if queue not in QUEUES:
        raise BadRequest(f"queue must be one of {', '.join(QUEUES)}")
    status = query.get("status") or None
    if status is not None and status not in STATUSES:
        raise BadRequest(f"status must be one of {', '.join(STATUSES)}")
    tag = query.get("tag") or None
    if tag is not None and not ticket_work.TAG.fullmatch(tag):
        raise BadRequest("tag must be 1-64 characters of a-z 0-9 _")
    session_id = params.optional_session_id(query.get("session_id"))
    assignee = query.get("assignee") or None
    unassigned = False
    if assignee == "none":
        assignee, unassigned = None, True
    elif assignee == ME:
        user = principal(request).user
        if user is None:
            raise BadRequest("assignee=me needs a person's session, not the API token")
        assignee = user.name
    elif assignee is not None and not accounts.NAME.fullmatch(assignee.lower()):
        raise BadRequest(f"assignee must be me, none or an account name ({accounts.NAME_RULE})")
    return TicketFilter(
        queue=None if queue == "all" else queue,
        status=status,
        tag=tag,
        session_id=session_id,
        unassigned=unassigned,
        assignee=None if assignee is None else assignee.lower(),
    )


TICKET_CSV_HEADER = [
    "id",
    "session_id",
    "domain",
    "status",
    "session_status",
    "stage",
    "tags",
    "assignee",
    "version",
    "subject",
    "created_at",
    "updated_at",
    "kind",
    "queue",
    "contact",
    "failure_code",
]


@TICKETS_CSV_QUERY
async def tickets_csv(request: Request) -> Response:
    """GET /api/v1/desk/tickets.csv: the list's tickets under the same filters, every page
    (at most export.MAX_ROWS, newest updated first), as CSV; tags separated by spaces."""
    state = app_state(request)
    where = _filter(request)
    page = await state.db.read(tickets.page, where, export.MAX_ROWS, None)
    documents = (ticket.document() | {"tags": " ".join(ticket.tags)} for ticket in page.tickets)
    return export.csv_response("tickets.csv", TICKET_CSV_HEADER, documents)


@TICKETS_QUERY
async def list_tickets(request: Request) -> Response:
    """GET /api/v1/desk/tickets: a page, the next cursor, and counts per status."""
    state = app_state(request)
    where = _filter(request)
    limit = params.limit(request)
    cursor = request.query_params.get("cursor")
    before = tickets.decode_cursor(cursor) if cursor else None

    async def read() -> bytes:
        page = await state.db.read(tickets.page, where, limit, before)
        return ok_body(**page.document())

    # Kept while the database is the same (vm122_ops/kept/memo.py); the key holds every
    # parameter the answer depends on ("me" is in ``where`` as the account's name).
    key = ("tickets", where, limit, before)
    return rendered(await state.memo.get(key, state.db.data_version(), read))


@NO_QUERY
async def get_ticket(request: Request) -> Response:
    """GET /api/v1/desk/tickets/{id}: the ticket and its timeline; ETag is its version."""
    state = app_state(request)
    ticket_id = _ticket_id(request)
    ticket = await state.db.read(tickets.get, ticket_id)
    if ticket is None:
        raise NotFound(f"no ticket {ticket_id}")
    response = ok(**ticket.document())
    response.headers["ETag"] = f'"{ticket.summary.version}"'
    return response


async def _json(request: Request) -> object:
    if media_type(request) != "application/json":
        raise UnsupportedMediaType("content-type must be application/json")
    body = await read_body(request, MAX_BODY)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadRequest("the body is not valid JSON") from None


def _actor(request: Request) -> Actor:
    user = principal(request).user
    if user is None:
        return Actor("program")
    return Actor("account", account_id=user.account_id, name=user.name)


async def _conflict(state: AppState, ticket_id: int) -> Response:
    """409 with the ticket as it is now, so the page can show what changed."""
    current = await state.db.read(tickets.get, ticket_id)
    return JSONResponse(
        {
            "ok": False,
            "error": "the ticket changed since you saw it: look at the current ticket, then "
            "apply your change again",
            "status": 409,
            "ticket": None if current is None else current.document(),
        },
        status_code=409,
        headers={"ETag": f'"{current.summary.version}"'} if current else None,
    )


def _changed(change: TicketChange, status: int = 200) -> Response:
    response = ok(status, **change.document())
    response.headers["ETag"] = f'"{change.ticket.version}"'
    return response


@NO_QUERY
async def patch_ticket(request: Request) -> Response:
    """PATCH /api/v1/desk/tickets/{id}: status, assignee, tags at the version seen."""
    state = app_state(request)
    ticket_id = _ticket_id(request)
    if_match = ticket_work.version_from_if_match(request.headers.get("if-match"))
    patch = ticket_work.parse_patch(await _json(request), if_match)
    actor, now = _actor(request), state.now_ms()
    try:
        change = await state.db.change(ticket_work.apply_patch, ticket_id, patch, actor, now)
    except TicketGone:
        raise NotFound(f"no ticket {ticket_id}") from None
    except Conflict:
        return await _conflict(state, ticket_id)
    return _changed(change)


MAX_BULK = 200
# What bulk_change says happened to each ticket.
BULK_OUTCOMES = ("changed", "unchanged", "conflict", "refused", "not_found")


@NO_QUERY
async def bulk_change(request: Request) -> Response:
    """POST /api/v1/desk/tickets/bulk: one status and/or assignee for several tickets, each
    at the version the agent saw. Each ticket is changed on its own (its own unit of work,
    its own activity entries, announced on the stream), so one stale ticket does not hold
    back the others; the answer says what happened to each, in the order asked."""
    state = app_state(request)
    body = await _json(request)
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    unknown = set(body) - {"tickets", "status", "assignee"}
    if unknown:
        raise BadRequest(f"unknown field: {sorted(unknown)[0]}")
    listed = body.get("tickets")
    if not isinstance(listed, list) or not 1 <= len(listed) <= MAX_BULK:
        raise BadRequest(f"tickets must be a list of 1-{MAX_BULK} {{id, version}} objects")
    if "status" not in body and "assignee" not in body:
        raise BadRequest("say what to change: status, assignee or both")
    seen: list[tuple[int, int]] = []
    for item in listed:
        if not isinstance(item, dict) or set(item) != {"id", "version"}:
            raise BadRequest("each ticket is an object with id and version")
        ticket_id = item["id"]
        # At most 18 digits, as in the path (SQLite's integers end at 2**63 - 1).
        if isinstance(ticket_id, bool) or not isinstance(ticket_id, int):
            raise BadRequest("a ticket id is a positive whole number")
        if not 1 <= ticket_id < 10**18:
            raise BadRequest("a ticket id is a positive whole number")
        version = ticket_work.parse_version(item["version"])
        if any(ticket_id == known for known, _ in seen):
            raise BadRequest(f"ticket {ticket_id} is listed twice")
        seen.append((ticket_id, version))
    fields = {name: body[name] for name in ("status", "assignee") if name in body}
    patches = [ticket_work.parse_patch({"version": v, **fields}, None) for _, v in seen]
    actor, now = _actor(request), state.now_ms()
    results: list[dict[str, object]] = []
    for (ticket_id, _), patch in zip(seen, patches, strict=True):
        outcome: dict[str, object] = {"id": ticket_id}
        try:
            change = await state.db.change(ticket_work.apply_patch, ticket_id, patch, actor, now)
        except TicketGone:
            outcome |= {"outcome": "not_found"}
        except Conflict:
            outcome |= {"outcome": "conflict"}
        except Unprocessable as refused:
            outcome |= {"outcome": "refused", "reason": str(refused.message)}
        else:
            changed = "changed" if change.entries else "unchanged"
            outcome |= {"outcome": changed, "version": change.ticket.version}
        results.append(outcome)
    return ok(results=results)


@NO_QUERY
async def add_note(request: Request) -> Response:
    """POST /api/v1/desk/tickets/{id}/notes: an internal note, plain text."""
    state = app_state(request)
    ticket_id = _ticket_id(request)
    text = ticket_work.parse_note(await _json(request))
    actor, now = _actor(request), state.now_ms()
    try:
        change = await state.db.change(ticket_work.add_note, ticket_id, text, actor, now)
    except TicketGone:
        raise NotFound(f"no ticket {ticket_id}") from None
    return _changed(change, 201)


@NO_QUERY
async def agents(request: Request) -> Response:
    """GET /api/v1/desk/agents: the enabled accounts a ticket can be assigned to."""
    state = app_state(request)
    found = await state.db.read(accounts.list_agents)
    user = principal(request).user
    return ok(agents=found, me=None if user is None else user.name)


@NO_QUERY
async def take_session(request: Request) -> Response:
    """POST /api/v1/desk/sessions/{session_id}/take: the stuck list's "take it": the
    session's ticket as a follow-up assigned to the agent (opened if it had none)."""
    state = app_state(request)
    session_id = params.session_id(request.path_params["session_id"])
    actor = _actor(request)
    if actor.kind != "account":
        raise BadRequest("taking a session needs a person's session, not the API token")
    try:
        change = await state.db.change(ticket_work.take_session, session_id, actor, state.now_ms())
    except TicketGone:
        raise NotFound(f"no session {session_id}") from None
    return _changed(change, 200)
