"""An existing store upgrades in place: a database of schema version 3, before accounts and
ticket work (the first three migration files, with the rows the code of that version
stored for three tickets: completed, failed, open), keeps every ticket, tag and timeline
entry, and the upgraded tickets are workable."""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

import httpx
import orjson
from asgi_lifespan import LifespanManager

from servicekit.contract import STAGE_TYPES
from servicekit.sqlfiles import migrate, migration_files
from tests.ops.conftest import AUTH, make_settings
from vm122_ops.app import create_app
from vm122_ops.store.db import SQL_DIR, Database

SCHEMA = SQL_DIR / "schema"
ENTRIES = (
    "select id, ticket_id, kind, event_row, event_type, occurred_at, received_at, body "
    "from ticket_entries order by id"
)
RECEIVED = 1795953600000  # 2026-11-29T12:00:00Z, when the old code stored every row
STARTED = 1795950000000  # 2026-11-29T11:00:00Z
FLOW = STAGE_TYPES  # onboarding.started ... onboarding.completed
# Each session: its domain, its first event's second after STARTED, its events (one a
# second), what its failure said, and whether it has a ticket (ids in this order).
SESSIONS = (
    ("done-1", "loja-feita.pt", 0, FLOW, None, True),
    ("fail-1", "falha.pt", 10, (*FLOW[:2], "onboarding.failed"), "carbonio fault", True),
    ("open-1", "aberto.pt", 20, FLOW[:4], None, True),
    ("no-ticket", "sem.pt", 30, FLOW[:1], None, False),
)
B = 332  # the duration bucket of a 1 s step (durations.bucket_of)
# Rows the schema-3 code kept beside the events: per session, per ticket, per hour.
# fmt: off
SESSION_ROWS: list[tuple[object, ...]] = [
    ("done-1", "loja-feita.pt", STARTED, STARTED + 5000, "onboarding.completed", 6, 5,
     "completed", 6, *(STARTED + n * 1000 for n in range(6)), B, B, B, B, B),
    ("fail-1", "falha.pt", STARTED + 10000, STARTED + 12000, "onboarding.failed", 9, 1,
     "failed", 3, STARTED + 10000, STARTED + 11000, None, None, None, None,
     B, None, None, None, None),
    ("no-ticket", "sem.pt", STARTED + 30000, STARTED + 30000, "onboarding.started", 14, 0,
     "active", 1, STARTED + 30000, None, None, None, None, None,
     None, None, None, None, None),
    ("open-1", "aberto.pt", STARTED + 20000, STARTED + 23000, "account.created", 13, 3,
     "active", 4, *(STARTED + 20000 + n * 1000 for n in range(4)), None, None,
     B, B, B, None, None),
]
# fmt: on
TABLES: dict[str, list[tuple[object, ...]]] = {
    "onboard_sessions": SESSION_ROWS,
    "tickets": [
        (1, "done-1", "open", "Onboarding of loja-feita.pt", RECEIVED, RECEIVED),
        (2, "fail-1", "open", "Onboarding of falha.pt", RECEIVED, RECEIVED),
        (3, "open-1", "open", "Onboarding of aberto.pt", RECEIVED, RECEIVED),
    ],
    "ticket_tags": [(2, "onboarding_failed"), (1, "ready_for_ops")],
    "funnel_rollup": [
        (498875, 0, "active", 1),
        (498875, 1, "active", 0),
        (498875, 1, "failed", 1),
        (498875, 2, "active", 0),
        (498875, 3, "active", 1),
        (498875, 4, "active", 0),
        (498875, 5, "completed", 1),
    ],
    "funnel_durations": [(498875, step, B, n) for step, n in enumerate((3, 2, 2, 1, 1))],
}
NOTE = "Onboarding completed: the mail domain is ready for operations (ready_for_ops)."


def iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".000Z"


