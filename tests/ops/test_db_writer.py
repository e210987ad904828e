"""vm122_ops/store/db.py's writer: a group of ingest units commits in one transaction without a
savepoint per unit, and a unit that raises still fails alone with nothing of it stored
(the batch is rolled back and run again unit by unit)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.ops.conftest import NOW
from tests.support import peek
from tests.support.signer import event_body
from vm122_ops.ingest.events import Event, parse_event
from vm122_ops.ingest.storing import IngestResult, store_event
from vm122_ops.store.db import Database

AT_MS = int(NOW * 1000)


def event(number: int) -> Event:
    session = f"w{number}"
    body = event_body("onboarding.started", session, at=NOW - 60 + number)
    return parse_event(f"msg_writer_{number}", body)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "ops.db")
    await database.open()
    try:
        yield database
    finally:
        await database.close()


async def traced(db: Database) -> list[str]:
    statements: list[str] = []

    def trace(conn: sqlite3.Connection) -> None:
        conn.set_trace_callback(statements.append)

    await db.write(trace)
    statements.clear()  # the end of that write itself
    return statements


async def test_a_group_of_ingest_units_commits_without_savepoints(db: Database) -> None:
    statements = await traced(db)
    runs: list[int] = []

    def counted(conn: sqlite3.Connection, item: Event) -> IngestResult:
        runs.append(int(item.session_id[1:]))
        return store_event(conn, item, AT_MS)

    results = await asyncio.gather(*(db.ingest(counted, event(n)) for n in range(8)))
    assert [r.duplicate for r in results] == [False] * 8
    assert sorted(runs) == list(range(8))  # each unit ran once
    assert statements.count("BEGIN IMMEDIATE") == 1  # one group, one transaction
    assert not [s for s in statements if s.startswith(("SAVEPOINT", "RELEASE"))]
    assert peek.counts(db.path, ["webhook_events"])["webhook_events"] == 8


async def test_a_failing_unit_fails_alone_and_stores_nothing(db: Database) -> None:
    statements = await traced(db)
    runs: list[int] = []

    def unit(conn: sqlite3.Connection, item: Event) -> IngestResult:
        number = int(item.session_id[1:])
        runs.append(number)
        result = store_event(conn, item, AT_MS)  # the event, its session, its rollups...
        if number == 3:
            raise RuntimeError("a bug after the writes")
        return result

    outcomes = await asyncio.gather(
        *(db.ingest(unit, event(n)) for n in range(6)), return_exceptions=True
    )
    assert isinstance(outcomes[3], RuntimeError)
    stored = [o for o in outcomes if isinstance(o, IngestResult)]
    assert len(stored) == 5
    # Run whole once (rolled back at unit 3), then unit by unit, each in its savepoint.
    assert runs == [0, 1, 2, 3, 0, 1, 2, 3, 4, 5]
    assert statements.count("ROLLBACK") == 1
    assert statements.count("SAVEPOINT unit") == 6
    assert statements.count("ROLLBACK TO unit") == 1
    sessions = peek.value(db.path, "select group_concat(session_id) from onboard_sessions")
    assert sorted(str(sessions).split(",")) == ["w0", "w1", "w2", "w4", "w5"]
    assert peek.counts(db.path, ["webhook_events"])["webhook_events"] == 5
    # The same event again is new (nothing of it was stored), and it stores whole.
    again = await db.ingest(store_event, event(3), AT_MS)
    assert not again.duplicate
    assert peek.counts(db.path, ["webhook_events"])["webhook_events"] == 6


async def test_other_writes_in_the_group_keep_their_savepoints(db: Database) -> None:
    """A group with a unit that is not an ingest unit (an agent's ticket change, a
    checkpoint...) runs the usual way: such a unit may have done more than write."""
    statements = await traced(db)

    def plain(conn: sqlite3.Connection) -> int:
        return int(conn.execute("select 1").fetchone()[0])

    outcomes = await asyncio.gather(
        db.ingest(store_event, event(1), AT_MS),
        db.write(plain),
        db.ingest(store_event, event(2), AT_MS),
    )
    assert outcomes[1] == 1
    assert statements.count("SAVEPOINT unit") == 3
