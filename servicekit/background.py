"""Stopping a service's background task: cancelled, then awaited until it has ended.

Both services run loops as tasks (the retention purges, the mail checks, Ops' database
writer, stream broker and session watch) and stop them when the app shuts down. Awaiting
the cancelled task, not only cancelling it, means its ``finally`` blocks have run before
what it uses (a database, a queue) is closed after it.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from typing import Any


async def stop(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` and wait until it has ended (nothing for None)."""
    if task is None:
        return
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task
