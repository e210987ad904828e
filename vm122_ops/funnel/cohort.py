"""The funnel cohort's sessions by where they stopped and in which state (the drill-down).

A funnel stage row counts the cohort's sessions that *stopped* at that stage, by state:

- **moving**, **stuck**, **abandoned**: active sessions whose furthest stage is that stage,
  classified by vm122_ops/funnel/session_states.py (idle time against the pace of the step they
  wait on);
- **failed**: failed sessions whose *failed step* is that stage (the step that failed,
  as the funnel's ``failed_by_step``: a failed account creation is on ``account_created``);
- **completed**: completed sessions (only on the ``completed`` row);
- **refused**: sessions whose attempts were all refused and that never got a domain
  validated (only on the ``started`` row): active in the store, but never moving, stuck
  or abandoned (vm122_ops/ingest/session_fold.py, ``SessionState.refused``).

A list may also be **started** (``LISTED``, every stage, no stage asked): every cohort
session that reached the started stage, whatever its state, each item in its own state;
its total is the funnel's ``stages.started``.

A breakdown group's list (``CohortFilter.group``: a value of a session property, the
other values or none, as GET /api/v1/onboard/breakdown names its groups) is one of the
counts the breakdown card shows (started, completed, failed, refused) over every stage: its total
is the split's count (vm122_ops/funnel/breakdowns.py, ``GroupMembers``) and its rows the
same walks as the state's, keeping the group's sessions.

The counts read the funnel's rollup cells (active and completed sessions per furthest
stage, failed sessions per failed step) and two range counts per stage on the partial
index of active sessions by (stage, last activity), bounded by the abandonment horizon:
abandoned is the stage's active sessions minus the other two. The lists walk the same
indexes newest activity first and stop at a page, so neither reads events.
"""

from __future__ import annotations

import base64
import binascii
import re
import sqlite3
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

import orjson

from servicekit.documents import fields_document
from vm122_ops.errors import BadRequest
from vm122_ops.funnel import breakdowns
from vm122_ops.funnel.failure_codes import UNSPECIFIED
from vm122_ops.funnel.failures import failure_reason
from vm122_ops.funnel.rollups import Window
from vm122_ops.funnel.session_states import StateRule, StepPace, step_paces, waiting_step
from vm122_ops.ingest.events import COMPLETED_STAGE, STAGES, format_ms
from vm122_ops.store import stored_events as stored
from vm122_ops.store.sql import QUERIES

HOUR_MS = 3_600_000
NO_STAGE = -1
CohortState = Literal["moving", "stuck", "abandoned", "failed", "completed", "refused"]
COHORT_STATES: tuple[CohortState, ...] = (
    "moving",
    "stuck",
    "abandoned",
    "failed",
    "completed",
    "refused",
)
ACTIVE_STATES = ("moving", "stuck", "abandoned")
# What a list may be asked for: a state, or every session that reached started.
Listed = Literal["moving", "stuck", "abandoned", "failed", "completed", "refused", "started"]
LISTED: tuple[Listed, ...] = (*COHORT_STATES, "started")
# The lists a breakdown group has: the breakdown card's counts.
GROUP_STATES: tuple[Listed, ...] = ("started", "completed", "failed", "refused")
# The statuses of the started list's walks ('active': moving, stuck, abandoned, refused).
_STARTED_STATUSES = ("active", "failed", "completed")
_FOREVER_MS = 1 << 62
_CURSOR = re.compile(r"^[0-9]{1,18}:[A-Za-z0-9_-]{1,128}\Z")
Cells = Counter[tuple[int, str]]  # (furthest stage, status) -> cohort sessions


