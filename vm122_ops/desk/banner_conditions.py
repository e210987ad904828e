"""What is wrong now: the conditions Ops can evaluate itself, for the Desk banner.

The same conditions as the Prometheus rules in deploy/prometheus/onboarding-rules.yml
that need only Ops' own figures, with the same thresholds: Ops exports its thresholds
(``ops_alert_threshold_*`` in /metrics) and the rules compare against those series, so
one setting changes both. The banner shows; it never notifies (Alertmanager does).

- ``portal_silent``: no onboarding.started for ``OPS_ALERT_SILENT_MINUTES`` (rule
  OnboardingPortalSilent, which also requires the Portal to be up).
- ``failure_spike``: failures over the last 15 minutes above ``OPS_ALERT_FAILURE_PERCENT``
  of the sessions started in them, with at least ``OPS_ALERT_MIN_SESSIONS`` started
  (OnboardingFailureRateHigh); or one code at one step with at least
  ``OPS_ALERT_CODE_FAILURES`` failures in 15 minutes, more than half of its last hour's
  (OnboardingFailureCodeSpike).
- ``stuck_sessions``: at least ``OPS_ALERT_STUCK_SESSIONS`` stuck sessions
  (OnboardingStuckSessions; states.py says what stuck means).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from vm122_ops.funnel.health import FunnelHealth, read_funnel_health
from vm122_ops.funnel.rollups import DurationCache, read_paces
from vm122_ops.funnel.session_states import StateRule, StepPace, classify, waiting_step
from vm122_ops.ingest.events import STAGES, format_ms
from vm122_ops.store.sql import QUERIES

if TYPE_CHECKING:
    from vm122_ops.store.db import Database

Kind = Literal["portal_silent", "failure_spike", "stuck_sessions"]
SPIKE_WINDOW = 15
HOUR_WINDOW = 60
MAX_LINKED = 10  # sessions linked from one banner line


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The banner's and the rules' thresholds (OPS_ALERT_*; docs/observability.md)."""

    silent_minutes: int = 30
    failure_percent: int = 50
    min_sessions: int = 5
    code_failures: int = 5
    stuck_sessions: int = 5


@dataclass(frozen=True, slots=True)
class LinkedSession:
    session_id: str
    domain: str
    stage: str | None
    last_event_at: int


@dataclass(frozen=True, slots=True)
class Condition:
    kind: Kind
    figures: dict[str, Any]  # the numbers the banner's sentence quotes
    sessions: tuple[LinkedSession, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "figures": self.figures,
            "sessions": [
                {
                    "session_id": s.session_id,
                    "domain": s.domain,
                    "stage": s.stage,
                    "last_event_at": format_ms(s.last_event_at),
                }
                for s in self.sessions
            ],
        }


def failure_spike(health: FunnelHealth, thresholds: Thresholds) -> dict[str, Any] | None:
    """The figures of a failure spike, or None when there is none."""
    window = health.activity.window(SPIKE_WINDOW)
    hour = health.activity.window(HOUR_WINDOW)
    ratio = window.failure_ratio
    rate_high = (
        ratio is not None
        and window.started >= thresholds.min_sessions
        and ratio > thresholds.failure_percent / 100
    )
    cells = sorted(
        (-n, step, code)
        for (step, code), n in window.failures.items()
        if n >= thresholds.code_failures and n > 0.5 * hour.failures[(step, code)]
    )
    spiking = [{"step": STAGES[step], "code": code, "failures": -n} for n, step, code in cells]
    if not rate_high and not spiking:
        return None
    return {
        "minutes": SPIKE_WINDOW,
        "failed": window.failed,
        "started": window.started,
        "percent": None if ratio is None else round(ratio * 100),
        "codes": spiking,
    }


