"""Numbered, append-only schema files applied at start-up (PRAGMA user_version)."""

from __future__ import annotations

import re
from pathlib import Path

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


async def apply_migrations(conn: aiosqlite.Connection, folder: Path) -> int:
    """Apply the files newer than the database, each in its own transaction.

    Returns the resulting schema version. Refuses a database newer than the code, so a
    downgrade cannot silently run against a schema it does not understand.
    """
    files = migration_files(folder)
    async with conn.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    current = int(row[0]) if row else 0
    latest = len(files)
    if current > latest:
        raise SchemaTooNewError(
            f"the database schema is version {current} but this release knows only up to "
            f"{latest}; run the newer release or restore a backup made by this one"
        )
    for number, path in files[current:]:
        script = path.read_text(encoding="utf-8")
        try:
            # executescript commits any open transaction first, so the whole file and the
            # version bump run as one explicit transaction.
            await conn.executescript(
                f"BEGIN IMMEDIATE;\n{script}\n;PRAGMA user_version = {number};\nCOMMIT;"
            )
        except Exception:
            if conn.in_transaction:
                await conn.rollback()
            raise
    return latest
