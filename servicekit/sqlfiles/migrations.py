"""Numbered, append-only schema files applied at start-up (PRAGMA user_version).

``migrate`` works on a plain sqlite3 connection (Ops migrates on its writer thread);
``apply_migrations`` is the same on an aiosqlite connection (the Portal). Both take the
pending files from ``pending_scripts`` and run each as one explicit transaction.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only its type: Ops, which has no aiosqlite, imports this module too
    import aiosqlite

_NUMBERED = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql\Z")


class SchemaTooNewError(Exception):
    """The database was migrated by a newer release than this code knows."""


def migration_files(folder: Path) -> list[tuple[int, Path]]:
    """Schema files in order; numbers must run 1, 2, 3... without gaps."""
    files = []
    for path in sorted(folder.glob("*.sql")):
        match = _NUMBERED.match(path.name)
        if not match:
            raise ValueError(f"schema file {path.name} is not named NNNN_what.sql")
        files.append((int(match.group(1)), path))
    for expected, (number, path) in enumerate(files, start=1):
        if number != expected:
            raise ValueError(f"schema file {path.name}: expected number {expected:04d}")
    return files


def pending_scripts(folder: Path, current: int) -> tuple[int, list[str]]:
    """The latest version and the scripts that bring version ``current`` up to it.

    Each script is the whole file and its version bump inside BEGIN IMMEDIATE ... COMMIT
    (executescript commits any open transaction first, so the file runs as one unit).
    Refuses a database newer than the code, so a downgrade cannot silently run against a
    schema it does not understand.
    """
    files = migration_files(folder)
    latest = len(files)
    if current > latest:
        raise SchemaTooNewError(
            f"the database schema is version {current} but this release knows only up to "
            f"{latest}; run the newer release or restore a backup made by this one"
        )
    scripts = [
        f"BEGIN IMMEDIATE;\n{path.read_text(encoding='utf-8')}\n;"
        f"PRAGMA user_version = {number};\nCOMMIT;"
        for number, path in files[current:]
    ]
    return latest, scripts


def migrate(conn: sqlite3.Connection, folder: Path) -> int:
    """Apply the files newer than the database; returns the resulting schema version."""
    row = conn.execute("PRAGMA user_version").fetchone()
    latest, scripts = pending_scripts(folder, int(row[0]) if row else 0)
    for script in scripts:
        try:
            conn.executescript(script)
        except Exception:
            if conn.in_transaction:
                conn.rollback()
            raise
    return latest


async def apply_migrations(conn: aiosqlite.Connection, folder: Path) -> int:
    """``migrate`` for an aiosqlite connection."""
    async with conn.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    latest, scripts = pending_scripts(folder, int(row[0]) if row else 0)
    for script in scripts:
        try:
            await conn.executescript(script)
        except Exception:
            if conn.in_transaction:
                await conn.rollback()
            raise
    return latest