@dataclass(frozen=True, slots=True)
class CohortWindow:
    """The funnel's cohort: sessions whose first event is in [since_ms, now_ms]."""

    since_ms: int
    now_ms: int

    @property
    def first_whole_hour(self) -> int:
        return -(-self.since_ms // HOUR_MS)


def _ranges(window: CohortWindow, pace: StepPace, rule: StateRule) -> dict[str, tuple[int, int]]:
    """Each active state's range of last-event times [since, until) in the cohort."""
    horizon = window.now_ms - rule.abandon_ms
    stuck_from = max(horizon, window.now_ms - pace.stuck_after_ms)
    return {
        "moving": (stuck_from, _FOREVER_MS),
        "stuck": (horizon, stuck_from),
        "abandoned": (window.since_ms, horizon),
    }


def cohort_cells(conn: sqlite3.Connection, window: CohortWindow) -> tuple[Cells, Counter[int]]:
    """The funnel's cells of the cohort and its failed sessions per failed step: the whole
    hours from the rollups, the partial first hour from the covering index."""
    hour = window.first_whole_hour
    cells: Cells = Counter()
    for row in conn.execute(QUERIES["rollup_since"], {"hour": hour}):
        cells[(row["stage"], row["status"])] += row["sessions"]
    partial = {"since": window.since_ms, "until": hour * HOUR_MS}
    for row in conn.execute(QUERIES["partial_hour"], partial):
        if row["kind"] == "stage":
            cells[(row["key"], row["value"])] += row["sessions"]
    failed: Counter[int] = Counter()
    for row in conn.execute(QUERIES["failed_steps_since"], {"hour": hour}):
        failed[row["step"]] += row["sessions"]
    for row in conn.execute(QUERIES["partial_hour_failed_steps"], partial):
        failed[row["step"]] += row["sessions"]
    return cells, failed


def stopped_counts(
    conn: sqlite3.Connection,
    window: CohortWindow,
    paces: tuple[StepPace, ...],
    rule: StateRule,
    cells: Cells,
    failed_steps: Counter[int],
) -> dict[str, dict[str, int]]:
    """Per furthest stage (``none``: no stage reached, then the funnel's stage keys), the
    cohort sessions that stopped there by state (see the module's docstring)."""

    def idle_count(stage: int | None, since: int, until: int) -> int:
        return _idle_count(conn, stage, since, until, window.since_ms)

    return stopped_from(window, paces, rule, cells, failed_steps, idle_count)


# How many active cohort sessions of a furthest stage (None: none) had their last event in
# [since, until): from SQL (stopped_counts) or from memory (vm122_ops/kept/funnel_basis.py).
IdleCount = Callable[[int | None, int, int], int]


def stopped_from(
    window: CohortWindow,
    paces: tuple[StepPace, ...],
    rule: StateRule,
    cells: Cells,
    failed_steps: Counter[int],
    idle_count: IdleCount,
) -> dict[str, dict[str, int]]:
    """``stopped_counts`` with the range counts from ``idle_count``."""
    counts: dict[str, dict[str, int]] = {}
    for index in (NO_STAGE, *range(len(STAGES))):
        row: dict[str, int] = {state: 0 for state in COHORT_STATES}
        if index < COMPLETED_STAGE:
            stage = None if index == NO_STAGE else index
            ranges = _ranges(window, paces[waiting_step(stage)], rule)
            for state in ("moving", "stuck"):
                since, until = ranges[state]
                row[state] = idle_count(stage, since, until) if since < until else 0
            active = cells[(index, "active")]
            row["abandoned"] = max(0, active - row["moving"] - row["stuck"])
        if index != NO_STAGE:
            row["failed"] = failed_steps[index]
        row["completed"] = cells[(index, "completed")]
        row["refused"] = cells[(index, "refused")]
        counts["none" if index == NO_STAGE else STAGES[index]] = row
    return counts


def _idle_count(
    conn: sqlite3.Connection, stage: int | None, since: int, until: int, cohort_since: int
) -> int:
    if since >= until:
        return 0
    params = {"stage": stage, "since": since, "until": until, "cohort_since": cohort_since}
    return int(conn.execute(QUERIES["cohort_idle_counts"], params).fetchone()["sessions"])


def cohort_state(raw: str | None) -> Listed:
    """?state=: one of LISTED, else a 400."""
    for state in LISTED:
        if raw == state:
            return state
    raise BadRequest(f"state must be one of {', '.join(LISTED)}")


@dataclass(frozen=True, slots=True)
class CohortFilter:
    state: Listed  # started: no stage, no code
    stage: str | None = None  # a funnel stage key; None: every stage
    # failed only: the code of the session's last failure (vm122_ops/funnel/failure_codes.py);
    # None: any
    code: str | None = None
    # GROUP_STATES only, no stage or code: the sessions of one group of a breakdown
    group: breakdowns.GroupFilter | None = None


@dataclass(frozen=True, slots=True)
class CohortSession:
    session_id: str
    domain: str
    stage: int | None  # furthest stage reached
    state: CohortState
    failed_step: int | None
    last_event_type: str
    last_event_at: int
    idle_ms: int
    failure_code: str | None
    failure_reason: str | None
    ticket_id: int | None
    contact: str | None = None  # who to contact (vm122_ops/tickets/contacts.py)
    refusal_code: str | None = None  # a refused session's (the newest refusal's) code

    def document(self) -> dict[str, Any]:
        """Every field but ``idle_ms`` (only the CSV, a copy taken at one moment, says
        it; the Desk computes idle time from ``last_event_at``), stages by name."""
        return fields_document(
            self,
            omit=("idle_ms",),
            stage=None if self.stage is None else STAGES[self.stage],
            failed_step=None if self.failed_step is None else STAGES[self.failed_step],
            last_event_at=format_ms(self.last_event_at),
        )


@dataclass(frozen=True, slots=True)
class CohortPage:
    window: CohortWindow
    last_event_id: int  # the newest event this answer includes
    total: int  # every session of the filter, on all pages
    items: list[CohortSession]
    next: str | None

    hours: int = 0  # the window asked for (the route sets it)

    def with_hours(self, hours: int) -> CohortPage:
        return replace(self, hours=hours)

    def document(self, hours: int) -> dict[str, Any]:
        return {
            "window_hours": hours,
            "since": format_ms(self.window.since_ms),
            "generated_at": format_ms(self.window.now_ms),
            "last_event_id": self.last_event_id,
            "total": self.total,
            "items": [item.document() for item in self.items],
            "next": self.next,
        }


def page(
    conn: sqlite3.Connection,
    window: CohortWindow,
    rule: StateRule,
    filters: CohortFilter,
    limit: int,
    before: tuple[int, str] | None = None,
) -> CohortPage:
    """Read function: one page of the cohort's sessions of ``filters``, newest activity
    first, after the cursor position ``before``, with the filter's total (all computed
    in this snapshot; vm122_ops/kept/cohort_answers.py answers the same from the funnel's kept
    basis)."""
    if filters.code is not None:
        return code_page(conn, window, filters, limit, before)
    if filters.group is not None:
        hours = (window.now_ms - window.since_ms) // HOUR_MS
        return group_page(conn, Window(hours, window.now_ms), rule, filters, limit, before)
    head = stored.head(conn)
    paces = step_paces(conn, window.now_ms, rule)
    cells, failed_steps = cohort_cells(conn, window)
    counts = stopped_counts(conn, window, paces, rule, cells, failed_steps)
    items, following = _page_items(conn, window, paces, rule, filters, limit, before)
    total = filter_total(counts, filters, breakdowns.started(cells))
    return CohortPage(window, head, total, items, following)


def code_page(
    conn: sqlite3.Connection,
    window: CohortWindow,
    filters: CohortFilter,
    limit: int,
    before: tuple[int, str] | None = None,
) -> CohortPage:
    """Read function: ``page`` for a failure code (``filters.code`` set, state failed).

    Its sessions are the cohort's failed sessions whose failed step is the stage (every
    step when none) and whose *last* failure had the code, kept on the session row: a
    session that failed twice with one code is one row, and one that failed with A then B
    is listed under B only (the failure card counts failure events instead). Each step is
    a range on onboard_sessions_failed_by_code, counted and walked newest first, so
    neither paces nor events are read."""
    assert filters.state == "failed" and filters.code is not None
    steps = range(len(STAGES)) if filters.stage is None else [STAGES.index(filters.stage)]
    before_at, before_id = before if before is not None else (None, None)
    cursor = {"before_at": before_at, "before_id": before_id, "limit": limit + 1}
    head = stored.head(conn)
    total = 0
    rows: list[sqlite3.Row] = []
    for step in steps:
        params = {"step": step, "code": filters.code, "cohort_since": window.since_ms}
        total += int(conn.execute(QUERIES["cohort_code_count"], params).fetchone()["sessions"])
        rows.extend(conn.execute(QUERIES["cohort_code_page"], {**params, **cursor}))
    items, following = _items(rows, lambda _: "failed", window.now_ms, limit)
    return CohortPage(window, head, total, items, following)


def group_page(
    conn: sqlite3.Connection,
    window: Window,
    rule: StateRule,
    filters: CohortFilter,
    limit: int,
    before: tuple[int, str] | None = None,
) -> CohortPage:
    """Read function: ``page`` for a breakdown group (``filters.group`` set): the split's
    basis and the page's rows in one snapshot (vm122_ops/kept/cohort_answers.py answers
    the same from the split's kept basis)."""
    assert filters.group is not None
    basis = breakdowns.read_basis(conn, filters.group.dimension, window)
    members = basis.members(window.now_ms, filters.group)
    span = CohortWindow(since_ms=window.since_ms, now_ms=window.now_ms)
    paces = step_paces(conn, window.now_ms, rule) if filters.state == "started" else ()
    items, following = _page_items(conn, span, paces, rule, filters, limit, before, members)
    total = members.count(filters.state)
    return CohortPage(span, basis.last_event_id, total, items, following)


def filter_total(counts: dict[str, dict[str, int]], filters: CohortFilter, started: int) -> int:
    """The sessions of ``filters`` among the stopped counts (all stages when no stage);
    for started, ``started``, the funnel's ``stages.started`` (the stopped counts cannot
    say it: a failed session is on the row of the step that failed, even one that reached
    no stage)."""
    if filters.state == "started":
        return started
    keys = list(counts) if filters.stage is None else [filters.stage]
    return sum(counts[key][filters.state] for key in keys)


def page_items(
    conn: sqlite3.Connection,
    window: CohortWindow,
    paces: tuple[StepPace, ...],
    rule: StateRule,
    filters: CohortFilter,
    limit: int,
    before: tuple[int, str] | None,
    last_event_id: int,
    members: breakdowns.GroupMembers | None = None,
) -> tuple[list[CohortSession], str | None] | None:
    """Read function: ``page``'s items and next cursor with the paces given (and a
    breakdown group's ``members``), when this snapshot's newest event is ``last_event_id``
    (the paces' and counts' own); else None."""
    if stored.head(conn) != last_event_id:
        return None
    return _page_items(conn, window, paces, rule, filters, limit, before, members)


def _page_items(
    conn: sqlite3.Connection,
    window: CohortWindow,
    paces: tuple[StepPace, ...],
    rule: StateRule,
    filters: CohortFilter,
    limit: int,
    before: tuple[int, str] | None,
    members: breakdowns.GroupMembers | None = None,
) -> tuple[list[CohortSession], str | None]:
    keys = [*STAGES] if filters.stage is None else [filters.stage]
    if filters.stage is None:
        keys.insert(0, "none")
    before_at, before_id = before if before is not None else (None, None)
    cursor = {"before_at": before_at, "before_id": before_id, "limit": limit + 1}
    cursor.update(_group_params(filters.group, members))
    rows: list[sqlite3.Row] = []
    if filters.state == "started":
        for status in _STARTED_STATUSES:
            params = {**cursor, "status": status, "step": None, "reached": 1}
            params["cohort_since"] = window.since_ms
            rows.extend(conn.execute(QUERIES["cohort_closed_page"], params))
        classify = _classifier(window, paces, rule)
        return _items(rows, classify, window.now_ms, limit)
    if filters.state in ACTIVE_STATES:
        for key in keys:
            if key == STAGES[COMPLETED_STAGE]:
                continue
            stage = None if key == "none" else STAGES.index(key)
            since, until = _ranges(window, paces[waiting_step(stage)], rule)[filters.state]
            if since >= until:
                continue
            params = {"stage": stage, "since": since, "until": until, **cursor}
            params["cohort_since"] = window.since_ms
            rows.extend(conn.execute(QUERIES["cohort_active_page"], params))
    elif filters.state == "refused":
        if filters.stage in (None, STAGES[0]):
            params = {"cohort_since": window.since_ms, **cursor}
            rows.extend(conn.execute(QUERIES["cohort_refused_page"], params))
    elif filters.state == "failed" or filters.stage in (None, STAGES[COMPLETED_STAGE]):
        step = None
        if filters.state == "failed" and filters.stage is not None:
            step = STAGES.index(filters.stage)
        params = {"status": filters.state, "step": step, "cohort_since": window.since_ms}
        rows.extend(conn.execute(QUERIES["cohort_closed_page"], {**params, **cursor}))
    state = filters.state
    return _items(rows, lambda _: state, window.now_ms, limit)


def _classifier(
    window: CohortWindow, paces: tuple[StepPace, ...], rule: StateRule
) -> Callable[[sqlite3.Row], CohortState]:
    """A row's own state, as the stopped counts classify it: its status when it ended,
    refused with a refusal code while active, else by its idle time against the pace of
    the step it waits on (``_ranges``)."""

    def state_of(row: sqlite3.Row) -> CohortState:
        status = row["status"]
        if status == "completed":
            return "completed"
        if status == "failed":
            return "failed"
        if row["refusal_code"] is not None:
            return "refused"
        stage = row["furthest_stage"]
        ranges = _ranges(window, paces[waiting_step(stage)], rule)
        for state in ("moving", "stuck"):
            since, until = ranges[state]
            if since <= row["last_event_at"] < until:
                return state
        return "abandoned"

    return state_of


def _group_params(
    group: breakdowns.GroupFilter | None, members: breakdowns.GroupMembers | None
) -> dict[str, Any]:
    """The closed and refused walks' group parameters (sql/ops/queries/cohort.sql)."""
    if group is None:
        return {"by": None, "values": "[]", "inside": 1, "reached": 0}
    assert members is not None
    values = orjson.dumps(list(members.values)).decode()
    found = {"by": group.dimension, "values": values, "inside": int(members.inside)}
    return {**found, "reached": 0}


def _items(
    rows: list[sqlite3.Row],
    state_of: Callable[[sqlite3.Row], CohortState],
    now_ms: int,
    limit: int,
) -> tuple[list[CohortSession], str | None]:
    """The page of ``rows`` (several steps' pages) newest first, each in its state, and
    its next cursor."""
    rows.sort(key=lambda row: (row["last_event_at"], row["session_id"]), reverse=True)
    items = [_session(row, state_of(row), now_ms) for row in rows[:limit]]
    following = None
    if len(rows) > limit:
        following = encode_cursor(items[-1].last_event_at, items[-1].session_id)
    return items, following


def _session(row: sqlite3.Row, state: CohortState, now_ms: int) -> CohortSession:
    code, reason = row["failure_code"], None
    if row["payload"] is not None:
        data = orjson.loads(row["payload"]).get("data")
        reason = failure_reason(data if isinstance(data, dict) else {})
    if code is None and row["status"] == "failed":
        code = UNSPECIFIED  # not stored before migration 0010 ran: its events were gone
    return CohortSession(
        session_id=row["session_id"],
        domain=row["domain"],
        stage=row["furthest_stage"],
        state=state,
        failed_step=row["failed_step"],
        last_event_type=row["last_event_type"],
        last_event_at=row["last_event_at"],
        idle_ms=max(0, now_ms - row["last_event_at"]),
        failure_code=code,
        failure_reason=reason,
        ticket_id=row["ticket_id"],
        contact=row["contact"],
        refusal_code=row["refusal_code"] if state == "refused" else None,
    )


def encode_cursor(last_event_at: int, session_id: str) -> str:
    raw = f"{last_event_at}:{session_id}".encode("ascii")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raw = ""
    if not _CURSOR.match(raw):
        raise BadRequest("cursor is not a cursor this server gave out")
    at, session_id = raw.split(":", 1)
    return int(at), session_id
