"""Outbox retention (vm112_portal/retention.py) and dead-letter dropping: only delivered
events past PORTAL_RETENTION_DAYS go, in batches; pending events and dead letters stay;
dry runs change nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.portal.conftest import make_settings, running_portal
from tests.support import peek
from tests.support.poll import wait_until
from vm112_portal import retention
from vm112_portal.__main__ import main
from vm112_portal.db import Database, Transaction
from vm112_portal.errors import StorageUnavailable
from vm112_portal.outbox.ops_webhook import emit_event

DAY = 86_400.0
NOW = time.time()
# (session prefix, rows, age in days, final state)
SEED = [
    ("old-delivered", 25, 100, "delivered"),
    ("new-delivered", 3, 10, "delivered"),
    ("old-pending", 2, 100, "pending"),
    ("old-dead", 2, 100, "dead"),
]


async def _seed(db: Database) -> None:
    for prefix, count, age, _ in SEED:
        moment = datetime.fromtimestamp(NOW - age * DAY, UTC)
        for i in range(count):
            async with db.transaction() as tx:
                data = {"session_id": f"{prefix}-{i}", "domain": "a.pt"}
                await emit_event(tx, "domain.validated", data, now=moment)
    ages = {prefix: (age, state) for prefix, _, age, state in SEED}
    for row in peek.outbox(db.path):
        age, state = ages[row["session_id"].rsplit("-", 1)[0]]
        params = {"id": row["id"], "now": NOW - age * DAY + 1, "status": 202, "error": "e"}
        async with db.transaction() as tx:
            if state == "delivered":
                await tx.execute("mark_delivered", params)
            elif state == "dead":
                await tx.execute("mark_dead", {**params, "status": 400})


def _seeded(db_path: Path) -> None:
    async def run() -> None:
        db = Database(db_path)
        await db.open()
        try:
            await _seed(db)
        finally:
            await db.close()

    asyncio.run(run())


def _kinds(db_path: Path) -> dict[str, int]:
    """Rows left per seed prefix and state, e.g. {"old-dead dead": 2}."""
    found: dict[str, int] = {}
    for row in peek.outbox(db_path):
        key = f"{row['session_id'].rsplit('-', 1)[0]} {row['state']}"
        found[key] = found.get(key, 0) + 1
    return found


SEEDED = {
    "old-delivered delivered": 25,
    "new-delivered delivered": 3,
    "old-pending pending": 2,
    "old-dead dead": 2,
}
KEPT = {key: n for key, n in SEEDED.items() if key != "old-delivered delivered"}


async def test_purge_removes_old_delivered_rows_in_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(tmp_path / "portal.db")
    await db.open()
    try:
        await _seed(db)
        assert _kinds(db.path) == SEEDED
        monkeypatch.setattr(retention, "BATCH", 7)
        transactions = 0
        real = db.transaction

        @asynccontextmanager
        async def counting() -> AsyncIterator[Transaction]:
            nonlocal transactions
            transactions += 1
            async with real() as tx:
                yield tx

        monkeypatch.setattr(db, "transaction", counting)
        plan = await retention.plan_purge(db, 90, NOW)
        assert plan.rows == 25 and plan.cutoff == NOW - 90 * DAY
        assert transactions == 0 and _kinds(db.path) == SEEDED  # planning changes nothing
        assert await retention.purge(db, 90, NOW) == 25
        assert transactions == 4  # 25 rows in batches of 7: 7, 7, 7, 4
        assert _kinds(db.path) == KEPT
        assert await retention.purge(db, 90, NOW) == 0
        assert (await retention.plan_purge(db, 90, NOW)).rows == 0
    finally:
        await db.close()


def test_purge_command_and_its_dry_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db_path = tmp_path / "portal.db"
    _seeded(db_path)
    env = {"PORTAL_DB": str(db_path)}
    before = peek.outbox(db_path)
    assert main(["purge", "--dry-run"], env) == 0
    assert capsys.readouterr().out == (
        "would remove 25 event(s) delivered more than 90 days ago; "
        "pending events and 2 dead letter(s) stay\n"
    )
    assert peek.outbox(db_path) == before
    assert main(["purge", "--dry-run"], {**env, "PORTAL_RETENTION_DAYS": "5"}) == 0
    assert capsys.readouterr().out.startswith("would remove 28 event(s) delivered more than 5")
    assert main(["purge"], env) == 0
    assert capsys.readouterr().out.startswith("removed 25 event(s) delivered more than 90 days")
    assert _kinds(db_path) == KEPT
    assert main(["purge"], {**env, "PORTAL_RETENTION_DAYS": "0"}) == 2
    assert "PORTAL_RETENTION_DAYS must be a whole number from 1 to 3650" in capsys.readouterr().err


def test_drop_dead_and_its_dry_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db_path = tmp_path / "portal.db"
    _seeded(db_path)
    env = {"PORTAL_DB": str(db_path)}
    before = peek.outbox(db_path)
    dead = [row["webhook_id"] for row in before if row["state"] == "dead"]
    assert main(["outbox", "drop-dead", "--dry-run"], env) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0] == "would drop 2 dead letter(s); nothing changed:"
    assert [line.split()[0] for line in listing[1:]] == dead
    assert listing[1].endswith("session old-dead-0: e")
    assert peek.outbox(db_path) == before
    assert main(["outbox", "drop-dead"], env) == 0
    assert capsys.readouterr().out.startswith("dropped 2 dead letter(s) for good")
    assert _kinds(db_path) == {k: n for k, n in SEEDED.items() if k != "old-dead dead"}
    assert main(["outbox", "drop-dead"], env) == 0
    assert capsys.readouterr().out.startswith("dropped 0 dead letter(s)")


async def test_the_running_portal_purges_by_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "FIRST_RUN_SECONDS", 0.0)
    settings = make_settings(tmp_path, emit=False)  # no dispatcher: pending rows stay put
    db = Database(settings.db_path)
    await db.open()
    try:
        await _seed(db)
    finally:
        await db.close()
    async with running_portal(settings):

        async def purged() -> bool:
            return _kinds(settings.db_path) == KEPT

        await wait_until(purged)


def test_a_locked_database_is_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db_path = tmp_path / "portal.db"
    _seeded(db_path)

    async def locked(db: Database) -> int:
        # What db.transaction raises when another writer holds the lock past busy_timeout.
        raise StorageUnavailable("the portal database cannot be written (database is locked)")

    monkeypatch.setattr("vm112_portal.__main__.drop_dead", locked)
    assert main(["outbox", "drop-dead"], {"PORTAL_DB": str(db_path)}) == 2
    err = capsys.readouterr().err
    assert err == "vm112_portal: the portal database cannot be written (database is locked)\n"
