"""GET /api/v1/onboard/breakdown and /api/v1/onboard/breakdown/trend: the funnel and the
trend split by a session property (vm122_ops/funnel/breakdowns.py, breakdown_trend.py)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from servicekit.contract import BREAKDOWNS
from servicekit.envelope import rendered
from servicekit.openapi import Param, Query, enum
from vm122_ops.app_state import app_state
from vm122_ops.errors import BadRequest
from vm122_ops.funnel import breakdown_trend, breakdowns, trend
from vm122_ops.funnel.rollups import Window
from vm122_ops.routes import params

BY = Param(
    "by",
    enum(BREAKDOWNS),
    "the property to split by: dns_mode, previous_provider, language or release",
    required=True,
)
TOP = Param(
    "top",
    {"type": "integer", "minimum": 1, "maximum": breakdowns.MAX_TOP},
    f"how many values to show by name (default {breakdowns.DEFAULT_TOP}); the rest are "
    "summed as other",
)
BREAKDOWN_QUERY = Query(params.HOURS, BY, TOP)
TREND_HOURS = Param(
    "hours",
    {"type": "integer", "minimum": 1, "maximum": trend.MAX_HOURS},
    "range in hours (default OPS_WINDOW_HOURS): per hour up to "
    f"{trend.HOURLY_UP_TO}, per day above",
)
BREAKDOWN_TREND_QUERY = Query(TREND_HOURS, BY, TOP)


def _by(request: Request) -> str:
    raw = request.query_params.get("by")
    if raw is None or raw not in BREAKDOWNS:
        raise BadRequest(f"by is required: one of {', '.join(BREAKDOWNS)}")
    return raw


def _top(request: Request) -> int:
    raw = request.query_params.get("top", str(breakdowns.DEFAULT_TOP))
    top = params.whole_number(raw, breakdowns.MAX_TOP)
    if top is None:
        raise BadRequest(f"top must be a whole number from 1 to {breakdowns.MAX_TOP}")
    return top


@BREAKDOWN_QUERY
async def breakdown(request: Request) -> Response:
    """The funnel of the window split by ``by``: the top values, other and unknown."""
    state = app_state(request)
    hours = params.window_hours(request, state.settings.window_hours)
    dimension, top = _by(request), _top(request)
    window = Window(hours=hours, now_ms=state.now_ms())
    body = await breakdowns.answer_text(state.db, state.memo, dimension, window, top)
    return rendered(body)


@BREAKDOWN_TREND_QUERY
async def breakdown_trend_split(request: Request) -> Response:
    """The trend split by ``by``: each group's periods (docs: the trend)."""
    state = app_state(request)
    raw = request.query_params.get("hours", str(state.settings.window_hours))
    hours = params.whole_number(raw, trend.MAX_HOURS)
    if hours is None:
        raise BadRequest(f"hours must be a whole number from 1 to {trend.MAX_HOURS}")
    dimension, top = _by(request), _top(request)
    body = await breakdown_trend.answer_text(
        state.db,
        state.memo,
        dimension,
        hours,
        top,
        state.now_ms(),
        state.settings.state_rule.abandon_hours,
    )
    return rendered(body)
