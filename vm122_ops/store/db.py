"""SQLite access: one batching writer thread, a small pool of read-only reader threads.

Writes: every write is a unit of work (a function of the writer connection) run inside
BEGIN IMMEDIATE. Units submitted while a commit is in flight are grouped into the next
transaction (group commit): each unit gets its own SAVEPOINT, so one failing unit does not
undo the others, and one fsync (synchronous=FULL) makes the whole group durable before any
caller hears back. The writer is a plain sqlite3 connection owned by one thread, and a
whole batch runs in one hop to it.

A batch of ingest units only (``ingest``: each stores one event and touches nothing but
the connection) first runs without the savepoints, a large share of the writer's time
per event: when every unit succeeds the outcome is the same. When one raises, the whole
transaction is rolled back and the batch runs again the usual way, each unit in its
savepoint, so the failing unit still fails alone and nothing of it is stored.

Reads: ``await db.read(fn, *args)`` runs ``fn(conn, *args)`` whole on a reader thread,
inside one read transaction (a consistent WAL snapshot, never blocked by the writer), and
returns what ``fn`` returns: one hop per read, like the writer's batches. Each reader
thread has its own read-only sqlite3 connection. No connection is ever held across an
await, so a caller cancelled mid-read (a Desk stream whose client left) cannot leave a
transaction open: the function still runs to its end on its thread and the answer is
dropped. This replaced aiosqlite readers, which made each statement its own hop and
needed a repair for snapshots that cancelled blocks left open.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import queue
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeAlias, TypeVar

from servicekit.background import stop
from servicekit.sqlfiles import migrate, private_file
from vm122_ops.errors import StorageUnavailable
from vm122_ops.store.sql import SQL_DIR

if TYPE_CHECKING:
    from vm122_ops.ingest.storing import IngestResult
    from vm122_ops.tickets.work import TicketChange

log = logging.getLogger("vm122_ops.db")

__all__ = ["SQL_DIR", "Database"]

MAX_BATCH = 128
READERS = 2
# The writer checkpoints the WAL itself only past this many pages (~80 MB at 4 KiB).
# Litestream (deploy/litestream.yml) replicates the WAL and checkpoints it at 1,000 and
# 10,000 pages; a checkpoint by anyone else between its syncs makes it take a fresh full
# snapshot (litestream.io/tips, "Disable autocheckpoints for high write load servers").
# Above its 10,000 this never fires while Litestream runs, yet bounds the WAL without it.
WAL_AUTOCHECKPOINT_PAGES = 20_000

T = TypeVar("T")
P = ParamSpec("P")
Unit = Callable[[sqlite3.Connection], Any]
# What committed units announce: stored events, and agents' ticket changes.
Announced: TypeAlias = "IngestResult | TicketChange"
AfterCommit = Callable[[list[Announced]], None]


@dataclass
class _Job:
    unit: Unit
    future: asyncio.Future[Any]
    announce: bool  # an ingest unit: its committed result goes to the after-commit hook
    # Only writes through the connection: may run again after a rollback (ingest units).
    rerunnable: bool = False


class Database:
    def __init__(self, path: Path, *, after_commit: AfterCommit | None = None) -> None:
        self.path = path
        self.after_commit = after_commit
        self._writer: sqlite3.Connection | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ops-db-writer")
        self._reader_threads = ThreadPoolExecutor(
            max_workers=READERS, thread_name_prefix="ops-db-reader"
        )
        # One connection per reader thread: a read takes a free one for its whole run.
        self._readers: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._reader_conns: list[sqlite3.Connection] = []
        self._stamp: sqlite3.Connection | None = None  # data_version's own connection
        self._jobs: asyncio.Queue[_Job] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        private_file(self.path)  # 0600, -wal and -shm too
        try:
            self._writer = await self._on_writer_thread(self._connect_writer)
            await self._on_writer_thread(migrate, self._writer, SQL_DIR / "schema")
            for _ in range(READERS):
                reader = self._connect_reader()
                self._reader_conns.append(reader)
                self._readers.put(reader)
            self._stamp = self._connect_reader()
            # Never wait on the event loop: a busy database answers no stamp instead.
            self._stamp.execute("PRAGMA busy_timeout = 0")
        except BaseException:
            await self.close()
            raise
        self._task = asyncio.create_task(self._write_loop(), name="ops-db-writer")

    async def close(self) -> None:
        await stop(self._task)
        self._task = None
        # Reads still running finish first: their connections close after them.
        await asyncio.to_thread(self._reader_threads.shutdown, wait=True)
        for reader in self._reader_conns:
            reader.close()
        self._reader_conns.clear()
        if self._stamp is not None:
            self._stamp.close()
            self._stamp = None
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

    def _connect_reader(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            f"file:{self.path.resolve()}?mode=ro",
            uri=True,
            isolation_level=None,
            check_same_thread=False,  # used by one reader thread at a time, closed here
        )
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA query_only = ON")
        conn.execute("PRAGMA busy_timeout = 5000")
        return conn

    async def _on_writer_thread(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    async def read(
        self,
        fn: Callable[Concatenate[sqlite3.Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """``fn(conn, *args)`` run whole on a reader thread inside one snapshot."""
        call = functools.partial(self._snapshot, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._reader_threads, call)

    def _snapshot(
        self,
        fn: Callable[Concatenate[sqlite3.Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Runs on a reader thread: BEGIN, the whole read, then end the snapshot."""
        conn = self._readers.get()
        try:
            conn.execute("BEGIN")
            try:
                return fn(conn, *args, **kwargs)
            finally:
                conn.execute("ROLLBACK")  # read-only: nothing to keep
        finally:
            self._readers.put(conn)

    def data_version(self) -> int | None:
        """The database's change stamp: ``PRAGMA data_version`` on a connection that never
        writes, so it moves whenever any connection, of this process or another, commits
        (https://www.sqlite.org/pragma.html#pragma_data_version; vm122_ops/kept/memo.py).
        Asked on the event loop (cheap: a read transaction's start and end on the WAL index
        in shared memory); None when the database is busy or closed."""
        if self._stamp is None:
            return None
        try:
            # fetchall: the statement runs to its end, so no read transaction stays open.
            [row] = self._stamp.execute("PRAGMA data_version").fetchall()
        except sqlite3.Error:
            return None
        return int(row[0])

    async def write(self, unit: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``unit`` on the writer thread in a transaction; returns once it is durable."""
        return await self._submit(unit, announce=False)

    async def ingest(
        self,
        fn: Callable[Concatenate[sqlite3.Connection, P], IngestResult],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> IngestResult:
        """``write`` of ``fn(conn, *args)``, a unit that stores an event: once committed,
        its result goes to the after-commit hook (in commit order, before this returns)."""

        def unit(conn: sqlite3.Connection) -> IngestResult:
            return fn(conn, *args, **kwargs)

        return await self._submit(unit, announce=True, rerunnable=True)

    async def change(
        self,
        fn: Callable[Concatenate[sqlite3.Connection, P], TicketChange],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> TicketChange:
        """``write`` of ``fn(conn, *args)``, a unit that changes a ticket: once committed,
        its result goes to the after-commit hook too, in commit order with the events."""

        def unit(conn: sqlite3.Connection) -> TicketChange:
            return fn(conn, *args, **kwargs)

        return await self._submit(unit, announce=True)

    async def _submit(
        self,
        unit: Callable[[sqlite3.Connection], T],
        *,
        announce: bool,
        rerunnable: bool = False,
    ) -> T:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._jobs.put_nowait(_Job(unit, future, announce, rerunnable))  # unbounded
        return await future

    async def ping(self) -> bool:
        """True when the database answers a read and the writer is alive."""
        if self._task is None or self._task.done():
            return False
        try:
            return await self.read(_answers)
        except (sqlite3.Error, RuntimeError):  # RuntimeError: the pool is shut down
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
            outcomes = await self._on_writer_thread(
                self._commit, [job.unit for job in jobs], all(job.rerunnable for job in jobs)
            )
        except StorageUnavailable as exc:
            for job in jobs:
                if not job.future.done():
                    job.future.set_exception(exc)
            return
        if self.after_commit is not None:
            committed: list[Announced] = [
                result
                for job, (result, error) in zip(jobs, outcomes, strict=True)
                if job.announce and error is None
            ]
            try:
                if committed:
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

    def _commit(
        self, units: list[Unit], rerunnable: bool = False
    ) -> list[tuple[Any, Exception | None]]:
        """One transaction for a batch of units (runs on the writer thread); a batch of
        ``rerunnable`` units is first tried without a savepoint per unit."""
        if rerunnable:
            outcomes = self._commit_whole(units)
            if outcomes is not None:
                return outcomes
        return self._commit_each(units)

    def _commit_whole(self, units: list[Unit]) -> list[tuple[Any, Exception | None]] | None:
        """The batch in one transaction with no savepoints; None (and nothing stored)
        when a unit raised, so that the caller runs it again unit by unit."""
        conn = self._writer
        assert conn is not None
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                results = [unit(conn) for unit in units]
            except Exception:  # the unit's own error: undo the batch, run it unit by unit
                if conn.in_transaction:  # some errors end the transaction themselves
                    conn.execute("ROLLBACK")
                return None
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            log.error("write transaction failed: %s", exc)
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    log.exception("rollback failed")
            raise StorageUnavailable(f"the event store cannot be written ({exc})") from None
        return [(result, None) for result in results]

    def _commit_each(self, units: list[Unit]) -> list[tuple[Any, Exception | None]]:
        """The batch in one transaction, each unit in its own savepoint."""
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


def _answers(conn: sqlite3.Connection) -> bool:
    return conn.execute("select 1").fetchone() is not None
