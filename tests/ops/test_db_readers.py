"""vm122_ops/store/db.py readers: a read is one function run whole on a reader thread, so a
caller cancelled mid-read (a Desk stream whose client went away mid-replay) cannot leave
a snapshot open on a reader, and every reader still answers afterwards."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from vm122_ops.store import stored_events as stored
from vm122_ops.store.db import READERS, Database


async def test_a_read_cancelled_mid_run_leaves_no_transaction_behind(tmp_path: Path) -> None:
    db = Database(tmp_path / "ops.db")
    await db.open()
    try:
        started = threading.Event()
        release = threading.Event()

        def slow(conn: sqlite3.Connection) -> bool:
            started.set()
            release.wait(5)
            return conn.in_transaction

        reading = asyncio.create_task(db.read(slow))
        assert await asyncio.to_thread(started.wait, 5)
        reading.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reading
        release.set()
        # The cancelled read's thread goes on to its end: its connection is back in the
        # pool once it has rolled back, so taking every connection waits for exactly that.
        assert await asyncio.to_thread(idle_readers, db) == [False] * READERS
        # Every reader answers, more reads than readers at once, and none is left inside
        # a transaction once they are done.
        assert await db.ping()
        heads = await asyncio.gather(*(db.read(stored.head) for _ in range(3 * READERS)))
        assert heads == [0] * (3 * READERS)
        assert await db.read(in_snapshot) is True
        assert not any(conn.in_transaction for conn in db._reader_conns)
    finally:
        await db.close()


def in_snapshot(conn: sqlite3.Connection) -> bool:
    """Inside db.read a function always runs in its snapshot."""
    return conn.in_transaction


def idle_readers(db: Database) -> list[bool]:
    """Each reader connection's ``in_transaction``, read while holding all of them: a read
    returns its connection after its ROLLBACK, so this waits for every read under way."""
    held = [db._readers.get(timeout=5) for _ in range(READERS)]
    try:
        return [conn.in_transaction for conn in held]
    finally:
        for conn in held:
            db._readers.put(conn)
