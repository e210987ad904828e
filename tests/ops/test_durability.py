"""Acknowledged means durable: fsync at commit, a SIGKILL loses nothing acknowledged,
and a store that cannot be written answers 503, never 2xx."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from tests.loopback import free_port
from tests.ops.conftest import KEY, NOW, Ops
from vm122_ops.signatures import sign

SECRET = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  # KEY, base64
TOKEN = "durability-token-0123456789"


def _pragma(conn: sqlite3.Connection, statement: str) -> Any:
    return conn.execute(statement).fetchone()


async def test_writer_fsyncs_every_commit(ops: Ops) -> None:
    # Read on the writer connection itself, not on a new connection with its defaults.
    assert (await ops.db.write(lambda c: _pragma(c, "PRAGMA synchronous")))[0] == 2  # FULL
    assert (await ops.db.write(lambda c: _pragma(c, "PRAGMA journal_mode")))[0] == "wal"


async def test_a_full_disk_answers_503_and_stores_nothing_half(ops: Ops) -> None:
    assert (await ops.send("onboarding.started", "s", NOW - 10)).status_code == 202
    pages = (await ops.db.write(lambda c: _pragma(c, "PRAGMA page_count")))[0]
    # Simulate a full disk: the file may not grow past its current size.
    await ops.db.write(lambda c: _pragma(c, f"PRAGMA max_page_count = {pages}"))
    refused = []
    for i in range(40):
        response = await ops.send("domain.validated", f"full{i}", NOW - 5, pad="x" * 4000)
        refused.append(response.status_code)
        if response.status_code == 503:
            break
    assert refused[-1] == 503
    assert all(code in (202, 503) for code in refused)
    last = await ops.client.get("/healthz")
    assert last.status_code == 200  # reads still work
    stored_before = await ops.count()
    await ops.db.write(lambda c: _pragma(c, "PRAGMA max_page_count = 1073741823"))
    again = await ops.send("domain.validated", "after", NOW - 1)
    assert again.status_code == 202
    assert await ops.count() == stored_before + 1
    # Every stored event has its session row: nothing half-stored.
    with sqlite3.connect(ops.db_path) as conn:
        orphans = conn.execute(
            "select count(*) from webhook_events e left join onboard_sessions s"
            " using (session_id) where s.session_id is null"
        ).fetchone()[0]
    assert orphans == 0


def _start(db: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "OPS_DB": str(db),
        "OPS_PORT": str(port),
        "OPS_WEBHOOK_SECRET": SECRET,
        "OPS_API_TOKEN": TOKEN,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "vm122_ops"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _wait_ready(url: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(200):
            try:
                if (await client.get(f"{url}/healthz", timeout=1)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("Ops did not start")


async def test_sigkill_loses_no_acknowledged_event(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = _start(tmp_path / "ops.db", port)
    acknowledged: set[str] = set()
    try:
        await _wait_ready(url)

        async def sender(worker: int, client: httpx.AsyncClient) -> None:
            for i in range(400):
                webhook_id = f"w{worker}-{i}"
                body = orjson.dumps(
                    {
                        "type": "onboarding.started",
                        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                        "data": {"session_id": f"s{worker}-{i}", "domain": "example.com"},
                    }
                )
                stamp = int(time.time())
                headers = {
                    "content-type": "application/json",
                    "webhook-id": webhook_id,
                    "webhook-timestamp": str(stamp),
                    "webhook-signature": sign(KEY, webhook_id, stamp, body),
                }
                try:
                    response = await client.post(
                        f"{url}/api/v1/webhooks/onboard", content=body, headers=headers, timeout=5
                    )
                except httpx.TransportError:
                    return
                if response.status_code == 202:
                    acknowledged.add(webhook_id)

        async with httpx.AsyncClient() as client:
            senders = [asyncio.create_task(sender(w, client)) for w in range(8)]
            for _ in range(100):  # kill once a good number is acknowledged
                if len(acknowledged) >= 150:
                    break
                await asyncio.sleep(0.05)
            process.send_signal(signal.SIGKILL)
            await asyncio.wait_for(asyncio.gather(*senders), timeout=30)
    finally:
        process.kill()
        process.wait(timeout=10)
    assert len(acknowledged) >= 150
    restarted = _start(tmp_path / "ops.db", port)
    try:
        await _wait_ready(url)
    finally:
        restarted.terminate()
        restarted.wait(timeout=10)
    with sqlite3.connect(tmp_path / "ops.db") as conn:
        stored = [row[0] for row in conn.execute("select event_id from webhook_events")]
        sessions = conn.execute("select count(*) from onboard_sessions").fetchone()[0]
    assert acknowledged <= set(stored)
    assert len(stored) == len(set(stored))
    assert sessions == len(stored)
