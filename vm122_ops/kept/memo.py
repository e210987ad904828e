"""Answers kept in memory while what they depend on stays the same: one memo for every
kept Desk answer (the funnel's basis and JSON, the drill-down pages, the failures' JSON,
the trend's counts, JSON and CSV, the breakdowns' bases, JSON and trend counts, the ticket
list, the search).

An answer is kept under its *key*, every request parameter it depends on (the route,
filters, limit, cursor, q, the window's hours and start hour, ...), together with the
*stamp* it was computed at. A request whose key and stamp match is answered from memory;
otherwise the computation runs once and every concurrent request for the same key and
stamp awaits that one run (single flight), so a burst of N identical page loads costs one
computation. A waiter that goes away (a client hanging up) does not cancel the run the
others await.

The stamp is the database's change stamp, ``PRAGMA data_version`` (``Database.
data_version``): it moves whenever any connection, of this process or another, commits
(new events, ticket changes, accounts changed by ``python -m vm122_ops users``, the
retention purge), so no hook has to announce a change. It is taken *before* the
computation starts: the computation's snapshot then includes every commit before the
stamp, and a commit landing while it runs moves the stamp, so its answer, kept under the
older stamp, is never served after that commit. An answer that also depends on the
request's time (a session turning stuck or abandoned, the window's start passing a
session's first event) adds the time to its stamp as the next boundary at which it may
change (vm122_ops/kept/funnel_basis.py, ``FunnelBasis.holds_until``; the failures' first
hour, the trend's first period and first open period): every millisecond before that
boundary shares one stamp, the first one after it has another. Such an answer is the
answer at the millisecond it was computed (its ``generated_at``) and holds nothing that
moves every millisecond. Without a
stamp (the database was busy answering it) the computation runs and nothing is kept.

Memory is bounded by ``max_bytes`` and ``max_entries``, the least recently used let go
first. An entry costs what it holds: its answer, its key and stamp (``held_size``), and
the entry itself (``ENTRY_BYTES``). An answer of bytes (rendered JSON, CSV) is measured
by the memo, and kept as a right-sized copy: orjson's ``dumps`` returns bytes whose
allocation is its whole working buffer, never shrunk to the length (its ``BytesWriter.
finish`` sets the length before asking CPython to resize, which then has nothing to do;
ijl/orjson src/serialize/writer/byteswriter.rs), so a short answer would hold several
KiB that ``len`` does not see. The copy is made once per computation, never per request.
Any other answer's size is its caller's measure (``size``). An answer kept under a stamp
that a later request no longer has is let go when that request comes, not kept beside
the computation replacing it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar, overload

V = TypeVar("V")

MAX_BYTES = 32 * 1024 * 1024
# A bound on the entries whatever their sizes, so that what ``ENTRY_BYTES`` leaves out
# (the table's growth, the allocator's rounding) stays small beside ``MAX_BYTES``.
MAX_ENTRIES = 50_000
# What one entry holds besides its answer, key and stamp: its slot in the ordered dict's
# table and its link, the (stamp, answer, cost) tuple and the cost's int, measured with
# tracemalloc over many entries (tests/ops/test_memo.py checks the total stays near).
ENTRY_BYTES = 200


def held_size(item: object) -> int:
    """The bytes ``item`` holds: its own size, and its parts' for a tuple, a frozenset or
    a dataclass (the kinds a key or stamp is made of). Objects shared with others (small
    ints, None, literal strings) are counted as if held, so the figure errs above."""
    size = sys.getsizeof(item)
    if isinstance(item, tuple | frozenset):
        return size + sum(held_size(part) for part in item)
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        fields = dataclasses.fields(item)
        return size + sum(held_size(getattr(item, field.name)) for field in fields)
    return size


def right_sized(body: bytes) -> bytes:
    """``body`` in an allocation of its own length (see the module's docstring)."""
    return bytes(memoryview(body))


class Memo:
    """Answers per key, valid for one stamp; one computation in flight per key and stamp.
    Used on the event loop only."""

    def __init__(self, max_bytes: int = MAX_BYTES, max_entries: int = MAX_ENTRIES) -> None:
        self._max_bytes = max_bytes
        self._max_entries = max_entries
        self.kept_bytes = 0
        self.computations = 0  # computations actually run (tests and the bench count them)
        # The same by kind of answer: a tuple key's first item ("funnel basis", "trend", ...).
        self.computed: Counter[Hashable] = Counter()
        self._done: OrderedDict[Hashable, tuple[Hashable, Any, int]] = OrderedDict()
        self._running: dict[tuple[Hashable, Hashable], asyncio.Task[Any]] = {}

    @property
    def entries(self) -> int:
        """The answers kept."""
        return len(self._done)

    @overload
    async def get(
        self, key: Hashable, stamp: Hashable | None, compute: Callable[[], Awaitable[bytes]]
    ) -> bytes: ...

    @overload
    async def get(
        self,
        key: Hashable,
        stamp: Hashable | None,
        compute: Callable[[], Awaitable[V]],
        size: Callable[[V], int],
    ) -> V: ...

    async def get(
        self,
        key: Hashable,
        stamp: Hashable | None,
        compute: Callable[[], Awaitable[Any]],
        size: Callable[[Any], int] | None = None,
    ) -> Any:
        """The answer for ``key`` at ``stamp``: kept, being computed, or computed now by
        ``compute()``. An answer of bytes is measured by the memo; any other needs
        ``size(answer)``, what keeping it costs in bytes (without it, it is not kept)."""
        if stamp is None:
            self._count(key)
            return await compute()
        kept = self._done.get(key)
        if kept is not None:
            if kept[0] == stamp:
                self._done.move_to_end(key)
                return kept[1]
            # No request to come has the older stamp's moment back: let it go now.
            del self._done[key]
            self.kept_bytes -= kept[2]
        flight = (key, stamp)
        task = self._running.get(flight)
        if task is None:
            self._count(key)
            task = asyncio.ensure_future(compute())
            self._running[flight] = task
            task.add_done_callback(lambda done: self._finish(key, stamp, done, size))
        # shield: a waiter that goes away does not cancel the computation others await.
        return await asyncio.shield(task)

    def _count(self, key: Hashable) -> None:
        self.computations += 1
        self.computed[key[0] if isinstance(key, tuple) and key else key] += 1

    def _finish(
        self,
        key: Hashable,
        stamp: Hashable,
        task: asyncio.Task[Any],
        size: Callable[[Any], int] | None,
    ) -> None:
        self._running.pop((key, stamp), None)
        if task.cancelled() or task.exception() is not None:
            return  # each waiter got the error; nothing is kept
        value = task.result()
        if isinstance(value, bytes):
            value = right_sized(value)
            cost = sys.getsizeof(value)
        elif size is not None:
            cost = size(value)
        else:
            return
        cost += held_size(key) + held_size(stamp) + ENTRY_BYTES
        if cost > self._max_bytes:
            return
        old = self._done.pop(key, None)
        if old is not None:
            self.kept_bytes -= old[2]
        self._done[key] = (stamp, value, cost)
        self.kept_bytes += cost
        while self.kept_bytes > self._max_bytes or len(self._done) > self._max_entries:
            _, (_, _, dropped) = self._done.popitem(last=False)
            self.kept_bytes -= dropped
