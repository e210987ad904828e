"""GET /api/v1/onboard/funnel, its sessions, the failures and a session's timeline."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from servicekit.contract import BREAKDOWNS
from servicekit.envelope import ok, rendered
from servicekit.openapi import NO_QUERY, Param, Query, enum
from vm122_ops.app_state import app_state
from vm122_ops.errors import BadRequest, NotFound
from vm122_ops.funnel import breakdowns, cohort, trend
from vm122_ops.funnel import failures as failure_codes
from vm122_ops.funnel import mail_readiness as mail
from vm122_ops.funnel.failure_codes import MAX_CODE, requested_code
from vm122_ops.funnel.rollups import Window, read_paces
from vm122_ops.ingest import session_fold as sessions
from vm122_ops.ingest.events import STAGES
from vm122_ops.kept.cohort_answers import answer_page, answer_page_text
from vm122_ops.kept.funnel_basis import answer_funnel_text
from vm122_ops.routes import params
from vm122_ops.tickets import export

# The drill-down's failure code (vm122_ops/funnel/failure_codes.py): no control character, no
# surrounding space.
_CODE_PATTERN = r"^[^\s\x00-\x1f\x7f](?:[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?$"
FUNNEL_QUERY = Query(params.HOURS)
FAILURES_QUERY = Query(params.HOURS)
MAIL_QUERY = Query(params.HOURS)
# A breakdown group's value as GET /api/v1/onboard/breakdown names it: every value of
# every property matches (vm122_ops/funnel/breakdowns.py VALUES checks the property's own).
_VALUE_PATTERN = r"^[0-9A-Za-z.+-]{1,32}$"
COHORT_CSV_QUERY = Query(
    params.HOURS,
    Param(
        "state",
        enum(cohort.LISTED),
        "moving, stuck, abandoned, failed, completed or refused; or started: every session "
        "that reached the started stage, each in its own state (no stage)",
        required=True,
    ),
    Param("stage", enum(STAGES), "a funnel stage: the sessions that stopped there"),
    Param(
        "code",
        {"type": "string", "minLength": 1, "maxLength": MAX_CODE, "pattern": _CODE_PATTERN},
        "with state=failed: the sessions whose last failure had this code, as "
        "/api/v1/onboard/failures gives codes (`unspecified`: failures without one)",
    ),
    Param(
        "by",
        enum(BREAKDOWNS),
        "with value or group: a breakdown's property (as GET /api/v1/onboard/breakdown); "
        "then state is started, completed, failed or refused, without stage or code, and "
        "the list is that count of the breakdown's group",
    ),
    Param(
        "value",
        {"type": "string", "minLength": 1, "maxLength": 32, "pattern": _VALUE_PATTERN},
        "with by: the sessions whose property has this value (a group's `value` in the "
        "breakdown, named in its top or not)",
    ),
    Param(
        "group",
        enum(breakdowns.UNNAMED_GROUPS),
        "with by: `unknown`, the sessions without the property; `other`, those whose value "
        "is not among the breakdown's top values of the same window and top",
    ),
    Param(
        "top",
        {"type": "integer", "minimum": 1, "maximum": breakdowns.MAX_TOP},
        f"with group=other: the breakdown's top (default {breakdowns.DEFAULT_TOP})",
    ),
)
COHORT_QUERY = COHORT_CSV_QUERY + Query(params.LIMIT, params.CURSOR)
TREND_QUERY = Query(
    Param(
        "hours",
        {"type": "integer", "minimum": 1, "maximum": trend.MAX_HOURS},
        "range in hours (default OPS_WINDOW_HOURS): per hour up to "
        f"{trend.HOURLY_UP_TO}, per day above",
    )
)


@FUNNEL_QUERY
async def funnel(request: Request) -> Response:
    state = app_state(request)
    hours = params.window_hours(request, state.settings.window_hours)
    window = Window(hours=hours, now_ms=state.now_ms())
    with state.metrics.funnel_seconds.time():
        body = await answer_funnel_text(
            state.db, window, state.durations, state.memo, state.settings.state_rule
        )
    return rendered(body)


@COHORT_QUERY
async def funnel_sessions(request: Request) -> Response:
    """The funnel cohort's sessions that stopped at a stage in a state (the drill-down)."""
    state = app_state(request)
    asked = _cohort_request(request, paged=True)
    body = await answer_page_text(
        state.db,
        state.memo,
        state.durations,
        state.settings.state_rule,
        asked.hours,
        state.now_ms(),
        asked.filters,
        asked.limit,
        asked.before,
    )
    return rendered(body)


