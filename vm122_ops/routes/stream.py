"""GET /api/v1/stream: the Desk's Server-Sent Events (docs/desk.md, "Stream protocol").

A stream subscribes first, then replays the stored events and the ticket changes after
the client's last id in pages, then sends what the subscription queued meanwhile,
skipping ids it has already sent: the switch from replay to live loses and repeats
nothing, because committed ids increase in commit order and the queue holds everything
committed after subscribing.

An SSE id holds two cursors, ``E.C``: the last event row and the last ticket activity
entry sent (``E`` alone while no ticket has changed, so ids from before ticket work still
resume exactly).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from servicekit.envelope import error
from servicekit.openapi import Param, Query
from vm122_ops.app_state import app_state
from vm122_ops.desk.auth import monotonic_deadline, principal
from vm122_ops.desk.auth_events import auth_event
from vm122_ops.desk.broker import (
    ONBOARD,
    TICKET,
    AlertsSnapshot,
    FunnelSnapshot,
    LiveEvent,
    StreamConfig,
    Subscriber,
)
from vm122_ops.desk.stream_slots import WINDOWS, StreamRefused
from vm122_ops.errors import BadRequest
from vm122_ops.routes import params
from vm122_ops.store import stored_events as stored
from vm122_ops.store.db import Database
from vm122_ops.tickets import work as ticket_work

MAX_ID_DIGITS = 18
# The stream's event names (docs/desk.md; frontend/js/live.js listens to each).
FUNNEL, RESET, ALERTS = "funnel", "reset", "alerts"
EVENT_NAMES = (ONBOARD, TICKET, FUNNEL, RESET, ALERTS)
_STREAM_ID = re.compile(r"^([0-9]{1,18})(?:\.([0-9]{1,18}))?\Z")
STREAM_QUERY = Query(
    Param(
        "last_event_id",
        {"type": "string", "pattern": r"^[0-9]{1,18}(\.[0-9]{1,18})?$"},
        "resume after this id (the Last-Event-ID header wins)",
    ),
    Param("session_id", params.SESSION_ID_PATTERN, "only this session"),
    Param("ticket_id", {"type": "string", "pattern": "^[0-9]{1,18}$"}, "only this ticket"),
    Param(
        "hours",
        {"type": "integer", "enum": list(WINDOWS)},
        "the funnel window in hours: one of these, or OPS_WINDOW_HOURS (its default)",
    ),
)


def stream_id(events: int, changes: int) -> str:
    """The SSE id of a position: ``E.C``, or ``E`` while no ticket has changed."""
    return str(events) if changes == 0 else f"{events}.{changes}"


def _last_event_id(request: Request) -> tuple[int, int] | None:
    """Last-Event-ID (sent by the browser's own reconnects) wins over ?last_event_id=."""
    raw = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
    if raw is None or raw == "":
        return None
    match = _STREAM_ID.fullmatch(raw.strip())
    if match is None:
        raise BadRequest("last event id must be an id this stream sent, like 12 or 12.3")
    return int(match.group(1)), int(match.group(2) or 0)


class Cursor:
    """The last event row and ticket activity entry sent on one stream."""

    def __init__(self) -> None:
        self.events = -1
        self.changes = -1

    @property
    def id(self) -> str:
        return stream_id(max(self.events, 0), max(self.changes, 0))

    def start(self, events: int, changes: int) -> None:
        self.events, self.changes = events, changes

    def advance(self, kind: str, item_id: int) -> bool:
        """Move past ``item_id``; False when it was already sent."""
        if kind == TICKET:
            if item_id <= self.changes:
                return False
            self.changes = item_id
            return True
        if item_id <= self.events:
            return False
        self.events = item_id
        return True


def _ticket_filter(request: Request) -> int | None:
    raw = request.query_params.get("ticket_id") or None
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > MAX_ID_DIGITS:
        raise BadRequest("ticket_id must be a positive whole number")
    return int(raw)


WIRE_IDS = 4  # encodings kept per item: subscribers' cursors almost always agree


def wire(
    item: LiveEvent | FunnelSnapshot | AlertsSnapshot, event: str, event_id: str | None = None
) -> bytes:
    """An item's SSE message, encoded once for all the streams it is offered to: with 500
    subscribers, encoding it per stream was a large part of the fan-out (a funnel
    snapshot is ~14 KiB). The bytes are those ``ServerSentEvent.encode`` makes."""
    key = event_id or ""
    encoded = item.wire.get(key)
    if encoded is None:
        encoded = ServerSentEvent(data=item.data, event=event, id=event_id).encode()
        if len(item.wire) < WIRE_IDS:
            item.wire[key] = encoded
    return encoded


class _Releasing(EventSourceResponse):
    """The stream's response, giving its slot back however it ends (a client gone, the
    server closing, an error)."""

    def __init__(self, *args: Any, release: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


def _window(request: Request, default: int) -> int:
    """?hours=: one of the fixed windows (stream_slots.WINDOWS, or OPS_WINDOW_HOURS), so
    the funnels computed for streams are bounded however many windows are asked."""
    hours = params.window_hours(request, default)
    allowed = sorted({*WINDOWS, default})
    if hours not in allowed:
        raise BadRequest(
            f"a stream follows one of these windows (hours): {', '.join(map(str, allowed))}"
        )
    return hours


@STREAM_QUERY
async def stream(request: Request) -> Response:
    state = app_state(request)
    user = principal(request).user
    host = request.client.host if request.client else None
    account = None if user is None else user.name
    try:
        session_id = params.optional_session_id(request.query_params.get("session_id"))
        ticket_id = _ticket_filter(request)
        filtered = session_id is not None or ticket_id is not None
        hours = None if filtered else _window(request, state.settings.window_hours)
        last_id = _last_event_id(request)
    except BadRequest as exc:
        auth_event(state.metrics, "stream_refused", host, account, reason=exc.message)
        raise
    desk_session = None if user is None else user.session_id
    deadline = monotonic_deadline(user, state.now_ms())
    broker = state.broker
    config = broker.config
    try:
        release = broker.slots.take(desk_session, None if user is None else user.account_id)
    except StreamRefused as refused:
        auth_event(state.metrics, "stream_refused", host, account, reason=refused.reason)
        return error(
            429,
            f"too many streams: {refused.reason}; try again once one has closed",
            {"Retry-After": "5"},
        )

    async def events() -> AsyncIterator[ServerSentEvent | bytes]:
        # Subscribing inside the generator: if the response never starts, nothing leaks.
        subscriber = broker.subscribe(
            session_id=session_id,
            ticket_id=ticket_id,
            hours=hours,
            desk_session=desk_session,
            deadline=deadline,
        )
        try:
            yield ServerSentEvent(comment="vm122 ops desk stream", retry=config.retry_ms)
            cursor = Cursor()
            async for event in _replay(state.db, config, subscriber, last_id, cursor):
                yield event
            while True:
                item = await subscriber.next()
                if item is None:
                    # Overflowed, logged out or expired, or the server is closing: the
                    # client resumes from its id (or is sent to log in).
                    yield ServerSentEvent(comment="stream closed: resume from your last id")
                    return
                if isinstance(item, FunnelSnapshot):
                    yield wire(item, FUNNEL)
                elif isinstance(item, AlertsSnapshot):
                    yield wire(item, ALERTS)
                elif cursor.advance(item.kind, item.id):
                    yield wire(item, item.kind, cursor.id)
        finally:
            broker.unsubscribe(subscriber)

    return _Releasing(
        events(),
        release=release,
        ping=config.heartbeat_seconds,
        ping_message_factory=lambda: ServerSentEvent(comment="heartbeat"),
        send_timeout=config.send_timeout,
    )


async def _replay(
    db: Database,
    config: StreamConfig,
    subscriber: Subscriber,
    last_id: tuple[int, int] | None,
    cursor: Cursor,
) -> AsyncIterator[ServerSentEvent]:
    """The stored events and ticket changes after ``last_id`` matching the filter, or
    one ``reset``."""
    head, changes_head = await db.read(ticket_work.stream_heads)
    reason = None
    if last_id is None:
        reason = "fresh"
    elif last_id[0] > head or last_id[1] > changes_head:
        reason = "unknown_id"  # the store was replaced: the client's id means nothing here
    elif (head - last_id[0]) + (changes_head - last_id[1]) > config.max_replay:
        reason = "gap"  # ids are dense, so this bounds the rows to replay
    if reason is not None:
        cursor.start(head, changes_head)
        body = orjson.dumps({"head": head, "reason": reason}).decode()
        yield ServerSentEvent(data=body, event=RESET, id=cursor.id)
        return
    assert last_id is not None
    cursor.start(*last_id)
    after = last_id[0]
    # Page until past the head read after subscribing: everything committed before the
    # subscription is then sent, and everything after it is in the subscriber's queue.
    for _ in range(config.max_replay // config.replay_page + 2):
        page = await db.read(stored.after, after, config.replay_page)
        for event in map(LiveEvent.of, page):
            cursor.advance(ONBOARD, event.id)
            if subscriber.wants(event):
                yield ServerSentEvent(data=event.data, event=ONBOARD, id=cursor.id)
        if page:
            after = page[-1].id
        if len(page) < config.replay_page or after >= head:
            break
    after = last_id[1]
    for _ in range(config.max_replay // config.replay_page + 2):
        changes = await db.read(ticket_work.changes_after, after, config.replay_page)
        for change in changes:
            for event in map(LiveEvent.of_change, change.messages()):
                cursor.advance(TICKET, event.id)
                if subscriber.wants(event):
                    yield ServerSentEvent(data=event.data, event=TICKET, id=cursor.id)
        if changes:
            after = changes[-1].entries[-1].id
        if len(changes) < config.replay_page or after >= changes_head:
            return
