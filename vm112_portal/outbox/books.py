"""The outbox dispatcher's own SQLite connection: which events are due, and their marks.

It lives in the dispatcher's thread (vm112_portal/outbox/dispatcher.py) and nowhere else: plain
``sqlite3``, created and used on that thread only, so the wizard's writer, its reader and
its event loop never carry the dispatcher's reads or marks. Each call is short and holds
no lock across anything else: a batch's marks are one transaction of a few UPDATEs.

``synchronous=NORMAL``: a mark does not wait for an fsync. A mark lost to a power cut
only means the event is sent again, and Ops answers a re-sent webhook-id as a duplicate;
a killed process loses nothing (WAL). The wizard's next fsynced commit makes every
earlier mark durable too (the WAL is one file, appended in order).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from servicekit.sqlfiles import Queries

BUSY_TIMEOUT_MS = 5000


@dataclass(frozen=True)
class Mark:
    """One outcome to record: a named outbox query (mark_delivered, schedule_retry,
    mark_dead) and its parameters."""

    query: str
    params: dict[str, Any]


class Books:
    """The dispatcher's connection; see the module docstring."""

    def __init__(self, conn: sqlite3.Connection, queries: Queries) -> None:
        self._conn = conn
        self._queries = queries

    @classmethod
    def open(cls, path: Path, queries: Queries) -> Books:
        """Connect on the calling thread (the only one that may use it). The schema is
        the writer's business: it is migrated before the dispatcher starts."""
        conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        except BaseException:
            conn.close()
            raise
        conn.row_factory = sqlite3.Row
        return cls(conn, queries)

    def close(self) -> None:
        self._conn.close()

    def due(self, now: float, limit: int) -> list[sqlite3.Row]:
        """The next batch: the pending events of up to ``limit`` sessions whose oldest
        pending event is due, in creation order (at most ``limit`` rows)."""
        return self._conn.execute(
            self._queries["due_batch"], {"now": now, "limit": limit}
        ).fetchall()

    def next_attempt_at(self) -> float | None:
        """When the earliest waiting session's oldest pending event is due; None if none."""
        row = self._conn.execute(self._queries["next_attempt_at"], {}).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def record(self, marks: Sequence[Mark]) -> None:
        """Every mark of a batch in one transaction (one commit, no fsync); each mark only
        changes a row that is still pending."""
        if not marks:
            return
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            for mark in marks:
                conn.execute(self._queries[mark.query], mark.params)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
