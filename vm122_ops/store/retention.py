"""Retention: raw events older than OPS_RETENTION_DAYS are purged in small batches.

What stays: each session's derived state (onboard_sessions), tickets and their timeline
entries (copies of the events, so a ticket stays readable), and the funnel rollups of
any hour a window can still reach (720 h at most, and its previous window, 720 h
before it: the funnel's ``previous``; the conversion trend's 2160 h), the breakdowns'
too but for their emptied cells; the minute activity of /metrics' short windows is kept
two days. Each batch is its own short
writer unit, so ingest interleaves with a purge instead of waiting behind it.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable

from servicekit import purge as shared
from servicekit.logs import log_event
from servicekit.purge import DAY_SECONDS, FIRST_RUN_SECONDS, PurgePlan, in_batches
from vm122_ops.funnel import trend
from vm122_ops.funnel.activity import KEEP_MINUTES, MINUTE_MS
from vm122_ops.funnel.rollups import HOUR_MS
from vm122_ops.store.db import Database
from vm122_ops.store.sql import QUERIES

log = logging.getLogger("vm122_ops.retention")

DAY_MS = DAY_SECONDS * 1000
BATCH = 1000


async def plan_purge(db: Database, retention_days: int, now_ms: int) -> PurgePlan:
    """The raw events a purge now would remove (``cutoff`` in Unix milliseconds)."""
    cutoff = now_ms - retention_days * DAY_MS
    return PurgePlan(cutoff=cutoff, rows=await db.read(purgeable, cutoff))


def purgeable(conn: sqlite3.Connection, cutoff: int) -> int:
    """How many raw events a purge at ``cutoff`` would remove (a read function)."""
    row = conn.execute(QUERIES["count_events_received_before"], {"cutoff": cutoff}).fetchone()
    return int(row["events"])


async def purge(db: Database, retention_days: int, now_ms: int) -> int:
    """Remove raw events past retention; returns how many were removed. Its commits move
    the database's stamp, so no kept answer outlives them (vm122_ops/kept/memo.py): the
    drill-down's pages show a failed session's reason from its last event's payload, which
    a retention shorter than the widest window (720 h) removes without a new event."""
    cutoff = now_ms - retention_days * DAY_MS

    def batch(conn: sqlite3.Connection) -> int:
        cursor = conn.execute(QUERIES["purge_events_batch"], {"cutoff": cutoff, "batch": BATCH})
        return cursor.rowcount

    removed = await in_batches(lambda: db.write(batch), BATCH)
    # The widest window (720 h), its previous window and the partial hour before them, and
    # the conversion trend's 90 days (its answers are kept in memory: a purge must not
    # change what they count).
    reach = max(2 * 720 + 1, trend.MAX_HOURS)
    hour = min(cutoff, now_ms - reach * HOUR_MS) // HOUR_MS

    def rollups(conn: sqlite3.Connection) -> None:
        conn.execute(QUERIES["purge_rollup_hours"], {"hour": hour})
        conn.execute(QUERIES["purge_duration_hours"], {"hour": hour})
        conn.execute(QUERIES["purge_breakdown_cells"], {"hour": hour})
        conn.execute(QUERIES["purge_refusal_hours"], {"hour": hour})
        minute = now_ms // MINUTE_MS - KEEP_MINUTES
        conn.execute(QUERIES["purge_activity_minutes"], {"minute": minute})
        conn.execute(QUERIES["purge_refusal_minutes"], {"minute": minute})

    await db.write(rollups)
    if removed:
        log_event(log, "retention purge", removed=removed, cutoff_ms=cutoff)
    return removed


async def forget_webhook_ids(db: Database, id_days: int, now_ms: int) -> int:
    """Forget the webhook-ids seen more than ``id_days`` ago (kept longer than the events,
    so a replay cannot recreate what retention purged); returns how many."""
    cutoff = now_ms - id_days * DAY_MS

    def batch(conn: sqlite3.Connection) -> int:
        cursor = conn.execute(
            QUERIES["purge_webhook_ids_batch"], {"cutoff": cutoff, "batch": BATCH}
        )
        return cursor.rowcount

    removed = await in_batches(lambda: db.write(batch), BATCH)
    if removed:
        await db.write(
            lambda conn: conn.execute(QUERIES["forgot_webhook_ids_before"], {"cutoff": cutoff})
        )
        log_event(log, "webhook ids forgotten", removed=removed, cutoff_ms=cutoff)
    return removed


def webhook_ids_since(conn: sqlite3.Connection) -> int | None:
    """The time (ms) before which Ops may have forgotten webhook-ids; None: never."""
    row = conn.execute(QUERIES["webhook_ids_since"]).fetchone()
    return None if row is None else int(row["value"])


async def purge_periodically(
    db: Database,
    retention_days: int,
    clock: Callable[[], float],
    *,
    id_days: int = 400,
    remembered: Callable[[int | None], None] | None = None,
) -> None:
    """The service's own purge: a minute after start, then every hour; then the
    webhook-ids past ``id_days``, and ``remembered`` is told since when Ops knows every
    webhook-id it stored (a purge by the CLI is seen here too)."""

    async def job() -> int:
        now_ms = int(clock() * 1000)
        removed = await purge(db, retention_days, now_ms)
        await forget_webhook_ids(db, max(id_days, retention_days), now_ms)
        if remembered is not None:
            remembered(await db.read(webhook_ids_since))
        return removed

    await shared.purge_periodically(job, log=log, first=FIRST_RUN_SECONDS)