def evaluate(
    conn: sqlite3.Connection,
    health: FunnelHealth,
    thresholds: Thresholds,
    rule: StateRule,
) -> tuple[Condition, ...]:
    """Read function (run it with ``db.read``): the conditions that hold, with the
    sessions concerned."""
    now_ms = health.activity.now_ms
    found = []
    silent_for = health.activity.seconds_since("onboarding.started")
    if silent_for is not None and silent_for > thresholds.silent_minutes * 60:
        found.append(
            Condition(
                kind="portal_silent",
                figures={
                    "minutes": int(silent_for // 60),
                    "threshold_minutes": thresholds.silent_minutes,
                },
                sessions=_latest_started(conn),
            )
        )
    spike = failure_spike(health, thresholds)
    if spike is not None:
        since = now_ms - SPIKE_WINDOW * 60_000
        found.append(
            Condition(
                kind="failure_spike",
                figures=spike,
                sessions=_sessions(conn, "recent_failed_sessions", {"since": since}),
            )
        )
    stuck = health.states.total("stuck")
    if stuck >= thresholds.stuck_sessions:
        found.append(
            Condition(
                kind="stuck_sessions",
                figures={"stuck": stuck, "threshold": thresholds.stuck_sessions},
                sessions=_stuck_sessions(conn, now_ms, health.states.paces, rule),
            )
        )
    return tuple(found)


def _latest_started(conn: sqlite3.Connection) -> tuple[LinkedSession, ...]:
    return _sessions(conn, "latest_started_session", {})[:1]


def _sessions(
    conn: sqlite3.Connection, name: str, params: dict[str, Any]
) -> tuple[LinkedSession, ...]:
    rows = conn.execute(QUERIES[name], {**params, "limit": MAX_LINKED}).fetchall()
    return tuple(_linked(row) for row in rows)


def _linked(row: sqlite3.Row) -> LinkedSession:
    stage = row["furthest_stage"]
    return LinkedSession(
        session_id=row["session_id"],
        domain=row["domain"],
        stage=None if stage is None else STAGES[stage],
        last_event_at=row["last_event_at"],
    )


def _stuck_sessions(
    conn: sqlite3.Connection,
    now_ms: int,
    paces: tuple[StepPace, ...],
    rule: StateRule,
) -> tuple[LinkedSession, ...]:
    """The longest-idle stuck sessions (not abandoned), at most MAX_LINKED."""
    params = {
        "since": now_ms - rule.abandon_ms,
        "until": now_ms - rule.stuck_min_ms,
        "limit": 500,
    }
    linked = []
    for row in conn.execute(QUERIES["idle_active_sessions"], params):
        session = _linked(row)
        stage = None if session.stage is None else STAGES.index(session.stage)
        idle = now_ms - session.last_event_at
        if classify(idle, paces[waiting_step(stage)], rule) == "stuck":
            linked.append(session)
            if len(linked) == MAX_LINKED:
                break
    return tuple(linked)


def current(
    conn: sqlite3.Connection,
    now_ms: int,
    thresholds: Thresholds,
    rule: StateRule,
    paces: tuple[StepPace, ...] | None = None,
) -> tuple[Condition, ...]:
    """Read function (run it with ``db.read``): the conditions that hold now; ``paces`` as
    for states.state_counts."""
    health = read_funnel_health(conn, now_ms, rule, paces)
    return evaluate(conn, health, thresholds, rule)


async def read(
    db: Database,
    now_ms: int,
    thresholds: Thresholds,
    rule: StateRule,
    cache: DurationCache | None = None,
) -> dict[str, Any]:
    """The banner's document now (GET /api/v1/desk/alerts and the stream); the steps'
    paces from ``cache`` (the funnel's duration cache) when given."""
    paces = None if cache is None else await read_paces(db, cache, now_ms, rule)
    return document(await db.read(current, now_ms, thresholds, rule, paces), now_ms)


def document(conditions: tuple[Condition, ...], now_ms: int) -> dict[str, Any]:
    """GET /api/v1/desk/alerts and the stream's ``alerts`` event (without ``ok``)."""
    return {
        "generated_at": format_ms(now_ms),
        "conditions": [condition.to_json() for condition in conditions],
    }
