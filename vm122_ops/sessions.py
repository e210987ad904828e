"""A session's derived state and how one event folds into it.

Every field is order-independent (minima, maxima, the latest event by event time then
row id), so any arrival order of the same events gives the same state.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace
from typing import Any

from vm122_ops.durations import bucket_of
from vm122_ops.events import COMPLETED_STAGE, FAILED, STAGES, Event

STAGE_COLUMNS = tuple(f"{stage}_at" for stage in STAGES)


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

    @property
    def status(self) -> str:
        if self.stage_at[COMPLETED_STAGE] is not None:
            return "completed"
        if self.last_event_type == FAILED:
            return "failed"
        return "active"

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
        }
        params.update(zip(STAGE_COLUMNS, self.stage_at, strict=True))
        params.update(
            (f"step{step}_bucket", bucket) for step, bucket in enumerate(self.step_buckets)
        )
        return params


def fold(state: SessionState | None, event: Event, row_id: int) -> SessionState:
    """The session's state once ``event`` (stored as ``row_id``) is included."""
    stage = event.stage
    if state is None:
        stage_at: list[int | None] = [None] * len(STAGES)
        if stage is not None:
            stage_at[stage] = event.occurred_at
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
        )
    stage_at = list(state.stage_at)
    furthest = state.furthest_stage
    if stage is not None:
        reached = stage_at[stage]
        stage_at[stage] = event.occurred_at if reached is None else min(reached, event.occurred_at)
        furthest = stage if furthest is None else max(furthest, stage)
    newer = (event.occurred_at, row_id) > (state.last_event_at, state.last_event_row)
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
    )
