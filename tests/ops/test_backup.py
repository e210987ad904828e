"""Backup while ingesting, restore into a fresh service, find every acknowledged event."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson

from tests.loopback import free_port
from tests.ops.conftest import KEY
from tests.ops.test_durability import SECRET, TOKEN, _start, _wait_ready
from vm122_ops.signatures import sign


def _cli(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPS_DB": str(db), "OPS_WEBHOOK_SECRET": SECRET, "OPS_API_TOKEN": TOKEN}
    return subprocess.run(
        [sys.executable, "-m", "vm122_ops", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_backup_under_ingest_then_restore(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    live = tmp_path / "live" / "ops.db"
    process = _start(live, port)
    acknowledged: list[str] = []
    stop = asyncio.Event()
    try:
        await _wait_ready(url)

        async def ingest(client: httpx.AsyncClient) -> None:
            for i in range(3000):
                if stop.is_set():
                    return
                webhook_id = f"b{i}"
                now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                body = orjson.dumps(
                    {
                        "type": "onboarding.started",
                        "timestamp": now,
                        "data": {"session_id": f"s{i}", "domain": "example.com"},
                    }
                )
                stamp = int(time.time())
                response = await client.post(
                    f"{url}/api/v1/webhooks/onboard",
                    content=body,
                    timeout=5,
                    headers={
                        "content-type": "application/json",
                        "webhook-id": webhook_id,
                        "webhook-timestamp": str(stamp),
                        "webhook-signature": sign(KEY, webhook_id, stamp, body),
                    },
                )
                assert response.status_code == 202
                acknowledged.append(webhook_id)

        async with httpx.AsyncClient() as client:
            task = asyncio.create_task(ingest(client))
            for _ in range(200):
                if len(acknowledged) >= 100:
                    break
                await asyncio.sleep(0.02)
            before_backup = list(acknowledged)
            result = await asyncio.to_thread(
                _cli, "backup", str(tmp_path / "b" / "copy.db"), db=live
            )
            during = len(acknowledged)
            stop.set()
            await asyncio.wait_for(task, timeout=30)
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert result.returncode == 0, result.stderr
    assert "backup verified" in result.stdout
    assert during > len(before_backup)  # ingest went on while the backup ran
    # Restore: the copy becomes a fresh service's database.
    restored = tmp_path / "restored" / "ops.db"
    restored.parent.mkdir()
    shutil.copy(tmp_path / "b" / "copy.db", restored)
    port = free_port()
    process = _start(restored, port)
    try:
        await _wait_ready(f"http://127.0.0.1:{port}")
        async with httpx.AsyncClient() as client:
            funnel = (
                await client.get(
                    f"http://127.0.0.1:{port}/api/v1/onboard/funnel",
                    params={"hours": 720},
                    headers={"Authorization": f"Bearer {TOKEN}"},
                )
            ).json()
    finally:
        process.terminate()
        process.wait(timeout=10)
    with sqlite3.connect(restored) as conn:
        stored = {row[0] for row in conn.execute("select event_id from webhook_events")}
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
