"""A session's shown status, defined once (docs/desk.md, "Session states"): the generated
column onboard_sessions.shown_status, which the named queries and the ticket_summaries view
read, and `shown_status` in vm122_ops/ingest/session_fold.py for the state the fold at
ingest holds in memory. The queries that keep the definition written out do so only where
the column would cost an index, and say it exactly as the column does."""

from __future__ import annotations

import itertools
import re
import shutil
import sqlite3
from collections.abc import Mapping
from pathlib import Path

import pytest

from servicekit.sqlfiles import migrate, migration_files
from vm122_ops.ingest.session_fold import SESSION_STATUSES, SHOWN_STATUSES, shown_status
from vm122_ops.store.db import SQL_DIR
from vm122_ops.store.sql import QUERIES

SCHEMA = SQL_DIR / "schema"
AT = 498875 * 3_600_000 + 60_000  # 2026-11-29T11:01:00Z
# session id, status, furthest stage, last event type, refusal code, what it shows
SESSIONS = (
    ("refused-1", "active", 0, "onboarding.started", "mailbox_provider", "refused"),
    ("active-1", "active", 2, "dns.applied", None, "active"),
    ("failed-1", "failed", 1, "onboarding.failed", None, "failed"),
    ("failed-at-start", "failed", 0, "onboarding.failed", "domain_in_progress", "failed"),
    ("completed-1", "completed", 5, "onboarding.completed", None, "completed"),
)
INSERT_SESSION = (
    "insert into onboard_sessions (session_id, domain, first_event_at, last_event_at,"
    " last_event_type, last_event_row, furthest_stage, status, event_count, refusal_code,"
    " refusal_at) values (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)"
)
# The named queries that write the definition out, each for the index the column would
# cost it (the comment beside each says which).
WRITTEN_OUT = {"partial_hour", "partial_hour_refusals", "cohort_refused_page"}


def before_mine(folder: Path) -> int:
    """Copy the migrations before this one into ``folder``; their count."""
    files = migration_files(SCHEMA)
    mine = [n for n, (_, file) in enumerate(files) if file.name.endswith("_shown_status.sql")]
    assert len(mine) == 1
    folder.mkdir()
    for _, file in files[: mine[0]]:
        shutil.copy(file, folder / file.name)
    return mine[0]


def add_sessions(conn: sqlite3.Connection) -> None:
    for n, (session, status, stage, last, code, _) in enumerate(SESSIONS, start=1):
        refused_at = AT if code else None
        row = (session, f"{session}.pt", AT, AT + n, last, n, stage, status, code, refused_at)
        conn.execute(INSERT_SESSION, row)
        conn.execute(
            "insert into tickets (session_id, subject, created_at, updated_at) values (?, ?, ?, ?)",
            (session, f"Onboarding of {session}.pt", AT, AT),
        )


def test_a_store_of_the_schema_before_reads_each_sessions_shown_status(tmp_path: Path) -> None:
    """Refused, active, failed (one with the refusal code it had before it failed) and
    completed sessions stored before the migration read their shown status, in the column
    and in the ticket view, without a row being written."""
    older = tmp_path / "older"
    count = before_mine(older)
    path = tmp_path / "ops.db"
    with sqlite3.connect(path) as conn:
        assert migrate(conn, older) == count
        add_sessions(conn)
    with sqlite3.connect(path) as conn:
        assert migrate(conn, SCHEMA) == len(migration_files(SCHEMA))
        shown = conn.execute(
            "select session_id, status, refusal_code, shown_status from onboard_sessions"
            " order by session_id"
        ).fetchall()
        tickets = conn.execute(
            "select session_id, session_status from ticket_summaries order by id"
        ).fetchall()
    assert shown == [
        ("active-1", "active", None, "active"),
        ("completed-1", "completed", None, "completed"),
        ("failed-1", "failed", None, "failed"),
        ("failed-at-start", "failed", "domain_in_progress", "failed"),
        ("refused-1", "active", "mailbox_provider", "refused"),
    ]
    assert tickets == [
        ("refused-1", "refused"),
        ("active-1", "active"),
        ("failed-1", "failed"),
        ("failed-at-start", "failed"),
        ("completed-1", "completed"),
    ]


