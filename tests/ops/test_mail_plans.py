"""The mail queries' plans on a store with no statistics (no sqlite_stat1).

Production stores are never analysed, while the bench's are: on a 1M-event store without
sqlite_stat1 the planner read every completed session for the mail card's window and
every mail.checked event for one session's checks. The plans are asked on a fresh schema
with no statistics, where the planner's guesses are the same as on such a store.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

from servicekit.sqlfiles import migrate
from vm122_ops.store.db import SQL_DIR
from vm122_ops.store.sql import QUERIES


def plan(conn: sqlite3.Connection, name: str, params: Mapping[str, object]) -> list[str]:
    rows = conn.execute("explain query plan " + QUERIES[name], params).fetchall()
    return [str(row[3]) for row in rows]


def unanalysed() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    migrate(conn, SQL_DIR / "schema")
    assert conn.execute("select * from sqlite_master where name = 'sqlite_stat1'").fetchall() == []
    return conn


def test_the_mail_cards_window_is_read_by_first_event_without_statistics() -> None:
    conn = unanalysed()
    window = {"since": 0, "now": 1}
    assert plan(conn, "mail_readiness_counts", window) == [
        "SEARCH s USING COVERING INDEX onboard_sessions_by_first"
        " (first_event_at>? AND first_event_at<?)",
        "SEARCH m USING PRIMARY KEY (session_id=?) LEFT-JOIN",
    ]
    assert plan(conn, "mail_not_ready", {**window, "limit": 50}) == [
        "SEARCH s USING INDEX onboard_sessions_by_first (first_event_at>? AND first_event_at<?)",
        "SEARCH m USING PRIMARY KEY (session_id=?)",
        "SEARCH t USING COVERING INDEX sqlite_autoindex_tickets_1 (session_id=?) LEFT-JOIN",
        "USE TEMP B-TREE FOR ORDER BY",
    ]


def test_a_sessions_mail_checks_are_read_by_session_without_statistics() -> None:
    conn = unanalysed()
    # By session, in the index's order: no sort, and never every mail.checked stored.
    assert plan(conn, "session_mail_checks", {"session_id": "s-1"}) == [
        "SEARCH webhook_events USING INDEX webhook_events_by_session (session_id=?)"
    ]
