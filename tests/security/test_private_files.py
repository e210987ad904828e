"""Issue 17, finding 10: both services' databases (with their -wal and -shm) and their
backups are created readable by their owner only (0600), whatever the umask; a database
left world-readable by an older release is tightened when opened."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from servicekit.sqlfiles import backup_database
from vm112_portal.db import Database as PortalDatabase
from vm122_ops.store.db import Database as OpsDatabase


@pytest.fixture(autouse=True)
def open_umask() -> Iterator[None]:
    old = os.umask(0o022)  # the usual login umask: new files 0644
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def files_of(db: Path) -> list[Path]:
    return [p for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists()]


async def test_portal_database_and_backup_are_0600(tmp_path: Path) -> None:
    db = PortalDatabase(tmp_path / "var" / "portal.db")
    await db.open()
    try:
        async with db.transaction() as tx:
            await tx.execute(
                "insert_session",
                {"session_id": "s1", "now": 1.0, "reference": "ABCD2345", "secret_hash": None},
            )
        found = files_of(db.path)
        assert len(found) == 3
        assert {p.name: mode(p) for p in found} == {p.name: 0o600 for p in found}
    finally:
        await db.close()
    report = backup_database(db.path, tmp_path / "backups" / "p.db", ("sessions",))
    assert mode(report.path) == 0o600


async def test_ops_database_and_backup_are_0600(tmp_path: Path) -> None:
    db = OpsDatabase(tmp_path / "ops.db")
    await db.open()
    try:
        found = files_of(db.path)
        assert found and {p.name: mode(p) for p in found} == {p.name: 0o600 for p in found}
    finally:
        await db.close()
    report = backup_database(db.path, tmp_path / "o.db", ("webhook_events",))
    assert mode(report.path) == 0o600


async def test_a_world_readable_database_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "portal.db"
    path.touch(mode=0o644)
    db = PortalDatabase(path)
    await db.open()
    await db.close()
    assert mode(path) == 0o600
