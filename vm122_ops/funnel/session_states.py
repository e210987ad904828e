"""Session states: is an active onboarding moving, stuck or abandoned?

An *active* session is neither completed nor failed. Its idle time is now minus its
newest event's time, and its step is the one after its furthest stage (a session that
reached dns_applied waits on account creation). Then, in this order:

- **abandoned** when idle longer than ``OPS_ABANDON_HOURS`` (default 24 h);
- **stuck** when idle longer than the usual pace of its step: the p90 of that step's
  time-to-convert over the last 7 days (the funnel's duration histograms, whole hours),
  never less than ``OPS_STUCK_MIN_MINUTES`` (default 15); a step with no completed
  sample in 7 days uses the minimum;
- **moving** otherwise.

Counting the states per stage reads no events: the active sessions per stage are a
rollup kept at ingest (``active_by_stage``), the moving and stuck ones are range counts on
a partial index of active sessions by (stage, last activity), bounded by the activity of
the last ``OPS_ABANDON_HOURS``, and the abandoned ones are the difference.
docs/desk.md ("Session states") says the same for the Desk's users.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from servicekit.sqlfiles import Queries
from vm122_ops.funnel.durations import percentile
from vm122_ops.ingest.events import COMPLETED_STAGE, STAGES
from vm122_ops.ingest.session_fold import SessionState
from vm122_ops.store.sql import QUERIES

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
PACE_DAYS = 7
PACE_FRACTION = 0.9
State = Literal["moving", "stuck", "abandoned"]
STATES: tuple[State, ...] = ("moving", "stuck", "abandoned")
_FOREVER_MS = 1 << 62


@dataclass(frozen=True, slots=True)
class StateRule:
    """The two settings of the rule (OPS_STUCK_MIN_MINUTES, OPS_ABANDON_HOURS)."""

    stuck_min_minutes: int = 15
    abandon_hours: int = 24

    @property
    def stuck_min_ms(self) -> int:
        return self.stuck_min_minutes * MINUTE_MS

    @property
    def abandon_ms(self) -> int:
        return self.abandon_hours * HOUR_MS


@dataclass(frozen=True, slots=True)
class StepPace:
    """The usual pace of the step out of ``stage`` and the idle time that makes stuck."""

    stage: int  # the furthest stage reached (0..4); the step leads to stage + 1
    p90_ms: float | None  # None: no session completed the step in the last 7 days
    stuck_after_ms: int


def waiting_step(furthest_stage: int | None) -> int:
    """The step (by the stage it leaves) an active session waits on."""
    return 0 if furthest_stage is None else min(furthest_stage, COMPLETED_STAGE - 1)


def classify(idle_ms: int, pace: StepPace, rule: StateRule) -> State:
    if idle_ms > rule.abandon_ms:
        return "abandoned"
    if idle_ms > pace.stuck_after_ms:
        return "stuck"
    return "moving"


def pace_hour(now_ms: int) -> int:
    """The first whole hour of the last PACE_DAYS days: the paces' histograms start there."""
    return -(-(now_ms - PACE_DAYS * 24 * HOUR_MS) // HOUR_MS)


def paces_from(
    histograms: Mapping[int, Mapping[int, int]], rule: StateRule
) -> tuple[StepPace, ...]:
    """Each step's pace from its duration histogram ({step: {bucket: sessions}}) since
    ``pace_hour``; the funnel passes the ones its duration cache keeps."""
    paces = []
    for stage in range(COMPLETED_STAGE):
        p90 = percentile(dict(histograms.get(stage, {})), PACE_FRACTION)
        stuck_after = rule.stuck_min_ms if p90 is None else max(rule.stuck_min_ms, round(p90))
        paces.append(StepPace(stage=stage, p90_ms=p90, stuck_after_ms=stuck_after))
    return tuple(paces)


def step_paces(conn: sqlite3.Connection, now_ms: int, rule: StateRule) -> tuple[StepPace, ...]:
    """Read function: the pace of each step (indexed by the stage it leaves, 0..4)."""
    hour = pace_hour(now_ms)
    histograms: dict[int, Counter[int]] = {}
    for stage in range(COMPLETED_STAGE):
        histogram: Counter[int] = Counter()
        for row in conn.execute(QUERIES["step_durations_since"], {"hour": hour, "step": stage}):
            histogram[int(row["bucket"])] += int(row["sessions"])
        histograms[stage] = histogram
    return paces_from(histograms, rule)


def state_of(
    furthest_stage: int | None,
    last_event_at: int,
    now_ms: int,
    paces: tuple[StepPace, ...],
    rule: StateRule,
) -> tuple[State, int]:
    """An active session's state and idle time (ms) from its stage and last event."""
    idle = max(0, now_ms - last_event_at)
    return classify(idle, paces[waiting_step(furthest_stage)], rule), idle


def session_state(
    session: SessionState, now_ms: int, paces: tuple[StepPace, ...], rule: StateRule
) -> State | None:
    """An active session's state; None for a completed, failed or refused one."""
    if session.shown_status != "active":
        return None
    pace = paces[waiting_step(session.furthest_stage)]
    return classify(max(0, now_ms - session.last_event_at), pace, rule)


@dataclass(frozen=True, slots=True)
class StageStates:
    """Active sessions whose furthest stage is ``stage`` (None: none reached), by state."""

    stage: str | None
    moving: int
    stuck: int
    abandoned: int

    def count(self, state: State) -> int:
        return {"moving": self.moving, "stuck": self.stuck, "abandoned": self.abandoned}[state]


@dataclass(frozen=True, slots=True)
class StateCounts:
    now_ms: int
    paces: tuple[StepPace, ...]
    stages: tuple[StageStates, ...]  # every stage an active session can be at, in order

    def total(self, state: State) -> int:
        return sum(stage.count(state) for stage in self.stages)


def state_counts(
    conn: sqlite3.Connection,
    now_ms: int,
    rule: StateRule,
    paces: tuple[StepPace, ...] | None = None,
) -> StateCounts:
    """Read function (run it with ``db.read``): active sessions by furthest stage and state.
    ``paces``: the steps' paces when the caller has them (from the funnel's duration cache,
    ``funnel.pace_histograms``); read from SQL otherwise."""
    if paces is None:
        paces = step_paces(conn, now_ms, rule)
    active = {
        int(row["stage"]): int(row["sessions"]) for row in conn.execute(QUERIES["active_by_stage"])
    }
    stages = []
    for index in (-1, *range(COMPLETED_STAGE)):
        stage = None if index < 0 else index
        pace = paces[waiting_step(stage)]
        horizon = now_ms - rule.abandon_ms
        stuck_from = max(horizon, now_ms - pace.stuck_after_ms)
        moving = _idle_count(conn, stage, stuck_from, _FOREVER_MS)
        stuck = _idle_count(conn, stage, horizon, stuck_from)
        abandoned = max(0, active.get(index, 0) - moving - stuck)
        stages.append(
            StageStates(
                stage=None if stage is None else STAGES[stage],
                moving=moving,
                stuck=stuck,
                abandoned=abandoned,
            )
        )
    return StateCounts(now_ms=now_ms, paces=paces, stages=tuple(stages))


def _idle_count(conn: sqlite3.Connection, stage: int | None, since: int, until: int) -> int:
    if since >= until:
        return 0
    params = {"stage": stage, "since": since, "until": until}
    return int(conn.execute(QUERIES["idle_counts"], params).fetchone()["sessions"])


def move_contributions(
    conn: sqlite3.Connection, queries: Queries, old: SessionState | None, new: SessionState
) -> None:
    """Keep ``active_by_stage`` when a session's status or stage changes (ingest)."""
    before = _active_key(old)
    after = _active_key(new)
    if before == after:
        return
    if before is not None and after is not None:  # one statement for the usual move
        conn.execute(queries["move_active_stage"], {"old_stage": before, "stage": after})
    elif before is not None:
        conn.execute(queries["bump_active_stage"], {"stage": before, "delta": -1})
    elif after is not None:
        conn.execute(queries["bump_active_stage"], {"stage": after, "delta": 1})


def _active_key(state: SessionState | None) -> int | None:
    if state is None or state.shown_status != "active":  # a refused session is apart
        return None
    return -1 if state.furthest_stage is None else state.furthest_stage
