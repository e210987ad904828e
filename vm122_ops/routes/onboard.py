"""GET /api/v1/onboard/funnel, /failures and /sessions/{session_id}/timeline."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from servicekit.envelope import ok
from vm122_ops import failures as failure_codes
from vm122_ops.errors import BadRequest, NotFound
from vm122_ops.events import SESSION_ID, format_ms
from vm122_ops.funnel import Window, compute_funnel
from vm122_ops.sessions import SessionState
from vm122_ops.state import app_state

MAX_WINDOW_HOURS = 720
HOUR_MS = 3_600_000


def window_hours(request: Request, default: int) -> int:
    raw = request.query_params.get("hours")
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_WINDOW_HOURS:
        raise BadRequest(f"hours must be a whole number from 1 to {MAX_WINDOW_HOURS}")
    return int(raw)


async def funnel(request: Request) -> Response:
    state = app_state(request)
    window = Window(hours=window_hours(request, state.settings.window_hours), now_ms=state.now_ms())
    with state.metrics.funnel_seconds.time():
        async with state.db.read() as conn:
            document = await compute_funnel(conn, state.db.queries, window, state.durations)
    return ok(**{k: v for k, v in document.items() if k != "ok"})


async def failures(request: Request) -> Response:
    """Failures in the window by the step that failed, then code (docs: the event contract)."""
    state = app_state(request)
    now_ms = state.now_ms()
    hours = window_hours(request, state.settings.window_hours)
    table = await state.db.read_fn(
        failure_codes.failures_since, state.db.queries, now_ms - hours * HOUR_MS
    )
    return ok(
        window_hours=hours,
        since=format_ms(table.since_ms),
        generated_at=format_ms(now_ms),
        total=table.total,
        stages={step: [code.to_json() for code in codes] for step, codes in table.by_step.items()},
    )


async def session_timeline(request: Request) -> Response:
    state = app_state(request)
    session_id = request.path_params["session_id"]
    if not SESSION_ID.match(session_id):
        raise BadRequest("session_id must be 1-128 characters of A-Z a-z 0-9 _ -")
    queries = state.db.queries
    async with state.db.read() as conn:
        async with conn.execute(queries["get_session"], {"session_id": session_id}) as cursor:
            row = await cursor.fetchone()
        if row is None:
            raise NotFound(f"no session {session_id}")
        async with conn.execute(queries["session_events"], {"session_id": session_id}) as cursor:
            events = [timeline_event(r) for r in await cursor.fetchall()]
    session = SessionState.from_row(row)
    return ok(
        session_id=session_id,
        domain=session.domain,
        status=session.status,
        stage=session.stage_name,
        events=events,
    )


def timeline_event(row: Any) -> dict[str, Any]:
    event_row, event_type, occurred_at, received_at, payload = row
    return {
        "id": event_row,
        "event_type": event_type,
        "occurred_at": format_ms(occurred_at),
        "received_at": format_ms(received_at),
        "data": orjson.loads(payload).get("data", {}),
    }
