"""Every named portal query (sql/portal/queries) prepares against a fresh schema."""

from __future__ import annotations

import re
from pathlib import Path

import aiosqlite
import pytest

from vm112_portal.db import SQL_DIR, Database

QUERIES = sorted(Database(Path("unused.db")).queries)


def test_expected_queries_exist() -> None:
    assert {
        "insert_outbox_event",
        "due_batch",
        "redrive_one",
        "upsert_infra",
        "purge_delivered_batch",
        "drop_dead",
        "replay_plan",
        "replay_delivered_batch",
    } <= set(QUERIES)


@pytest.mark.parametrize("name", QUERIES)
async def test_query_explains(tmp_path: Path, name: str) -> None:
    db = Database(tmp_path / "portal.db")
    await db.open()  # applies the schema
    await db.close()
    sql = db.queries[name]
    assert not re.search(r"\?\d*|(?<![:\w]):?\$\w", sql), "named parameters only"
    async with aiosqlite.connect(tmp_path / "portal.db") as conn:
        params = {
            "session_id": "s",
            "reference": "ABCD2345",
            "secret_hash": "0" * 64,
            "domain": "a.pt",
            "step": "dns_done",
            "stage": "dns_applied",
            "now": 0.0,
            "webhook_id": "w",
            "event_type": "dns.applied",
            "body": "{}",
            "id": 1,
            "status": 202,
            "error": "e",
            "next_attempt_at": 0.0,
            "account": "a@a.pt",
            "plan": "p",
            "mailbox_quota_mb": 1,
            "request_id": "r",
            "cutoff": 0.0,
            "batch": 10,
            "limit": 20,
            "since": 0.0,
            "after_id": 0,
            "last_id": 10,
            "token": "t",
            "proven_by": "txt",
            "result": "{}",
            "names": '["a.pt", "pt"]',
            "selector": "sel",
            "txt": "v=DKIM1; p=AA",
            "mode": "manual",
            "ready": 0,
            "items": "[]",
            "sent": None,
            "trigger": "schedule",
            "next_check_at": 0.0,
        }
        async with conn.execute(f"EXPLAIN {sql}", params) as cursor:
            rows = list(await cursor.fetchall())
    assert rows


def test_schema_files_are_numbered() -> None:
    names = [path.name for path in sorted((SQL_DIR / "schema").glob("*.sql"))]
    assert names[0] == "0001_sessions_outbox_infra.sql"
