"""SQLite access: one batching writer connection, a few read-only reader connections.

Every write is a unit of work (a function of the writer connection) run inside BEGIN
IMMEDIATE. Units submitted while a commit is in flight are grouped into the next
transaction (group commit): each unit gets its own SAVEPOINT, so one failing unit does not
undo the others, and one fsync (synchronous=FULL) makes the whole group durable before any
caller hears back. Readers are aiosqlite connections on WAL snapshots, never blocked by
the writer.

The writer is a plain sqlite3 connection owned by one dedicated thread, the same model as
aiosqlite, but a whole batch runs in one hop to that thread: through aiosqlite each of an
event's ~10 statements was its own hop, and those hops were most of the ingest time.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from sqlfiles import Queries, apply_migrations, load_queries, private_file
from vm122_ops.errors import StorageUnavailable

log = logging.getLogger("vm122_ops.db")

SQL_DIR = Path(__file__).resolve().parent.parent / "sql" / "ops"
MAX_BATCH = 128
READERS = 2
# The writer checkpoints the WAL itself only past this many pages (~80 MB at 4 KiB).
# Litestream (deploy/litestream.yml) replicates the WAL and checkpoints it at 1,000 and
# 10,000 pages; a checkpoint by anyone else between its syncs makes it take a fresh full
# snapshot (litestream.io/tips, "Disable autocheckpoints for high write load servers").
# Above its 10,000 this never fires while Litestream runs, yet bounds the WAL without it.
WAL_AUTOCHECKPOINT_PAGES = 20_000

T = TypeVar("T")
Unit = Callable[[sqlite3.Connection], Any]


@dataclass
class _Job:
    unit: Unit
    future: asyncio.Future[Any]


class Database:
    def __init__(
        self,
        path: Path,
        *,
        after_commit: Callable[[list[Any]], None] | None = None,
    ) -> None:
        self.path = path
        self.queries: Queries = load_queries(SQL_DIR / "queries")
        self.after_commit = after_commit
        self._writer: sqlite3.Connection | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ops-db-writer")
        self._readers: list[tuple[aiosqlite.Connection, asyncio.Lock]] = []
        self._jobs: asyncio.Queue[_Job] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        private_file(self.path)  # 0600, -wal and -shm too
        async with aiosqlite.connect(self.path, isolation_level=None) as migrator:
            await migrator.execute("PRAGMA journal_mode = WAL")
            await apply_migrations(migrator, SQL_DIR / "schema")
        self._writer = await self._on_writer_thread(self._connect_writer)
        for _ in range(READERS):
            reader = await aiosqlite.connect(
                f"file:{self.path.resolve()}?mode=ro", uri=True, isolation_level=None
            )
            reader.row_factory = sqlite3.Row
            await reader.execute("PRAGMA query_only = ON")
            await reader.execute("PRAGMA busy_timeout = 5000")
            self._readers.append((reader, asyncio.Lock()))
        self._task = asyncio.create_task(self._write_loop(), name="ops-db-writer")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for reader, _ in self._readers:
            await reader.close()
        self._readers.clear()
        if self._writer is not None:
            await self._on_writer_thread(self._writer.close)
            self._writer = None
        self._thread.shutdown(wait=True)

    def _connect_writer(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode = WAL")
        # FULL: the WAL is fsynced at every commit, so a 2xx survives power loss.
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        # 5 s, as Litestream asks (litestream.io/tips, "Busy timeout"): its checkpoints
        # take the write lock for a moment.
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
        return conn

    async def _on_writer_thread(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[aiosqlite.Connection]:
        """A read-only connection inside one read transaction: a consistent snapshot.

        The connection is held exclusively for the block, so another coroutine's
        statements cannot end the snapshot early; a free reader is preferred.
        """
        conn, lock = next(((c, lk) for c, lk in self._readers if not lk.locked()), self._readers[0])
        async with lock:
            try:
                await conn.execute("BEGIN")
            except sqlite3.OperationalError:
                # A block cancelled around its BEGIN or before its COMMIT (a Desk stream
                # whose client left mid-replay) left a transaction open on this reader,
                # or its BEGIN was still queued: end that one, then start ours.
                with suppress(sqlite3.OperationalError):
                    await conn.execute("ROLLBACK")
                await conn.execute("BEGIN")
            try:
                yield conn
            finally:
                await conn.execute("COMMIT")

    async def read_fn(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` on a reader's thread inside one snapshot, where
        ``conn`` is that reader's sqlite3 connection: a read is one whole function."""
        async with self.read() as conn:
            # aiosqlite runs a function on the connection's own thread with _execute.
            run: Callable[..., Awaitable[T]] = conn._execute
            return await run(fn, conn._conn, *args)

    async def write(self, unit: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``unit`` on the writer thread in a transaction; returns once it is durable."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        await self._jobs.put(_Job(unit, future))
        return await future

    async def fetch_all(self, name: str, params: dict[str, Any]) -> list[sqlite3.Row]:
        async with self.read() as conn, conn.execute(self.queries[name], params) as cursor:
            return list(await cursor.fetchall())

    async def fetch_one(self, name: str, params: dict[str, Any]) -> sqlite3.Row | None:
        rows = await self.fetch_all(name, params)
        return rows[0] if rows else None

    async def ping(self) -> bool:
        """True when the database answers a read and the writer is alive."""
        if self._task is None or self._task.done():
            return False
        try:
            async with self.read() as conn, conn.execute("select 1") as cursor:
                return (await cursor.fetchone()) is not None
        except (sqlite3.Error, ValueError):
            return False

    async def _write_loop(self) -> None:
        while True:
            jobs = [await self._jobs.get()]
            while len(jobs) < MAX_BATCH and not self._jobs.empty():
                jobs.append(self._jobs.get_nowait())
            try:
                await self._run_batch(jobs)
            except Exception as exc:  # never let the writer die: fail this batch, go on
                log.exception("writer batch crashed")
                for job in jobs:
                    if not job.future.done():
                        job.future.set_exception(StorageUnavailable(str(exc)))

    async def _run_batch(self, jobs: list[_Job]) -> None:
        try:
            outcomes = await self._on_writer_thread(self._commit, [job.unit for job in jobs])
        except StorageUnavailable as exc:
            for job in jobs:
                if not job.future.done():
                    job.future.set_exception(exc)
            return
        if self.after_commit is not None:
            committed = [result for result, error in outcomes if error is None]
            try:
                self.after_commit(committed)
            except Exception:
                log.exception("after-commit hook failed")
        for job, (result, error) in zip(jobs, outcomes, strict=True):
            if job.future.done():
                continue
            if error is not None:
                job.future.set_exception(error)
            else:
                job.future.set_result(result)

    def _commit(self, units: list[Unit]) -> list[tuple[Any, Exception | None]]:
        """One transaction for a batch of units (runs on the writer thread)."""
        conn = self._writer
        assert conn is not None
        outcomes: list[tuple[Any, Exception | None]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for unit in units:
                conn.execute("SAVEPOINT unit")
                try:
                    result = unit(conn)
                except Exception as exc:  # the unit's own error: undo it, keep the others
                    conn.execute("ROLLBACK TO unit")
                    conn.execute("RELEASE unit")
                    if isinstance(exc, sqlite3.Error) and not isinstance(
                        exc, sqlite3.IntegrityError
                    ):
                        exc = StorageUnavailable(f"the event store cannot be written ({exc})")
                    outcomes.append((None, exc))
                else:
                    conn.execute("RELEASE unit")
                    outcomes.append((result, None))
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            log.error("write transaction failed: %s", exc)
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    log.exception("rollback failed")
            raise StorageUnavailable(f"the event store cannot be written ({exc})") from None
        return outcomes
