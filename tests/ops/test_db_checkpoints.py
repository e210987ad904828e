"""vm122_ops/store/db.py and Litestream: the writer leaves checkpoints to Litestream while it runs
(deploy/litestream.yml checkpoints at 1,000 and 10,000 WAL pages) and waits on its locks."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support import peek
from vm122_ops.store.db import WAL_AUTOCHECKPOINT_PAGES, Database

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _writer_pragmas(db: Database) -> tuple[int, int, str]:
    conn = db._writer
    assert conn is not None
    return (
        conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0],
        conn.execute("PRAGMA busy_timeout").fetchone()[0],
        conn.execute("PRAGMA journal_mode").fetchone()[0],
    )


async def test_the_writer_checkpoints_only_above_litestreams_forced_checkpoint(
    tmp_path: Path,
) -> None:
    db = Database(tmp_path / "ops.db")
    await db.open()
    try:
        pragmas = await db._on_writer_thread(_writer_pragmas, db)
    finally:
        await db.close()
    assert pragmas == (20_000, 5000, "wal")
    config = (DEPLOY / "litestream.yml").read_text()
    assert re.findall(r"^ +max-checkpoint-page-count: (\d+)$", config, re.M) == ["10000"]
    assert WAL_AUTOCHECKPOINT_PAGES > 10_000


def _pages(path: Path) -> int:
    return path.stat().st_size // 4096


async def test_without_litestream_the_wal_stays_bounded(tmp_path: Path) -> None:
    """Nobody else checkpoints here: the writer's own autocheckpoint resets the WAL."""
    path = tmp_path / "ops.db"
    db = Database(path)
    await db.open()
    payload = "x" * 3000  # about one 4 KiB page per row
    try:
        await db.write(lambda conn: conn.execute("create table filler (v text)"))
        for _ in range(25):  # 25 x 1,000 pages: past the threshold
            await db.write(
                lambda conn: conn.executemany("insert into filler values (?)", [(payload,)] * 1000)
            )
        wal_pages = _pages(Path(f"{path}-wal"))
    finally:
        await db.close()
    assert wal_pages < WAL_AUTOCHECKPOINT_PAGES + 1100
    assert peek.value(path, "select count(*) from filler") == 25_000
