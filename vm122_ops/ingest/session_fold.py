"""A session's derived state and how one event folds into it.

Every field is order-independent (minima, maxima, the latest event by event time then
row id), so any arrival order of the same events gives the same state.

Reading: ``timeline(conn, session_id)`` is a read function (run it with ``db.read``).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace
from typing import Any, Literal

from vm122_ops.funnel.durations import bucket_of
from vm122_ops.funnel.failure_codes import failure_code
from vm122_ops.ingest.events import COMPLETED_STAGE, FAILED, STAGES, Event, format_ms
from vm122_ops.store.sql import QUERIES
from vm122_ops.store.stored_events import StoredEvent, View

STAGE_COLUMNS = tuple(f"{stage}_at" for stage in STAGES)
# A session's status (sessions.status, checked by the schema: 0001).
SessionStatus = Literal["active", "failed", "completed"]
SESSION_STATUSES: tuple[SessionStatus, ...] = ("active", "failed", "completed")
# A session's status as Ops shows and counts it: its status, or `refused` (an active
# session whose only stage is started and whose attempts were all refused: docs/desk.md).
ShownStatus = Literal["active", "failed", "completed", "refused"]
REFUSED: ShownStatus = "refused"
SHOWN_STATUSES: tuple[ShownStatus, ...] = (*SESSION_STATUSES, REFUSED)


def shown_status(status: SessionStatus, refusal_code: str | None) -> ShownStatus:
    """A session's status as every answer shows it and the funnel counts it: ``refused`` for
    an active session with a refusal code, else its status.

    The store says the same as the generated column ``onboard_sessions.shown_status``
    (migration 0021), which the named queries read; this is for a state held in memory,
    the fold at ingest, which moves the rollups' cells before its row is written.
    """
    return REFUSED if status == "active" and refusal_code is not None else status


@dataclass(frozen=True, slots=True)
class SessionState:
    session_id: str
    domain: str
    first_event_at: int
    last_event_at: int
    last_event_type: str
    last_event_row: int
    furthest_stage: int | None
    event_count: int
    # First time each stage was reached (event time, ms), indexed like STAGES.
    stage_at: tuple[int | None, ...]
    # The step named by the newest event when it is a failure (its `stage` field).
    failure_stage: int | None = None
    # The newest event's code when it is a failure (vm122_ops/funnel/failure_codes.py), else None.
    failure_code: str | None = None
    # Until a domain is validated: the newest refusal its onboarding.started events carried
    # (by event time, then code: order-independent) and that event's time; None after.
    refusal_code: str | None = None
    refusal_at: int | None = None

    @property
    def status(self) -> SessionStatus:
        if self.stage_at[COMPLETED_STAGE] is not None:
            return "completed"
        if self.last_event_type == FAILED:
            return "failed"
        return "active"

    @property
    def refused(self) -> bool:
        """Active, never past started, and refused: its own state, never moving, stuck or
        abandoned (docs/desk.md, "Session states")."""
        return self.shown_status == REFUSED

    @property
    def shown_status(self) -> ShownStatus:
        """The status shown for it and the funnel's rollups count it under (``shown_status``
        above): ``refused`` apart."""
        return shown_status(self.status, self.refusal_code)

    @property
    def failed_step(self) -> int | None:
        """A failed session's step that failed: the one its failure named, else the step
        after the furthest stage reached by the failure's time (order-independent)."""
        if self.status != "failed":
            return None
        if self.failure_stage is not None:
            return self.failure_stage
        return step_after(self.stage_at, self.last_event_at)

    @property
    def step_buckets(self) -> tuple[int | None, ...]:
        """Each step's duration (stage i to i+1) as a histogram bucket, when both known."""
        return tuple(
            None if start is None or end is None else bucket_of(end - start)
            for start, end in zip(self.stage_at, self.stage_at[1:], strict=False)
        )

    @property
    def stage_name(self) -> str | None:
        return None if self.furthest_stage is None else STAGES[self.furthest_stage]

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> SessionState:
        return cls(
            session_id=row["session_id"],
            domain=row["domain"],
            first_event_at=row["first_event_at"],
            last_event_at=row["last_event_at"],
            last_event_type=row["last_event_type"],
            last_event_row=row["last_event_row"],
            furthest_stage=row["furthest_stage"],
            event_count=row["event_count"],
            stage_at=tuple(row[column] for column in STAGE_COLUMNS),
            failure_stage=row["failure_stage"],
            failure_code=row["failure_code"],
            refusal_code=row["refusal_code"],
            refusal_at=row["refusal_at"],
        )

    def to_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            "session_id": self.session_id,
            "domain": self.domain,
            "first_event_at": self.first_event_at,
            "last_event_at": self.last_event_at,
            "last_event_type": self.last_event_type,
            "last_event_row": self.last_event_row,
            "furthest_stage": self.furthest_stage,
            "status": self.status,
            "event_count": self.event_count,
            "failure_stage": self.failure_stage,
            "failed_step": self.failed_step,
            "failure_code": self.failure_code if self.status == "failed" else None,
            "refusal_code": self.refusal_code,
            "refusal_at": self.refusal_at,
        }
        params.update(zip(STAGE_COLUMNS, self.stage_at, strict=True))
        params.update(
            (f"step{step}_bucket", bucket) for step, bucket in enumerate(self.step_buckets)
        )
        return params


