"""How both services purge what they keep no longer: in short batches, and now and then
in the background. What goes and when is each service's own (its retention.py)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from servicekit.errors import StorageUnavailable

MAX_BATCHES = 100_000  # a bound on one purge run, far above any real backlog
HOURLY = 3600.0
DAY_SECONDS = 86_400
FIRST_RUN_SECONDS = 60.0  # the background purge's first run after start


@dataclass(frozen=True)
class PurgePlan:
    """What a purge would remove now: ``rows`` rows from before ``cutoff`` (in the
    service's own time unit)."""

    cutoff: float
    rows: int


async def in_batches(
    batch: Callable[[], Awaitable[int]], size: int, most: int = MAX_BATCHES
) -> int:
    """Run ``batch()`` (which removes at most ``size`` rows in its own short transaction,
    so other writers interleave) until one removes fewer, at most ``most`` times; returns
    how many rows went in all."""
    removed = 0
    for _ in range(most):
        count = await batch()
        removed += count
        if count < size:
            break
    return removed


async def run_periodically(
    job: Callable[[], Awaitable[object]],
    *,
    first: float,
    every: float = HOURLY,
    log: logging.Logger,
    what: str,
) -> None:
    """``job()`` ``first`` seconds from now, then every ``every`` seconds, until cancelled.

    A storage failure (the database locked, full or gone) is logged as a warning and the
    job tried again at the next turn; anything else is a bug and ends the loop loudly.
    """
    await asyncio.sleep(first)
    while True:
        try:
            await job()
        except (sqlite3.Error, OSError, StorageUnavailable) as exc:
            log.warning("%s failed, will retry: %s", what, exc)
        await asyncio.sleep(every)


async def purge_periodically(
    job: Callable[[], Awaitable[object]], *, log: logging.Logger, first: float
) -> None:
    """A service's retention purge in the background: ``job()`` ``first`` seconds after
    start, then every hour (``run_periodically``)."""
    await run_periodically(job, first=first, log=log, what="retention purge")
