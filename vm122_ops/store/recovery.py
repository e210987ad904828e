"""Checking a restored store: is it whole, and up to which event does it hold?

``python -m vm122_ops verify PATH`` (run by scripts/restore-ops after ``litestream
restore``) opens the file read-only, runs ``PRAGMA integrity_check``, and reports what it
holds and its newest event. From that event's receipt time it derives the ``--since`` for
the Portal's ``outbox replay``: every event Ops acknowledged and the restore lacks was
committed after that event, so the Portal recorded its delivery later than that moment
on its own clock, give or take the clock skew. Signatures are refused beyond 5 minutes
of skew (vm122_ops/ingest/signatures.py), so 5 minutes earlier covers every such event; the
events re-sent that Ops already holds are answered as duplicates.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from servicekit.sqlfiles import load_queries
from vm122_ops.ingest.events import format_ms
from vm122_ops.ingest.signatures import TOLERANCE_SECONDS
from vm122_ops.store.db import SQL_DIR

REPLAY_MARGIN_MS = TOLERANCE_SECONDS * 1000


class RestoreError(Exception):
    """The file is missing, not an Ops store, or fails its integrity check."""


@dataclass(frozen=True)
class NewestEvent:
    row: int
    event_id: str
    event_type: str
    session_id: str
    received_at_ms: int


@dataclass(frozen=True)
class StoreReport:
    path: Path
    schema_version: int
    events: int
    sessions: int
    tickets: int
    notes: int
    newest_note_at_ms: int | None
    newest: NewestEvent | None

    @property
    def replay_since_ms(self) -> int | None:
        if self.newest is None:
            return None
        return self.newest.received_at_ms - REPLAY_MARGIN_MS

    def describe(self) -> str:
        lines = [
            f"integrity ok: {self.path} (schema version {self.schema_version})",
            f"holds {self.events} events of {self.sessions} sessions, {self.tickets} tickets "
            f"and {self.notes} notes"
            + (
                f" (the newest note written {format_ms(self.newest_note_at_ms)})"
                if self.newest_note_at_ms is not None
                else ""
            ),
        ]
        if self.newest is None or self.replay_since_ms is None:
            lines.append("newest event: none; replay the Portal's whole outbox")
            return "\n".join(lines)
        newest = self.newest
        since = format_ms(self.replay_since_ms)
        lines += [
            f"newest event: {newest.event_id} ({newest.event_type}, session "
            f"{newest.session_id}), row {newest.row}, received "
            f"{format_ms(newest.received_at_ms)}",
            f"replay since: {since}",
            f"  on the Portal: python -m vm112_portal outbox replay --since {since}",
        ]
        return "\n".join(lines)


def verify_store(path: Path) -> StoreReport:
    """Integrity and contents of the store at ``path``, opened read-only."""
    if not path.is_file():
        raise RestoreError(f"{path} does not exist or is not a file")
    queries = load_queries(SQL_DIR / "queries")
    try:
        conn = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise RestoreError(f"{path} cannot be opened: {exc}") from None
    try:
        conn.row_factory = sqlite3.Row
        verdict = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if verdict != ["ok"]:
            raise RestoreError(f"{path} fails its integrity check: {'; '.join(verdict[:5])}")
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version < 1:
            raise RestoreError(f"{path} is not an Ops store (no schema)")
        summary = conn.execute(queries["store_summary"]).fetchone()
        newest = conn.execute(queries["newest_event"]).fetchone()
    except sqlite3.DatabaseError as exc:
        raise RestoreError(f"{path} cannot be read as an Ops store: {exc}") from None
    finally:
        conn.close()
    return StoreReport(
        path=path,
        schema_version=version,
        events=int(summary["events"]),
        sessions=int(summary["sessions"]),
        tickets=int(summary["tickets"]),
        notes=int(summary["notes"]),
        newest_note_at_ms=summary["newest_note_at"],
        newest=(
            NewestEvent(
                row=int(newest["id"]),
                event_id=str(newest["event_id"]),
                event_type=str(newest["event_type"]),
                session_id=str(newest["session_id"]),
                received_at_ms=int(newest["received_at"]),
            )
            if newest is not None
            else None
        ),
    )