def named_stage(event: Event) -> int | None:
    """The stage a failure event names as the step that failed, if a known one."""
    named = event.data.get("stage")
    return STAGES.index(named) if isinstance(named, str) and named in STAGES else None


def step_after(stage_at: tuple[int | None, ...], at: int) -> int:
    """The step after the furthest stage reached by time ``at`` (0 when none)."""
    reached = [stage for stage, when in enumerate(stage_at) if when is not None and when <= at]
    return min(max(reached) + 1, COMPLETED_STAGE) if reached else 0


def refusal_after(
    code: str | None, at: int | None, event: Event, furthest: int | None
) -> tuple[str | None, int | None]:
    """The session's refusal once ``event`` is included: None once a stage past started is
    reached (stages are never lost, so this holds in any order), else the newest refusal
    by (event time, code), a total order that does not depend on arrival."""
    if furthest is not None and furthest > 0:
        return None, None
    new_code = event.refusal_code
    if new_code is None:
        return code, at
    if code is None or at is None or (event.occurred_at, new_code) > (at, code):
        return new_code, event.occurred_at
    return code, at


def fold(state: SessionState | None, event: Event, row_id: int) -> SessionState:
    """The session's state once ``event`` (stored as ``row_id``) is included."""
    stage = event.stage
    if state is None:
        stage_at: list[int | None] = [None] * len(STAGES)
        if stage is not None:
            stage_at[stage] = event.occurred_at
        refusal_code, refusal_at = refusal_after(None, None, event, stage)
        return SessionState(
            session_id=event.session_id,
            domain=event.domain,
            first_event_at=event.occurred_at,
            last_event_at=event.occurred_at,
            last_event_type=event.event_type,
            last_event_row=row_id,
            furthest_stage=stage,
            event_count=1,
            stage_at=tuple(stage_at),
            failure_stage=named_stage(event) if event.event_type == FAILED else None,
            failure_code=failure_code(event.data) if event.event_type == FAILED else None,
            refusal_code=refusal_code,
            refusal_at=refusal_at,
        )
    stage_at = list(state.stage_at)
    furthest = state.furthest_stage
    if stage is not None:
        reached = stage_at[stage]
        stage_at[stage] = event.occurred_at if reached is None else min(reached, event.occurred_at)
        furthest = stage if furthest is None else max(furthest, stage)
    newer = (event.occurred_at, row_id) > (state.last_event_at, state.last_event_row)
    refusal_code, refusal_at = refusal_after(state.refusal_code, state.refusal_at, event, furthest)
    return replace(
        state,
        domain=event.domain if newer else state.domain,
        first_event_at=min(state.first_event_at, event.occurred_at),
        last_event_at=event.occurred_at if newer else state.last_event_at,
        last_event_type=event.event_type if newer else state.last_event_type,
        last_event_row=row_id if newer else state.last_event_row,
        furthest_stage=furthest,
        event_count=state.event_count + 1,
        stage_at=tuple(stage_at),
        failure_stage=(
            (named_stage(event) if event.event_type == FAILED else None)
            if newer
            else state.failure_stage
        ),
        failure_code=(
            (failure_code(event.data) if event.event_type == FAILED else None)
            if newer
            else state.failure_code
        ),
        refusal_code=refusal_code,
        refusal_at=refusal_at,
    )


@dataclass(frozen=True, slots=True)
class Timeline:
    """A session's state and its stored events in timeline order."""

    session: SessionState
    events: list[StoredEvent]
    contact: str | None = None  # who to contact (vm122_ops/tickets/contacts.py)
    ticket_id: int | None = None  # the session's ticket, if one opened
    reference: str | None = None  # the support reference the Portal gave the customer

    def document(self) -> dict[str, Any]:
        return {
            "session_id": self.session.session_id,
            "domain": self.session.domain,
            "status": self.session.shown_status,
            "stage": self.session.stage_name,
            "refusal": self._refusal(),
            "contact": self.contact,
            "ticket_id": self.ticket_id,
            "reference": self.reference,
            "events": [event.message(View.TIMELINE) for event in self.events],
        }

    def _refusal(self) -> dict[str, Any] | None:
        session = self.session
        if not session.refused or session.refusal_at is None:
            return None
        return {"code": session.refusal_code, "at": format_ms(session.refusal_at)}


def timeline(conn: sqlite3.Connection, session_id: str) -> Timeline | None:
    """The session's timeline, or None when no event of it is stored."""
    row = conn.execute(QUERIES["get_session"], {"session_id": session_id}).fetchone()
    if row is None:
        return None
    events = conn.execute(QUERIES["session_events"], {"session_id": session_id})
    stored = [StoredEvent.from_row(e) for e in events]
    ticket = conn.execute(QUERIES["get_ticket_for_session"], {"session_id": session_id})
    found = ticket.fetchone()
    ticket_id = None if found is None else found["id"]
    return Timeline(SessionState.from_row(row), stored, row["contact"], ticket_id, row["reference"])
