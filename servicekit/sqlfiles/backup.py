"""Online backup: a consistent copy of the live database, verified before it is kept.

SQLite's backup API copies from one read snapshot, so the copy is consistent even while
the service keeps ingesting (WAL: the backup does not block the writer). The copy is
written next to the target, checked with PRAGMA integrity_check, fsynced, then renamed
into place, so PATH is either absent or a complete, verified database.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from servicekit.sqlfiles.private import private_file


class BackupError(Exception):
    """The backup could not be made or did not verify."""


@dataclass(frozen=True)
class BackupReport:
    path: Path
    bytes: int
    tables: dict[str, int]

    def describe(self) -> str:
        """The line both services' ``backup`` commands print."""
        counts = ", ".join(f"{n} {table}" for table, n in self.tables.items())
        return f"backup verified: {self.path} ({self.bytes} bytes; {counts})"


def backup_database(source: Path, target: Path, tables: tuple[str, ...]) -> BackupReport:
    if not source.exists():
        raise BackupError(f"there is no database at {source}")
    if target.exists():
        raise BackupError(f"{target} already exists; choose a new path")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        private_file(partial)  # the copy holds the same data: owner only (0600)
        with (
            sqlite3.connect(f"file:{source.resolve()}?mode=ro", uri=True) as src,
            sqlite3.connect(partial) as dst,
        ):
            src.execute("PRAGMA busy_timeout = 5000")
            src.backup(dst)
        with sqlite3.connect(partial) as copy:
            # The copy is a standalone file: no WAL beside it.
            copy.execute("PRAGMA journal_mode = DELETE")
            verdict = copy.execute("PRAGMA integrity_check").fetchone()[0]
            if verdict != "ok":
                raise BackupError(f"the copy failed its integrity check: {verdict}")
            counts = {
                table: int(copy.execute(f"select count(*) from {table}").fetchone()[0])  # noqa: S608
                for table in tables
            }
        fd = os.open(partial, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        partial.rename(target)
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"backup failed: {exc}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BackupReport(path=target, bytes=target.stat().st_size, tables=counts)
