"""A job run in the background now and then, surviving its own failures (the purges)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable

from servicekit.errors import StorageUnavailable


async def run_periodically(
    job: Callable[[], Awaitable[object]],
    *,
    first: float,
    every: float,
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
