"""Answers of a Desk read kept in memory while its inputs stay the same, computed once.

A Desk read (the funnel's basis, the failures table) depends on its key (the window's
hours and start hour) and on the stored events. ``Answers`` keeps the newest answer of
each key together with the *generation* it was computed in: the count of commits that
stored new events, bumped by the after-commit hook (``changed``). A request whose key
and generation match is answered from memory; otherwise the read runs once and every
concurrent request for the same key and generation awaits that one run (single flight),
so a burst of N identical page loads costs one computation.

Why the generation is taken before the read starts: the read's snapshot then includes at
least every commit announced so far. A commit landing while the read runs may or may not
be in its snapshot; either way the answer is stored under the older generation, which the
hook has already moved past or is about to, so the next request reads again. An answer is
never older than the commits announced before its request.

Retention changes no count: it removes raw events and rollup hours older than any
window can reach (vm122_ops/store/retention.py). It can remove the last event of a failed
session still in a window (OPS_RETENTION_DAYS below the widest window, 720 h), whose
reason the drill-down's kept pages show: a purge that removed events moves the funnel's
generation (``retention.purge``'s ``purged``, wired in vm122_ops/app.py).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Answers(Generic[K, V]):
    """The newest answer per key, valid for one generation; one computation in flight per
    key and generation. Used on the event loop only."""

    def __init__(self, size: int = 16) -> None:
        self._size = size
        self.generation = 0
        self.computations = 0  # reads actually run (tests and the bench count them)
        self._done: OrderedDict[K, tuple[int, V]] = OrderedDict()
        self._running: dict[tuple[K, int], asyncio.Task[V]] = {}

    def changed(self) -> None:
        """New events were committed: every kept answer is out of date."""
        self.generation += 1

    async def get(self, key: K, compute: Callable[[], Awaitable[V]]) -> V:
        """The answer for ``key``: kept, being computed, or computed now by ``compute()``."""
        generation = self.generation
        kept = self._done.get(key)
        if kept is not None and kept[0] == generation:
            self._done.move_to_end(key)
            return kept[1]
        flight = (key, generation)
        task = self._running.get(flight)
        if task is None:
            self.computations += 1
            task = asyncio.ensure_future(compute())
            self._running[flight] = task
            task.add_done_callback(lambda done: self._finish(key, generation, done))
        # shield: a waiter that goes away (a client hanging up) does not cancel the
        # computation the others are waiting for.
        return await asyncio.shield(task)

    def _finish(self, key: K, generation: int, task: asyncio.Task[V]) -> None:
        self._running.pop((key, generation), None)
        if task.cancelled() or task.exception() is not None:
            return  # each waiter got the error; nothing is kept
        kept = self._done.get(key)
        if kept is None or kept[0] <= generation:
            self._done[key] = (generation, task.result())
            self._done.move_to_end(key)
            while len(self._done) > self._size:
                self._done.popitem(last=False)
