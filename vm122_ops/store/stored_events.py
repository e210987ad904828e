"""A stored event, and the one message every view of it is made from.

The Desk sees a stored event in three places: the live stream (announced after its
commit), the stream's replay (read back after a reconnect) and the timelines (a session's
and a ticket's). ``StoredEvent`` is built from an ingest result
(``IngestResult.stored_event``) or from a stored row (``StoredEvent.from_row``), and
``StoredEvent.message(view)`` is the one function that shapes it for each view, so the
live and the replayed message cannot drift apart.

Reads of the event store live here too: ``head`` (the stream's position) and ``after``
(the replay's pages).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from enum import Enum
from typing import Any

import orjson

from vm122_ops.ingest.events import STAGES, format_ms
from vm122_ops.store.sql import QUERIES


class View(Enum):
    """Which message: the fields each view shows (docs/desk.md, docs/webhook-funnel-events.md)."""

    # GET /api/v1/stream "onboard" events, live and replayed.
    LIVE = (
        "id",
        "session_id",
        "domain",
        "event_type",
        "occurred_at",
        "data",
        "stage",
        "status",
        "ticket_id",
    )
    # GET /api/v1/onboard/sessions/{id}/timeline "events".
    TIMELINE = ("id", "event_type", "occurred_at", "received_at", "data")
    # GET /api/v1/desk/tickets/{id} "timeline" entries of kind "event".
    TICKET = ("kind", "id", "event_type", "occurred_at", "received_at", "data")


@dataclass(frozen=True, slots=True)
class StoredEvent:
    id: int  # the event's row id: the stream's event id, increasing in commit order
    session_id: str
    domain: str
    event_type: str
    occurred_at: int  # ms since the epoch, UTC
    received_at: int
    data: Any  # the event's data object (a ticket's copy may be truncated)
    # The session and ticket as known with this event (live: at its commit; read back:
    # now). None where a view does not carry them.
    stage: int | None = None
    status: str | None = None
    ticket_id: int | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> StoredEvent:
        """A webhook_events row (events_after, session_events): id, session_id, domain,
        event_type, occurred_at, received_at, payload, and optionally the session's
        furthest_stage and status and the ticket_id."""
        names = row.keys()
        return cls(
            id=row["id"],
            session_id=row["session_id"],
            domain=row["domain"],
            event_type=row["event_type"],
            occurred_at=row["occurred_at"],
            received_at=row["received_at"],
            data=orjson.loads(row["payload"]).get("data", {}),
            stage=row["furthest_stage"] if "furthest_stage" in names else None,
            status=row["status"] if "status" in names else None,
            ticket_id=row["ticket_id"] if "ticket_id" in names else None,
        )

    def message(self, view: View = View.LIVE) -> dict[str, Any]:
        """The JSON object ``view`` shows of this event (the one shaper of all views)."""
        fields: dict[str, Any] = {
            "kind": "event",
            "id": self.id,
            "session_id": self.session_id,
            "domain": self.domain,
            "event_type": self.event_type,
            "occurred_at": format_ms(self.occurred_at),
            "received_at": format_ms(self.received_at),
            "data": self.data,
            "stage": None if self.stage is None else STAGES[self.stage],
            "status": self.status,
            "ticket_id": self.ticket_id,
        }
        return {name: fields[name] for name in view.value}


def head(conn: sqlite3.Connection) -> int:
    """The newest stored event's row id (0 when none): the stream's current position."""
    row = conn.execute(QUERIES["max_event_row"]).fetchone()
    return int(row[0]) if row else 0


def after(conn: sqlite3.Connection, after_id: int, limit: int) -> list[StoredEvent]:
    """Up to ``limit`` stored events after row ``after_id``, oldest first, each with its
    session's stage and status and its ticket as they are now."""
    rows = conn.execute(QUERIES["events_after"], {"after_id": after_id, "limit": limit})
    return [StoredEvent.from_row(row) for row in rows]
