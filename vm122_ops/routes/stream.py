"""GET /api/v1/stream: the Desk's Server-Sent Events (docs/desk.md, "Stream protocol").

A stream subscribes first, then replays the stored events after the client's last id in
pages, then sends what the subscription queued meanwhile, skipping ids it has already
sent: the switch from replay to live loses and repeats nothing, because committed row ids
increase in commit order and the queue holds everything committed after subscribing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.requests import Request
from starlette.responses import Response

from vm122_ops.broker import FunnelSnapshot, StreamConfig, Subscriber
from vm122_ops.db import Database
from vm122_ops.errors import BadRequest
from vm122_ops.events import SESSION_ID, STAGES, format_ms
from vm122_ops.routes.onboard import window_hours
from vm122_ops.state import app_state

MAX_ID_DIGITS = 18
# The stream's event names (docs/desk.md; frontend/js/live.js listens to each).
ONBOARD, FUNNEL, RESET = "onboard", "funnel", "reset"
EVENT_NAMES = (ONBOARD, FUNNEL, RESET)


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
    session_id = request.query_params.get("session_id") or None
    if session_id is not None and not SESSION_ID.match(session_id):
        raise BadRequest("session_id must be 1-128 characters of A-Z a-z 0-9 _ -")
    ticket_id = _ticket_filter(request)
    filtered = session_id is not None or ticket_id is not None
    hours = None if filtered else window_hours(request, state.settings.window_hours)
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
    async with db.read() as conn, conn.execute(db.queries["max_event_row"]) as cursor:
        row = await cursor.fetchone()
    head = int(row[0]) if row else 0
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
        params = {"after_id": after, "limit": config.replay_page}
        async with db.read() as conn, conn.execute(db.queries["events_after"], params) as cur:
            rows = list(await cur.fetchall())
        for row in rows:
            message = replay_message(row)
            if not subscriber.matches(message["session_id"], message["ticket_id"]):
                continue
            yield ServerSentEvent(
                data=orjson.dumps(message).decode(), event=ONBOARD, id=str(message["id"])
            )
        if rows:
            after = int(rows[-1]["id"])
        if len(rows) < config.replay_page or after >= head:
            return


def replay_message(row: Any) -> dict[str, Any]:
    """An events_after row in the shape of IngestResult.live_message()."""
    data = orjson.loads(row["payload"]).get("data", {})
    domain = data.get("domain") if isinstance(data, dict) else None
    stage = row["furthest_stage"]
    return {
        "id": row["id"],
        "session_id": row["session_id"],
        "domain": domain.strip() if isinstance(domain, str) else row["domain"],
        "event_type": row["event_type"],
        "occurred_at": format_ms(row["occurred_at"]),
        "data": data,
        "stage": None if stage is None else STAGES[stage],
        "status": row["status"],
        "ticket_id": row["ticket_id"],
    }
