"""vm122_ops/db.py readers: a snapshot left open by a cancelled block (a Desk stream
whose client went away mid-replay) must not poison the reader for later requests."""

from __future__ import annotations

from pathlib import Path

from vm122_ops.db import Database


async def test_a_reader_left_inside_a_transaction_heals_on_next_use(tmp_path: Path) -> None:
    db = Database(tmp_path / "ops.db")
    await db.open()
    try:
        for conn, _ in db._readers:
            await conn.execute("BEGIN")  # what a cancelled read() block leaves behind
            assert conn.in_transaction
        assert await db.ping()  # the first reader
        async with db.read():  # holding the first, the next read gets the second reader
            rows = await db.fetch_all("max_event_row", {})
        assert len(rows) == 1
        assert not any(conn.in_transaction for conn, _ in db._readers)
    finally:
        await db.close()
