"""Failures by the step that failed and their code, counted at ingest per hour.

The step that failed is the failure event's ``stage`` (the stage that step would have
reached, a name from events.STAGES), or, when absent or unknown, the step after the
furthest stage the session had reached by the failure's time. The code is the event's
``code`` as vm122_ops/funnel/failure_codes.py labels it (``carbonio:account.DOMAIN_EXISTS``,
``cloudflare:81054``...; ``unspecified`` when absent). Each stored onboarding.failed adds one to its
(hour, step, code) cell of ``failure_rollup``, which also keeps the newest failure's time
and reason, so reading the failures of a window costs its hours times its codes, never
its events.

The answer's JSON is kept in the memo (vm122_ops/kept/memo.py) per window length while
the database is the same and until the window's first hour moves (``answer_text``): the
table is the same for every millisecond of an hour, so the kept answer is the table at
the millisecond it was computed, its ``generated_at``.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING

from servicekit.envelope import ok_body
from servicekit.sqlfiles import Queries
from vm122_ops.funnel.failure_codes import UNSPECIFIED, failure_code
from vm122_ops.ingest.events import STAGES, Event, format_ms
from vm122_ops.ingest.session_fold import SessionState, named_stage, step_after
from vm122_ops.kept.memo import Memo
from vm122_ops.store.sql import QUERIES

if TYPE_CHECKING:
    from vm122_ops.store.db import Database

__all__ = ["UNSPECIFIED", "failure_code"]  # the labels, from vm122_ops/funnel/failure_codes.py

HOUR_MS = 3_600_000
MAX_REASON = 500


def failure_reason(data: dict[str, object]) -> str:
    reason = data.get("reason")
    return reason.strip()[:MAX_REASON] if isinstance(reason, str) else ""


def failed_step(event: Event, session: SessionState) -> int:
    """The step that failed: the event's ``stage``, else the one after the furthest
    stage the session had reached by the failure's time, among the events stored when
    it arrives (``session`` includes it). A session's own failed step (sessions.py) is
    recomputed as its events arrive; a failure's cell here is fixed at its arrival."""
    named = named_stage(event)
    return step_after(session.stage_at, event.occurred_at) if named is None else named


def record(conn: sqlite3.Connection, queries: Queries, event: Event, step: int) -> None:
    """Count one stored onboarding.failed (runs in the ingest unit of work)."""
    code = failure_code(event.data)
    conn.execute(
        queries["bump_failure"],
        {
            "hour": event.occurred_at // HOUR_MS,
            "step": step,
            "code": code,
            "at": event.occurred_at,
            "reason": failure_reason(event.data),
        },
    )


@dataclass(frozen=True, slots=True)
class FailureCode:
    """One code's failures at one step within a window."""

    code: str
    count: int
    last_seen_ms: int
    example_reason: str

    def to_json(self) -> dict[str, object]:
        return {
            "code": self.code,
            "count": self.count,
            "last_seen": format_ms(self.last_seen_ms),
            "example_reason": self.example_reason,
        }


@dataclass(frozen=True, slots=True)
class FailureTable:
    """Failures since ``since_ms`` (whole hours: the hour ``since_ms`` falls in counts
    whole), by step name, each step's codes most frequent first."""

    since_ms: int
    by_step: dict[str, tuple[FailureCode, ...]]

    @property
    def total(self) -> int:
        return sum(code.count for codes in self.by_step.values() for code in codes)

    def document(self, hours: int, now_ms: int) -> dict[str, object]:
        """GET /api/v1/onboard/failures' fields for a window of ``hours`` ending now."""
        return {
            "window_hours": hours,
            "since": format_ms(self.since_ms),
            "generated_at": format_ms(now_ms),
            "total": self.total,
            "stages": {
                step: [code.to_json() for code in codes] for step, codes in self.by_step.items()
            },
        }


def failures_since(conn: sqlite3.Connection, since_ms: int) -> FailureTable:
    """Read function (run it with ``db.read``): the window's failures."""
    hour = since_ms // HOUR_MS
    by_step: dict[str, list[FailureCode]] = {stage: [] for stage in STAGES}
    for row in conn.execute(QUERIES["failures_since"], {"hour": hour}):
        by_step[STAGES[row["step"]]].append(
            FailureCode(
                code=row["code"],
                count=int(row["failures"]),
                last_seen_ms=int(row["last_seen"]),
                example_reason=row["example_reason"],
            )
        )
    return FailureTable(
        since_ms=hour * HOUR_MS,
        by_step={step: tuple(codes) for step, codes in by_step.items()},
    )


async def answer_text(db: Database, memo: Memo, hours: int, now_ms: int) -> bytes:
    """GET /api/v1/onboard/failures' answer for a window of ``hours`` ending at ``now_ms``,
    as the JSON the API sends: kept per ``hours`` while the database is the same and the
    window starts in the same hour (its stamp), so every request of that stretch gets the
    answer computed at its first one's millisecond (``generated_at``)."""
    since_ms = now_ms - hours * HOUR_MS
    stamp = db.data_version()

    async def body() -> bytes:
        table = await db.read(failures_since, since_ms)
        return ok_body(**table.document(hours, now_ms))

    return await memo.get(
        ("failures", hours),
        None if stamp is None else (stamp, since_ms // HOUR_MS),
        body,
    )
