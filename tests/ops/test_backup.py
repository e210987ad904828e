"""Backup while ingesting, restore into a fresh service, find every acknowledged event."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from contextlib import suppress
from pathlib import Path

import httpx

from tests.support import peek
from tests.support.apps import ops_env, ops_process
from tests.support.credentials import AUTH
from tests.support.poll import wait_until
from tests.support.runner import free_port
from tests.support.signer import post_event


def _cli(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vm122_ops", *args],
        env=ops_env(db),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_backup_under_ingest_then_restore(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    live = tmp_path / "live" / "ops.db"
    process = ops_process(live, port, tmp_path / "live.log").start()
    acknowledged: list[str] = []
    stop = asyncio.Event()
    try:
        await process.wait_ready(url)

        async def ingest(client: httpx.AsyncClient) -> None:
            for i in range(3000):
                if stop.is_set():
                    return
                webhook_id = f"b{i}"
                response = await post_event(
                    client, "onboarding.started", f"s{i}", webhook_id=webhook_id
                )
                assert response.status_code == 202
                acknowledged.append(webhook_id)

        async with httpx.AsyncClient(base_url=url, timeout=5) as client:
            task = asyncio.create_task(ingest(client))
            with suppress(AssertionError):  # 4 s at the most, as before
                await wait_until(lambda: len(acknowledged) >= 100, timeout=4)
            before_backup = list(acknowledged)
            result = await asyncio.to_thread(
                _cli, "backup", str(tmp_path / "b" / "copy.db"), db=live
            )
            during = len(acknowledged)
            stop.set()
            await asyncio.wait_for(task, timeout=30)
    finally:
        process.stop()
    assert result.returncode == 0, result.stderr
    assert "backup verified" in result.stdout
    assert during > len(before_backup)  # ingest went on while the backup ran
    # Restore: the copy becomes a fresh service's database.
    restored = tmp_path / "restored" / "ops.db"
    restored.parent.mkdir()
    shutil.copy(tmp_path / "b" / "copy.db", restored)
    port = free_port()
    process = ops_process(restored, port, tmp_path / "restored.log").start()
    try:
        await process.wait_ready(f"http://127.0.0.1:{port}")
        async with httpx.AsyncClient() as client:
            funnel = (
                await client.get(
                    f"http://127.0.0.1:{port}/api/v1/onboard/funnel",
                    params={"hours": 720},
                    headers=AUTH,
                )
            ).json()
    finally:
        process.stop()
    stored = {row[0] for row in peek.rows(restored, "select event_id from webhook_events")}
    assert set(before_backup) <= stored
    assert funnel["cohort"] == len(stored)


def test_backup_refuses_an_existing_target_and_a_missing_database(tmp_path: Path) -> None:
    target = tmp_path / "exists.db"
    target.write_bytes(b"x")
    missing = _cli("backup", str(target), db=tmp_path / "nothing.db")
    assert missing.returncode == 2
    assert "there is no database" in missing.stderr
    assert _cli("purge", "--dry-run", db=tmp_path / "ops.db").returncode == 0
    taken = _cli("backup", str(target), db=tmp_path / "ops.db")
    assert taken.returncode == 2
    assert "already exists" in taken.stderr
    assert "Traceback" not in taken.stderr
