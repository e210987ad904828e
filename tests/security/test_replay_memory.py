"""Issue 26, finding 6: a replay after Ops' retention recreates nothing.

Ops remembers the webhook-ids it stored longer than the events (OPS_WEBHOOK_ID_DAYS), so a
purged event sent again is a duplicate (200), not new history; /healthz says since when
it knows every id (Ops-Webhook-Ids-Since) once it has forgotten some, and
``python -m vm112_portal outbox replay`` refuses a --since older than that unless
--force.

Before the fix the purged event sent again was stored anew (202; the store grew back),
and replay had no way to know what Ops had forgotten."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from tests.support.apps import ops_in_process, ops_in_thread
from tests.support.signer import post_event
from vm112_portal.__main__ import main
from vm112_portal.db import Database as PortalDatabase
from vm122_ops.store import retention
from vm122_ops.store.db import Database as OpsDatabase

DAY_MS = 86_400_000


def stored(db_path: Path) -> list[str]:
    with sqlite3.connect(db_path) as conn:
        return [r[0] for r in conn.execute("select event_id from webhook_events order by id")]


async def test_a_purged_event_sent_again_is_a_duplicate(tmp_path: Path) -> None:
    db_path = tmp_path / "ops.db"
    async with ops_in_process(db_path) as (_, client):
        first = await post_event(client, "onboarding.started", "s1", webhook_id="msg_old")
        assert first.status_code == 202
        assert (
            await post_event(client, "onboarding.started", "s2", webhook_id="msg_new")
        ).status_code == 202
        db = OpsDatabase(db_path)  # as `python -m vm122_ops purge` opens it
        await db.open()
        later = int(time.time() * 1000) + 100 * DAY_MS
        assert await retention.purge(db, 90, later) == 1  # the newest row always stays
        assert stored(db_path) == ["msg_new"]
        again = await post_event(client, "onboarding.started", "s1", webhook_id="msg_old")
        assert again.status_code == 200, again.text
        assert again.json()["duplicate"] is True
        assert stored(db_path) == ["msg_new"]
        assert "ops-webhook-ids-since" not in (await client.get("/healthz")).headers
        # Past OPS_WEBHOOK_ID_DAYS the ids go too, and Ops says since when it knows.
        assert await retention.forget_webhook_ids(db, 400, later + 400 * DAY_MS) == 2
        await db.close()
    async with ops_in_process(db_path) as (_, client):
        health = await client.get("/healthz")
    assert health.json() == {"ok": True, "database": "ok"}
    known = health.headers["ops-webhook-ids-since"]
    assert known.startswith(time.strftime("%Y-", time.gmtime(later / 1000)))


@pytest.mark.parametrize(
    ("since", "force", "code"),
    [
        ("2000-01-01T00:00:00Z", False, 2),
        ("2000-01-01T00:00:00Z", True, 0),
        ("after", False, 0),
    ],
)
def test_replay_refuses_a_since_older_than_what_ops_knows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], since: str, force: bool, code: int
) -> None:
    ops_db = tmp_path / "ops.db"
    known_ms = int(time.time() * 1000) - 10 * DAY_MS
    with ops_in_thread(ops_db):  # makes the schema
        pass
    with sqlite3.connect(ops_db) as conn:
        conn.execute(
            "insert into ops_memory (key, value) values ('webhook_ids_since', ?)", (known_ms,)
        )
    portal_db = tmp_path / "portal.db"

    async def make() -> None:
        db = PortalDatabase(portal_db)
        await db.open()
        await db.close()

    asyncio.run(make())
    if since == "after":
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(known_ms / 1000 + 3600))
    with ops_in_thread(ops_db) as url:
        args = ["outbox", "replay", "--since", since, *(["--force"] if force else [])]
        result = main(args, {"PORTAL_DB": str(portal_db), "OPS_URL": url})
    out, err = capsys.readouterr()
    assert result == code, out + err
    if code == 2:
        assert "older than what Ops still knows" in err and "--force" in err
    else:
        assert out.startswith("queued 0 of 0 delivered events")
