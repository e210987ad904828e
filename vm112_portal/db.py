"""The portal's SQLite: one writer connection behind a lock, one read-only reader.

Every write is one unit of work under BEGIN IMMEDIATE (``async with db.transaction() as tx``).
The wizard's state change and the outbox rows it emits commit together, and the commit is
fsynced (WAL, synchronous=FULL) before the caller goes on. Commit listeners (the outbox
dispatcher's wake-up) run only after the commit.

The outbox dispatcher does not use these connections: it has its own, on its own thread
(vm112_portal/outbox/books.py), so its reads and marks never take the wizard's lock, its writer
thread or its reader thread.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from servicekit.resources import folder
from servicekit.sqlfiles import Queries, apply_migrations, load_queries, private_file
from vm112_portal.errors import StorageUnavailable

log = logging.getLogger("vm112_portal.db")

SQL_DIR = folder("vm112_portal", "sql", "sql/portal")


class Transaction:
    """Named queries run on the writer inside one open transaction."""

    def __init__(self, conn: aiosqlite.Connection, queries: Queries) -> None:
        self._conn = conn
        self._queries = queries

    async def execute(self, name: str, params: dict[str, Any]) -> int:
        """Run a statement; returns the number of changed rows."""
        async with self._conn.execute(self._queries[name], params) as cursor:
            await cursor.fetchall()  # drain RETURNING rows, if any
            return cursor.rowcount

    async def fetch_all(self, name: str, params: dict[str, Any]) -> list[sqlite3.Row]:
        async with self._conn.execute(self._queries[name], params) as cursor:
            return list(await cursor.fetchall())

    async def fetch_one(self, name: str, params: dict[str, Any]) -> sqlite3.Row | None:
        rows = await self.fetch_all(name, params)
        return rows[0] if rows else None


class Database:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.queries: Queries = load_queries(SQL_DIR / "queries")
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._listeners: list[Callable[[], None]] = []

    async def open(self) -> None:
        private_file(self.path)  # 0600, -wal and -shm too
        writer = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            await writer.execute("PRAGMA journal_mode = WAL")
            # FULL: an outbox row survives power loss once the wizard step has answered.
            await writer.execute("PRAGMA synchronous = FULL")
            await writer.execute("PRAGMA busy_timeout = 5000")
            await apply_migrations(writer, SQL_DIR / "schema")
            writer.row_factory = sqlite3.Row
            reader = await aiosqlite.connect(
                f"file:{self.path.resolve()}?mode=ro", uri=True, isolation_level=None
            )
        except BaseException:
            await writer.close()
            raise
        try:
            await reader.execute("PRAGMA busy_timeout = 5000")
        except BaseException:
            await reader.close()
            await writer.close()
            raise
        reader.row_factory = sqlite3.Row
        self._writer, self._reader = writer, reader

    async def close(self) -> None:
        for conn in (self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._reader = self._writer = None

    def on_commit(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every successful commit."""
        self._listeners.append(listener)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """One unit of work under BEGIN IMMEDIATE; committed (durably) on a clean exit."""
        conn = self._writer
        if conn is None:
            raise StorageUnavailable("the portal database is not open")
        async with self._lock:
            try:
                await conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StorageUnavailable(f"the portal database cannot be written ({exc})") from exc
            try:
                yield Transaction(conn, self.queries)
                await conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    try:
                        await conn.execute("ROLLBACK")
                    except sqlite3.Error:
                        log.exception("rollback failed")
                if isinstance(exc, sqlite3.Error):
                    raise StorageUnavailable(
                        f"the portal database cannot be written ({exc})"
                    ) from exc
                raise
        for listener in self._listeners:
            listener()

    async def fetch_all(self, name: str, params: dict[str, Any]) -> list[sqlite3.Row]:
        if self._reader is None:
            raise StorageUnavailable("the portal database is not open")
        async with self._reader.execute(self.queries[name], params) as cursor:
            return list(await cursor.fetchall())

    async def fetch_one(self, name: str, params: dict[str, Any]) -> sqlite3.Row | None:
        rows = await self.fetch_all(name, params)
        return rows[0] if rows else None

    async def ping(self) -> bool:
        if self._reader is None:
            return False
        try:
            async with self._reader.execute("select 1") as cursor:
                return (await cursor.fetchone()) is not None
        except (sqlite3.Error, ValueError):
            return False
