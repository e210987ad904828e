"""GET /api/v1/desk/alerts: what is wrong now, as the Desk banner shows it (alerts.py)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from servicekit.envelope import ok
from servicekit.openapi import NO_QUERY
from vm122_ops.app_state import app_state
from vm122_ops.desk import banner_conditions as alerts


@NO_QUERY
async def current_alerts(request: Request) -> Response:
    state = app_state(request)
    settings = state.settings
    document = await alerts.read(
        state.db, state.now_ms(), settings.thresholds, settings.state_rule, state.durations
    )
    return ok(**document)