def test_the_shown_status_follows_its_session_and_cannot_be_written() -> None:
    """Generated: a refused session that gets a domain validated (its code cleared) reads
    active at once; writing the column, by UPDATE or INSERT, is an error and changes
    nothing."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    migrate(conn, SCHEMA)
    add_sessions(conn)
    conn.execute(
        "update onboard_sessions set furthest_stage = 1, refusal_code = null,"
        " refusal_at = null where session_id = 'refused-1'"
    )
    with pytest.raises(sqlite3.OperationalError, match="cannot UPDATE generated column"):
        conn.execute("update onboard_sessions set shown_status = 'refused'")
    with pytest.raises(sqlite3.OperationalError, match="cannot INSERT into generated column"):
        conn.execute(
            "insert into onboard_sessions (session_id, domain, first_event_at,"
            " last_event_at, last_event_type, last_event_row, status, event_count,"
            " shown_status) values ('x', 'x.pt', 1, 1, 'onboarding.started', 9, 'active', 1,"
            " 'completed')"
        )
    assert conn.execute(
        "select session_id, shown_status from onboard_sessions order by session_id"
    ).fetchall() == [
        ("active-1", "active"),
        ("completed-1", "completed"),
        ("failed-1", "failed"),
        ("failed-at-start", "failed"),
        ("refused-1", "active"),
    ]
    assert conn.execute(
        "select session_status from ticket_summaries where session_id = 'refused-1'"
    ).fetchall() == [("active",)]


def test_python_and_the_column_say_the_same_for_every_status_and_code() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    migrate(conn, SCHEMA)
    cases = list(itertools.product(SESSION_STATUSES, (None, "mailbox_provider")))
    for n, (status, code) in enumerate(cases):
        row = (f"s-{n}", "a.pt", AT, AT, "onboarding.started", n, 0, status, code, None)
        conn.execute(INSERT_SESSION, row)
    stored = conn.execute(
        "select status, refusal_code, shown_status from onboard_sessions order by session_id"
    ).fetchall()
    assert [(status, code, shown_status(status, code)) for status, code in cases] == stored
    assert [shown for _, _, shown in stored] == [
        "active",
        "refused",
        "failed",
        "failed",
        "completed",
        "completed",
    ]
    assert set(SHOWN_STATUSES) == {"active", "failed", "completed", "refused"}


def _normal(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip()


def test_only_the_named_exceptions_write_the_definition_out_and_say_it_exactly() -> None:
    """No named query derives the shown status itself, except those that would lose an
    index on the column; partial_hour's CASE is the column's expression word for word."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    migrate(conn, SCHEMA)
    table = conn.execute(
        "select sql from sqlite_master where name = 'onboard_sessions'"
    ).fetchone()[0]
    column = re.search(r"shown_status text generated always as \((.*?)\) virtual", table, re.S)
    assert column is not None
    definition = _normal(column.group(1))
    assert definition == (
        "case when status = 'active' and refusal_code is not null then 'refused' else status end"
    )
    writing = {name for name in QUERIES if "refusal_code is not null" in QUERIES[name]}
    assert writing == WRITTEN_OUT
    assert f"{definition} as status" in _normal(QUERIES["partial_hour"])
    view = conn.execute("select sql from sqlite_master where name = 'ticket_summaries'")
    assert "s.shown_status as session_status" in view.fetchone()[0]


def plan(conn: sqlite3.Connection, name: str, params: Mapping[str, object]) -> list[str]:
    sql = QUERIES[name]
    wanted = {key: params.get(key) for key in re.findall(r":(\w+)", sql)}
    return [str(row[3]) for row in conn.execute("explain query plan " + sql, wanted)]


WINDOW = {"since": 0, "until": 1, "cohort_since": 0, "stage": 0, "limit": 50}


def test_the_queries_keep_their_indexes_without_statistics() -> None:
    """On a store with no sqlite_stat1 (production's): the partial first hour is read from
    the covering index alone, and the filters walk their (partial) indexes."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    migrate(conn, SCHEMA)
    by_first = "onboard_sessions_by_first (first_event_at>? AND first_event_at<?)"
    covered = f"SEARCH onboard_sessions USING COVERING INDEX {by_first}"
    assert covered in plan(conn, "partial_hour", WINDOW)
    assert plan(conn, "partial_hour_refusals", WINDOW)[0] == covered
    assert plan(conn, "partial_hour_sessions", WINDOW) == [
        f"SEARCH onboard_sessions USING INDEX {by_first}"
    ]
    assert plan(conn, "breakdown_partial_hour", WINDOW) == [
        f"SEARCH onboard_sessions USING INDEX {by_first}"
    ]
    assert plan(conn, "cohort_refused_page", WINDOW)[0] == (
        "SEARCH s USING INDEX onboard_sessions_refused (last_event_at>?)"
    )
    active = "USING INDEX onboard_sessions_active (furthest_stage=? AND last_event_at>? AND"
    for name in ("idle_counts", "cohort_idle_counts", "cohort_active_page"):
        assert active in plan(conn, name, WINDOW)[0], name
    assert plan(conn, "idle_active_sessions", WINDOW) == [
        "SEARCH onboard_sessions USING INDEX onboard_sessions_by_activity"
        " (status=? AND last_event_at>? AND last_event_at<?)"
    ]
    assert plan(conn, "events_after", {"after_id": 0, "limit": 50})[:2] == [
        "SEARCH e USING INTEGER PRIMARY KEY (rowid>?)",
        "SEARCH s USING PRIMARY KEY (session_id=?)",
    ]
    assert plan(conn, "sessions_by_domain_key", {"prefix": "a", "prefix_end": "b"})[0] == (
        "SEARCH s USING INDEX onboard_sessions_by_domain_key (domain_key>? AND domain_key<?)"
    )


def test_a_read_of_the_column_is_never_covered_by_an_index() -> None:
    """Why partial_hour and partial_hour_refusals keep the definition written out: SQLite
    counts a generated column as a use of every column of its table, so the range that the
    index alone answers for status and refusal_code reads each table row for shown_status."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    migrate(conn, SCHEMA)
    window = "from onboard_sessions where first_event_at >= 0 and first_event_at < 1"
    raw = conn.execute(f"explain query plan select status, refusal_code {window}").fetchall()
    shown = conn.execute(f"explain query plan select shown_status {window}").fetchall()
    by_first = "onboard_sessions_by_first (first_event_at>? AND first_event_at<?)"
    assert [row[3] for row in raw] == [f"SEARCH onboard_sessions USING COVERING INDEX {by_first}"]
    assert [row[3] for row in shown] == [f"SEARCH onboard_sessions USING INDEX {by_first}"]
