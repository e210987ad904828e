"""Answers of the Desk's lists (tickets, search) kept as bytes while the database is the same.

The ticket list and the search change with agents' ticket changes, new events, and account
changes, some made by another process (``python -m vm122_ops users``), so no counter this
process bumps can tell when a kept answer is out of date. The database can:
``PRAGMA data_version`` on a connection of its own changes whenever any other connection,
of this process or another, commits (https://www.sqlite.org/pragma.html#pragma_data_version),
WAL mode included (it starts a read transaction, which reads the WAL index header the
committer changed). ``Database.data_version`` asks it: a read transaction's start and end
on the WAL index in shared memory, cheap enough to ask on the event loop.

``ListAnswers`` keeps each answer's bytes under its key (every request parameter the answer
depends on: filters, limit, cursor, q; "assignee=me" is keyed by the account name it
stands for) together with the stamp taken *before* its read started. The read's snapshot
therefore includes every commit before the stamp; a commit landing while it runs moves the
stamp, so the answer, stored under the older stamp, is never served after that commit.
Concurrent identical requests under the same stamp await one read (single flight, as
vm122_ops/kept/answers.py). Nothing in these answers depends on the request's time: the times
are stored milliseconds, and the session status is the stored one (never "stuck", which
the funnel derives from now).

Memory is bounded by ``max_bytes`` (least recently used let go first); without a stamp
(the database was busy answering it) the read runs and nothing is kept.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable

MAX_BYTES = 8 * 1024 * 1024  # a 200-ticket page is ~80 KB; a 50-ticket one ~20 KB


class ListAnswers:
    """Answer bytes per key, valid for one database stamp; one read in flight per key and
    stamp. Used on the event loop only."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self._max_bytes = max_bytes
        self.kept_bytes = 0
        self.computations = 0  # reads actually run (tests count them)
        self._done: OrderedDict[Hashable, tuple[int, bytes]] = OrderedDict()
        self._running: dict[tuple[Hashable, int], asyncio.Task[bytes]] = {}

    async def get(
        self, key: Hashable, stamp: int | None, compute: Callable[[], Awaitable[bytes]]
    ) -> bytes:
        """The bytes for ``key`` at ``stamp``: kept, being computed, or computed now."""
        if stamp is None:
            self.computations += 1
            return await compute()
        kept = self._done.get(key)
        if kept is not None and kept[0] == stamp:
            self._done.move_to_end(key)
            return kept[1]
        flight = (key, stamp)
        task = self._running.get(flight)
        if task is None:
            self.computations += 1
            task = asyncio.ensure_future(compute())
            self._running[flight] = task
            task.add_done_callback(lambda done: self._finish(key, stamp, done))
        # shield: a waiter that goes away does not cancel the read the others await.
        return await asyncio.shield(task)

    def _finish(self, key: Hashable, stamp: int, task: asyncio.Task[bytes]) -> None:
        self._running.pop((key, stamp), None)
        if task.cancelled() or task.exception() is not None:
            return  # each waiter got the error; nothing is kept
        body = task.result()
        if len(body) > self._max_bytes:
            return
        old = self._done.get(key)
        if old is not None:
            if old[0] > stamp:
                return  # a newer answer landed first (the stamp only grows)
            del self._done[key]
            self.kept_bytes -= len(old[1])
        self._done[key] = (stamp, body)
        self.kept_bytes += len(body)
        while self.kept_bytes > self._max_bytes:
            _, (_, dropped) = self._done.popitem(last=False)
            self.kept_bytes -= len(dropped)
