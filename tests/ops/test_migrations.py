"""An existing store upgrades in place: a database made by the code before accounts and
ticket work (tests/ops/data/ops-schema-3.sql, dumped from it) keeps every ticket, tag and
timeline entry, and the upgraded tickets are workable."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
from asgi_lifespan import LifespanManager

from servicekit.sqlfiles import migration_files
from tests.ops.conftest import AUTH, make_settings
from vm122_ops.app import create_app
from vm122_ops.store.db import SQL_DIR, Database

SCHEMA = SQL_DIR / "schema"
ENTRIES = (
    "select id, ticket_id, kind, event_row, event_type, occurred_at, received_at, body "
    "from ticket_entries order by id"
)
DUMP = Path(__file__).resolve().parent / "data" / "ops-schema-3.sql"


def restore(folder: Path) -> Path:
    path = folder / "ops.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(DUMP.read_text(encoding="utf-8"))
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
