"""Polling until something holds, always bounded in time.

A predicate returns a truthy value when the condition holds; ``wait_until`` also takes a
predicate returning an awaitable. Both raise AssertionError naming ``what`` once
``timeout`` seconds have passed; ``wait_until_sync`` returns the first truthy value.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


class _Bound:
    def __init__(self, timeout: float, what: str) -> None:
        self.deadline = time.monotonic() + timeout
        self.message = f"not within {timeout}s: {what}"

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise AssertionError(self.message)


async def wait_until(
    predicate: Callable[[], object] | Callable[[], Awaitable[object]],
    *,
    timeout: float = 5.0,  # noqa: ASYNC109 (a bound on the polling, not on one await)
    interval: float = 0.02,
    what: str = "condition",
) -> None:
    """Poll ``predicate`` (sync or async) every ``interval`` s until it is truthy."""
    bound = _Bound(timeout, what)
    while True:
        value = predicate()
        if (await value) if inspect.isawaitable(value) else value:
            return
        bound.check()
        await asyncio.sleep(interval)


def wait_until_sync(
    predicate: Callable[[], T | None],
    *,
    timeout: float = 5.0,
    interval: float = 0.02,
    what: str = "condition",
) -> T:
    """The same for tests without an event loop (sync clients, threads, processes)."""
    bound = _Bound(timeout, what)
    while not (value := predicate()):
        bound.check()
        time.sleep(interval)
    return value
