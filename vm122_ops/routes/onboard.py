"""GET /api/v1/onboard/funnel and /api/v1/onboard/sessions/{session_id}/timeline."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from servicekit.envelope import ok
from vm122_ops import failures as failure_codes
from vm122_ops import params, sessions
from vm122_ops.errors import NotFound
from vm122_ops.funnel import HOUR_MS, Window, read_funnel
from vm122_ops.state import app_state


async def funnel(request: Request) -> Response:
    state = app_state(request)
    hours = params.window_hours(request, state.settings.window_hours)
    window = Window(hours=hours, now_ms=state.now_ms())
    with state.metrics.funnel_seconds.time():
        found = await read_funnel(state.db, window, state.durations, state.settings.state_rule)
    return ok(**found.document())


async def failures(request: Request) -> Response:
    """Failures in the window by the step that failed, then code (docs: the event contract)."""
    state = app_state(request)
    now_ms = state.now_ms()
    hours = params.window_hours(request, state.settings.window_hours)
    table = await state.db.read(failure_codes.failures_since, now_ms - hours * HOUR_MS)
    return ok(**table.document(hours, now_ms))


async def session_timeline(request: Request) -> Response:
    session_id = params.session_id(request.path_params["session_id"])
    timeline = await app_state(request).db.read(sessions.timeline, session_id)
    if timeline is None:
        raise NotFound(f"no session {session_id}")
    return ok(**timeline.document())
