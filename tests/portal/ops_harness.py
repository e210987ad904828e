"""Reads of the real Ops for the portal's end-to-end tests: what it stored, and what its
API shows without the fields that depend on when it received each event."""

from __future__ import annotations

from pathlib import Path

from tests.support import peek


def stored_events(db_path: Path) -> list[tuple[str, str, str]]:
    """(event_id, session_id, event_type) of every event Ops stored, in arrival order."""
    query = "select event_id, session_id, event_type from webhook_events order by id"
    return [(str(a), str(b), str(c)) for a, b, c in peek.rows(db_path, query)]
