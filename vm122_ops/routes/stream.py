"""GET /api/v1/stream: the Desk's Server-Sent Events (docs/desk.md, "Stream protocol").

A stream subscribes first, then replays the stored events after the client's last id in
pages, then sends what the subscription queued meanwhile, skipping ids it has already
sent: the switch from replay to live loses and repeats nothing, because committed row ids
increase in commit order and the queue holds everything committed after subscribing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.requests import Request
from starlette.responses import Response

from vm122_ops import params, stored
from vm122_ops.broker import AlertsSnapshot, FunnelSnapshot, LiveEvent, StreamConfig, Subscriber
from vm122_ops.db import Database
from vm122_ops.errors import BadRequest
from vm122_ops.state import app_state

MAX_ID_DIGITS = 18
# The stream's event names (docs/desk.md; frontend/js/live.js listens to each).
ONBOARD, FUNNEL, RESET, ALERTS = "onboard", "funnel", "reset", "alerts"
EVENT_NAMES = (ONBOARD, FUNNEL, RESET, ALERTS)


def _last_event_id(request: Request) -> int | None:
    """Last-Event-ID (sent by the browser's own reconnects) wins over ?last_event_id=."""
    raw = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
    if raw is None or raw == "":
        return None
    raw = raw.strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > MAX_ID_DIGITS:
        raise BadRequest("last event id must be a whole number")
    return int(raw)


def _ticket_filter(request: Request) -> int | None:
    raw = request.query_params.get("ticket_id") or None
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > MAX_ID_DIGITS:
        raise BadRequest("ticket_id must be a positive whole number")
    return int(raw)


async def stream(request: Request) -> Response:
    state = app_state(request)
    session_id = params.optional_session_id(request.query_params.get("session_id"))
    ticket_id = _ticket_filter(request)
    filtered = session_id is not None or ticket_id is not None
    hours = None if filtered else params.window_hours(request, state.settings.window_hours)
    last_id = _last_event_id(request)
    broker = state.broker
    config = broker.config

    async def events() -> AsyncIterator[ServerSentEvent]:
        # Subscribing inside the generator: if the response never starts, nothing leaks.
        subscriber = broker.subscribe(session_id=session_id, ticket_id=ticket_id, hours=hours)
        try:
            yield ServerSentEvent(comment="vm122 ops desk stream", retry=config.retry_ms)
            cursor = -1
            async for event in _replay(state.db, config, subscriber, last_id):
                cursor = max(cursor, int(event.id or 0))
                yield event
            while True:
                item = await subscriber.next()
                if item is None:
                    # Overflowed (or the server is closing): the client resumes from its id.
                    yield ServerSentEvent(comment="stream closed: resume from your last id")
                    return
                if isinstance(item, FunnelSnapshot):
                    yield ServerSentEvent(data=item.data, event=FUNNEL)
                elif isinstance(item, AlertsSnapshot):
                    yield ServerSentEvent(data=item.data, event=ALERTS)
                elif item.id > cursor:
                    cursor = item.id
                    yield ServerSentEvent(data=item.data, event=ONBOARD, id=str(item.id))
        finally:
            broker.unsubscribe(subscriber)

    return EventSourceResponse(
        events(),
        ping=config.heartbeat_seconds,
        ping_message_factory=lambda: ServerSentEvent(comment="heartbeat"),
        send_timeout=config.send_timeout,
    )


async def _replay(
    db: Database, config: StreamConfig, subscriber: Subscriber, last_id: int | None
) -> AsyncIterator[ServerSentEvent]:
    """The stored events after ``last_id`` matching the filter, or one ``reset``."""
    head = await db.read(stored.head)
    reason = None
    if last_id is None:
        reason = "fresh"
    elif last_id > head:
        reason = "unknown_id"  # the store was replaced: the client's id means nothing here
    elif head - last_id > config.max_replay:
        reason = "gap"  # ids are dense, so this bounds the rows to replay
    if reason is not None:
        body = orjson.dumps({"head": head, "reason": reason}).decode()
        yield ServerSentEvent(data=body, event=RESET, id=str(head))
        return
    assert last_id is not None
    after = last_id
    # Page until past the head read after subscribing: everything committed before the
    # subscription is then sent, and everything after it is in the subscriber's queue.
    for _ in range(config.max_replay // config.replay_page + 2):
        page = await db.read(stored.after, after, config.replay_page)
        for event in map(LiveEvent.of, page):
            if subscriber.wants(event):
                yield ServerSentEvent(data=event.data, event=ONBOARD, id=str(event.id))
        if page:
            after = page[-1].id
        if len(page) < config.replay_page or after >= head:
            return