@COHORT_CSV_QUERY
async def funnel_sessions_csv(request: Request) -> Response:
    """The same list as CSV, every page (at most export.MAX_ROWS rows)."""
    state = app_state(request)
    asked = _cohort_request(request, paged=False)
    page = await answer_page(
        state.db,
        state.memo,
        state.durations,
        state.settings.state_rule,
        asked.hours,
        state.now_ms(),
        asked.filters,
        asked.limit,
        asked.before,
    )
    header = [
        "session_id",
        "domain",
        "stage",
        "state",
        "failed_step",
        "last_event_type",
        "last_event_at",
        "idle_seconds",
        "failure_code",
        "failure_reason",
        "ticket_id",
        "contact",
    ]
    # The CSV is a copy taken at one moment, never kept: it still says how long each
    # session has been idle (the JSON answers leave that to the Desk).
    rows = ({**i.document(), "idle_seconds": round(i.idle_ms / 1000, 3)} for i in page.items)
    return export.csv_response("funnel-sessions.csv", header, rows)


@dataclass(frozen=True, slots=True)
class _CohortRequest:
    hours: int
    filters: cohort.CohortFilter
    limit: int
    before: tuple[int, str] | None


def _cohort_request(request: Request, *, paged: bool) -> _CohortRequest:
    state = app_state(request)
    query = request.query_params
    hours = params.window_hours(request, state.settings.window_hours)
    stage = query.get("stage") or None
    if stage is not None and stage not in STAGES:
        raise BadRequest(f"stage must be one of {', '.join(STAGES)}")
    wanted = cohort.cohort_state(query.get("state"))
    code = query.get("code")
    if code is not None and wanted != "failed":
        raise BadRequest("code needs state=failed: only failed sessions have a failure code")
    if code is not None:
        code = requested_code(code)
    if wanted == "started" and stage is not None:
        raise BadRequest("state=started lists every stage: no stage")
    group = _group(request)
    if group is not None and wanted not in cohort.GROUP_STATES:
        raise BadRequest(
            "by lists a breakdown count: state must be started, completed, failed or refused"
        )
    if group is not None and (stage is not None or code is not None):
        raise BadRequest("by lists a breakdown count: no stage or code (every stage is in it)")
    limit = params.limit(request) if paged else export.MAX_ROWS
    before = cohort.decode_cursor(query["cursor"]) if query.get("cursor") else None
    filters = cohort.CohortFilter(state=wanted, stage=stage, code=code, group=group)
    return _CohortRequest(hours, filters, limit, before)