def restore(folder: Path) -> Path:
    """A store of schema version 3: the first three migration files, then its rows."""
    path = folder / "ops.db"
    events: list[tuple[object, ...]] = []
    entries: list[tuple[object, ...]] = []
    ticket = 0
    for session, domain, second, types, reason, ticketed in SESSIONS:
        ticket += 1 if ticketed else 0
        for n, kind in enumerate(types):
            at = STARTED + (second + n) * 1000
            data = {"session_id": session, "domain": domain}
            if kind == "onboarding.failed" and reason:
                data["reason"] = reason
            body = orjson.dumps({"type": kind, "timestamp": iso(at), "data": data}).decode()
            row = len(events) + 1
            events.append((row, f"msg_{row}", session, kind, domain, at, RECEIVED, body))
            if ticketed:
                entry = (ticket, "event", row, kind, at, RECEIVED, orjson.dumps(data).decode())
                entries.append((len(entries) + 1, *entry))
        if kind == "onboarding.completed":
            entries.append((len(entries) + 1, ticket, "note", None, None, at, RECEIVED, NOTE))
    tables = {**TABLES, "webhook_events": events, "ticket_entries": entries}
    first_three = folder / "schema-3"
    first_three.mkdir()
    for _, migration in migration_files(SCHEMA)[:3]:
        shutil.copy(migration, first_three)
    with sqlite3.connect(path) as conn:
        assert migrate(conn, first_three) == 3
        for table, values in tables.items():
            marks = ", ".join("?" * len(values[0]))
            conn.executemany(f"insert into {table} values ({marks})", values)  # noqa: S608
    return path


def rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return list(conn.execute(sql).fetchall())


async def test_a_store_of_schema_3_upgrades_with_its_tickets_intact(tmp_path: Path) -> None:
    path = restore(tmp_path)
    assert rows(path, "pragma user_version") == [(3,)]
    before = {
        "tickets": rows(
            path,
            "select id, session_id, status, subject, created_at, updated_at "
            "from tickets order by id",
        ),
        "tags": rows(path, "select ticket_id, tag from ticket_tags order by 1, 2"),
        "entries": rows(path, ENTRIES),
        "events": rows(path, "select count(*) from webhook_events"),
    }
    assert len(before["tickets"]) == 3
    db = Database(path)
    await db.open()
    await db.close()
    assert rows(path, "pragma user_version") == [(len(migration_files(SCHEMA)),)]
    assert rows(path, "pragma integrity_check") == [("ok",)]
    assert rows(path, "pragma foreign_key_check") == []
    after = {
        "tickets": rows(
            path,
            "select id, session_id, status, subject, created_at, updated_at "
            "from tickets order by id",
        ),
        "tags": rows(path, "select ticket_id, tag from ticket_tags order by 1, 2"),
        "entries": rows(path, ENTRIES),
        "events": rows(path, "select count(*) from webhook_events"),
    }
    assert after == before
    assert rows(path, "select version, assignee_id from tickets") == [(1, None)] * 3
    # The per-status counts (/metrics) follow the new status column, triggers included.
    assert rows(path, "select status, tickets from ticket_counts") == [("open", 3)]
    with sqlite3.connect(path) as conn:
        conn.execute("update tickets set status = 'pending' where session_id = 'open-1'")
    counts = rows(path, "select status, tickets from ticket_counts order by status")
    assert counts == [("open", 2), ("pending", 1)]
    with sqlite3.connect(path) as conn:
        conn.execute("update tickets set status = 'open' where session_id = 'open-1'")
    # The API reads the upgraded store: same tickets, their tags, their timelines.
    app = create_app(make_settings(tmp_path))
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://ops.test"
        ) as client,
    ):
        listing = (await client.get("/api/v1/desk/tickets", headers=AUTH)).json()
        by_session = {t["session_id"]: t for t in listing["tickets"]}
        assert set(by_session) == {"done-1", "fail-1", "open-1"}
        assert by_session["done-1"]["tags"] == ["ready_for_ops"]
        assert by_session["fail-1"]["tags"] == ["onboarding_failed"]
        assert all(t["status"] == "open" for t in listing["tickets"])
        done = by_session["done-1"]["id"]
        ticket = (await client.get(f"/api/v1/desk/tickets/{done}", headers=AUTH)).json()
        kinds = [entry["kind"] for entry in ticket["timeline"]]
        assert kinds.count("event") == 6 and kinds.count("note") == 1
