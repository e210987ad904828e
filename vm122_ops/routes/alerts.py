"""GET /api/v1/desk/alerts: what is wrong now, as the Desk banner shows it (alerts.py)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from servicekit.envelope import ok
from vm122_ops import alerts
from vm122_ops.state import AppState, app_state


async def read_alerts(state: AppState) -> dict[str, Any]:
    """The banner's document now (shared by the route and the Desk stream)."""
    settings = state.settings
    now_ms = state.now_ms()
    conditions = await state.db.read(
        alerts.current,
        now_ms,
        settings.thresholds,
        settings.state_rule,
    )
    return alerts.document(conditions, now_ms)


async def current_alerts(request: Request) -> Response:
    return ok(**await read_alerts(app_state(request)))