def _group(request: Request) -> breakdowns.GroupFilter | None:
    """?by= with ?value= or ?group= (and ?top= for other): a breakdown's group, as GET
    /api/v1/onboard/breakdown names it; None without them."""
    query = request.query_params
    by, value, group, raw_top = (query.get(name) for name in ("by", "value", "group", "top"))
    if by is None:
        if value is not None or group is not None:
            raise BadRequest(f"group and value need by=: one of {', '.join(BREAKDOWNS)}")
        if raw_top is not None:
            raise BadRequest("top needs by= and group=other")
        return None
    if by not in BREAKDOWNS:
        raise BadRequest(f"by must be one of {', '.join(BREAKDOWNS)}")
    if value is None and group is None:
        raise BadRequest("by needs value= (a named group) or group=other or group=unknown")
    if value is not None and group is not None:
        raise BadRequest("value and group name one group each: give one of them")
    if raw_top is not None and group != "other":
        raise BadRequest("top needs group=other: it says which values are the other ones")
    if value is not None:
        return breakdowns.GroupFilter(by, "value", breakdowns.requested_value(by, value))
    if group == "unknown":
        return breakdowns.GroupFilter(by, "unknown")
    if group != "other":
        raise BadRequest("group must be other or unknown (a named group is value=)")
    top = params.whole_number(raw_top or str(breakdowns.DEFAULT_TOP), breakdowns.MAX_TOP)
    if top is None:
        raise BadRequest(f"top must be a whole number from 1 to {breakdowns.MAX_TOP}")
    return breakdowns.GroupFilter(by, "other", top=top)


@NO_QUERY
async def paces(request: Request) -> Response:
    """GET /api/v1/onboard/paces: each step's usual pace (the p90 of the last 7 days) and
    the idle time after which a session waiting on it is stuck, and the abandonment time:
    what the stuck list says "why" with (docs/desk.md, "Stuck sessions")."""
    state = app_state(request)
    rule = state.settings.state_rule
    found = await read_paces(state.db, state.durations, state.now_ms(), rule)
    steps = [
        {
            "stage": STAGES[pace.stage],
            "to": STAGES[pace.stage + 1],
            "p90_seconds": None if pace.p90_ms is None else round(pace.p90_ms / 1000, 3),
            "stuck_after_seconds": pace.stuck_after_ms / 1000,
        }
        for pace in found
    ]
    return ok(steps=steps, abandon_after_seconds=rule.abandon_ms / 1000)


@TREND_QUERY
async def conversion_trend(request: Request) -> Response:
    """Conversion over time: entered, completed, failed per hour or day (docs: the trend)."""
    state = app_state(request)
    hours = _trend_hours(request)
    abandon_hours = state.settings.state_rule.abandon_hours
    body = await trend.answer_text(state.db, state.memo, hours, state.now_ms(), abandon_hours)
    return rendered(body)


@TREND_QUERY
async def conversion_trend_csv(request: Request) -> Response:
    """The trend's table as CSV: the JSON periods' fields, ``refused`` last
    (``trend.CSV_HEADER``)."""
    state = app_state(request)
    hours = _trend_hours(request)
    abandon_hours = state.settings.state_rule.abandon_hours
    body = await trend.answer_csv(state.db, state.memo, hours, state.now_ms(), abandon_hours)
    return export.csv_download("conversion-trend.csv", body)


def _trend_hours(request: Request) -> int:
    state = app_state(request)
    raw = request.query_params.get("hours", str(state.settings.window_hours))
    hours = params.whole_number(raw, trend.MAX_HOURS)
    if hours is None:
        raise BadRequest(f"hours must be a whole number from 1 to {trend.MAX_HOURS}")
    return hours


@FAILURES_QUERY
async def failures(request: Request) -> Response:
    """Failures in the window by the step that failed, then code (docs: the event contract)."""
    state = app_state(request)
    hours = params.window_hours(request, state.settings.window_hours)
    body = await failure_codes.answer_text(state.db, state.memo, hours, state.now_ms())
    return rendered(body)


@MAIL_QUERY
async def mail_readiness(request: Request) -> Response:
    """The window's completed sessions by whether their mail works
    (vm122_ops/funnel/mail_readiness.py)."""
    state = app_state(request)
    hours = params.window_hours(request, state.settings.window_hours)
    found = await state.db.read(mail.readiness, hours, state.now_ms())
    return ok(**found.document())


@NO_QUERY
async def session_timeline(request: Request) -> Response:
    session_id = params.session_id(request.path_params["session_id"])
    timeline = await app_state(request).db.read(sessions.timeline, session_id)
    if timeline is None:
        raise NotFound(f"no session {session_id}")
    return ok(**timeline.document())
