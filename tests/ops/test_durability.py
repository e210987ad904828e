"""Acknowledged means durable: fsync at commit, a SIGKILL loses nothing acknowledged,
and a store that cannot be written answers 503, never 2xx."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import suppress
from pathlib import Path
from typing import Any

import httpx

from tests.ops.conftest import NOW, Ops
from tests.support import peek
from tests.support.apps import ops_process
from tests.support.poll import wait_until
from tests.support.runner import free_port
from tests.support.signer import post_event


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
    orphans = peek.value(
        ops.db_path,
        "select count(*) from webhook_events e left join onboard_sessions s"
        " using (session_id) where s.session_id is null",
    )
    assert orphans == 0


async def test_sigkill_loses_no_acknowledged_event(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = ops_process(tmp_path / "ops.db", port, tmp_path / "ops.log").start()
    acknowledged: set[str] = set()
    try:
        await process.wait_ready(url)

        async def sender(worker: int, client: httpx.AsyncClient) -> None:
            for i in range(400):
                webhook_id = f"w{worker}-{i}"
                try:
                    response = await post_event(
                        client,
                        "onboarding.started",
                        f"s{worker}-{i}",
                        webhook_id=webhook_id,
                        url=f"{url}/api/v1/webhooks/onboard",
                    )
                except httpx.TransportError:
                    return
                if response.status_code == 202:
                    acknowledged.add(webhook_id)

        async with httpx.AsyncClient(timeout=5) as client:
            senders = [asyncio.create_task(sender(w, client)) for w in range(8)]
            # Kill once a good number is acknowledged (or after 5 s: then the count fails).
            with suppress(AssertionError):
                await wait_until(lambda: len(acknowledged) >= 150, timeout=5, interval=0.05)
            process.kill()
            await asyncio.wait_for(asyncio.gather(*senders), timeout=30)
    finally:
        process.stop()
    assert len(acknowledged) >= 150
    restarted = ops_process(tmp_path / "ops.db", port, tmp_path / "ops.log").start()
    try:
        await restarted.wait_ready(url)
    finally:
        restarted.stop()
    stored = peek.stored_event_ids(tmp_path / "ops.db")
    sessions = peek.value(tmp_path / "ops.db", "select count(*) from onboard_sessions")
    assert acknowledged <= set(stored)
    assert len(stored) == len(set(stored))
    assert sessions == len(stored)
