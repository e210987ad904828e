"""python -m vm112_portal backup PATH: a verified online copy taken while the wizard writes;
restored into a fresh portal, it holds every outbox row committed before it started."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import time
from pathlib import Path

import pytest

from tests.portal.conftest import make_settings, running_portal
from tests.support import peek
from tests.support.poll import wait_until
from vm112_portal.__main__ import main

IDS = "select id, webhook_id from outbox"
HISTORY = 20_000  # delivered rows of 1 KiB: a copy long enough for commits to land during it


def _seed_history(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    try:
        with conn:
            conn.execute(
                """
                with recursive n(i) as (select 1 union all select i + 1 from n where i < :count)
                insert into outbox (webhook_id, event_type, session_id, body, state, created_at,
                                    next_attempt_at, attempts, delivered_at)
                select 'old-' || i, 'domain.validated', 'old' || i, printf('%1024s', ''),
                       'delivered', 0, 0, 1, 0
                from n
                """,
                {"count": HISTORY},
            )
    finally:
        conn.close()


def _rows(db_path: Path, sql: str) -> set[tuple[object, ...]]:
    return set(peek.rows(db_path, sql))


async def test_backup_while_the_wizard_writes_then_restore(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(tmp_path / "live")
    target = tmp_path / "backups" / "portal-copy.db"
    stop = asyncio.Event()
    async with running_portal(settings) as portal:
        _seed_history(settings.db_path)

        async def onboard() -> None:
            i = 0
            while not stop.is_set():
                answers = await portal.wizard(f"b{i}", f"shop{i}.pt")
                assert [a.status_code for a in answers] == [200, 200, 200]
                i += 1

        writer = asyncio.create_task(onboard())

        async def some_written() -> bool:
            # 5 wizards of 7 events each (the six stages and the first mail.checked)
            return len(_rows(settings.db_path, IDS)) >= HISTORY + 35

        await wait_until(some_written, timeout=20)  # 5 wizards on a loaded machine
        committed = _rows(settings.db_path, IDS)
        started = time.perf_counter()
        code = await asyncio.to_thread(
            main, ["backup", str(target)], {"PORTAL_DB": str(settings.db_path)}
        )
        took = time.perf_counter() - started
        during = len(_rows(settings.db_path, IDS)) - len(committed)
        stop.set()
        await writer
    assert code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"backup verified: {target} (") and out.count("\n") == 1
    assert during > 0  # the wizard committed while the backup ran

    # Restore: the copy becomes a fresh portal's database.
    restored = make_settings(tmp_path / "restored")
    restored.db_path.parent.mkdir()
    shutil.copy(target, restored.db_path)
    async with running_portal(restored) as fresh:
        health = await fresh.health()
        copied = _rows(restored.db_path, IDS)
    assert health["ok"] is True
    assert committed <= copied
    print(
        f"backup took {took * 1000:.0f} ms: {len(committed)} rows committed before it, "
        f"{during} during it, {len(copied)} in the copy"
    )
    # One consistent snapshot: a completed session has its infra record and its
    # onboarding.completed event (one transaction), never one without the others.
    completed = _rows(restored.db_path, "select session_id from sessions where step = 'completed'")
    infra = _rows(restored.db_path, "select session_id from infra")
    events = _rows(
        restored.db_path,
        "select session_id from outbox where event_type = 'onboarding.completed'",
    )
    assert completed == infra == events and len(completed) >= 5


@pytest.mark.parametrize(
    ("existing", "message"),
    [
        pytest.param(False, "there is no database at", id="no-database"),
        pytest.param(True, "already exists; choose a new path", id="target-exists"),
    ],
)
async def test_backup_refusals_are_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], existing: bool, message: str
) -> None:
    settings = make_settings(tmp_path)
    target = tmp_path / "copy.db"
    if existing:
        async with running_portal(settings):
            pass
        target.write_bytes(b"x")
    assert main(["backup", str(target)], {"PORTAL_DB": str(settings.db_path)}) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
