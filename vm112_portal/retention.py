"""Retention: delivered outbox events, wizard sessions and infrastructure records older
than PORTAL_RETENTION_DAYS are pruned.

Wizard sessions and infrastructure records go once they have had no activity for the
retention period, so the store does not grow with every session ever started. A domain whose
record is pruned keeps its owner: ``domain_owners`` is never pruned
(vm112_portal/ownership.py).

Only delivered rows go, counted from their delivery. Pending events are never pruned,
and dead letters stay until an operator redrives them (they are then pruned once
delivered) or drops them (``python -m vm112_portal outbox drop-dead``). Each batch is its
own short transaction on the writer, so the wizard's commits interleave with a purge
instead of waiting behind it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from servicekit import purge as shared
from servicekit.logs import log_event
from servicekit.purge import DAY_SECONDS, FIRST_RUN_SECONDS, PurgePlan, in_batches
from vm112_portal.db import Database

log = logging.getLogger("vm112_portal.retention")

BATCH = 500


async def plan_purge(db: Database, retention_days: int, now: float) -> PurgePlan:
    """The delivered events a purge now would remove (``cutoff`` in Unix seconds)."""
    cutoff = now - retention_days * DAY_SECONDS
    row = await db.fetch_one("count_delivered_before", {"cutoff": cutoff})
    return PurgePlan(cutoff=cutoff, rows=int(row[0]) if row else 0)


async def purge(db: Database, retention_days: int, now: float) -> int:
    """Remove delivered events past retention, BATCH per transaction; returns how many."""
    cutoff = now - retention_days * DAY_SECONDS

    async def batch() -> int:
        async with db.transaction() as tx:
            return await tx.execute("purge_delivered_batch", {"cutoff": cutoff, "batch": BATCH})

    removed = await in_batches(batch, BATCH)
    if removed:
        log_event(log, "retention purge", removed=removed, cutoff=round(cutoff, 3))
    return removed


@dataclass(frozen=True)
class StatePurge:
    sessions: int
    infra: int
    mail_checks: int = 0


async def purge_wizard_state(db: Database, retention_days: int, now: float) -> StatePurge:
    """Remove sessions, infrastructure records and finished mail checks (no check
    scheduled) idle past retention, BATCH at a time."""
    cutoff = now - retention_days * DAY_SECONDS

    def batch_of(query: str) -> Callable[[], Awaitable[int]]:
        async def batch() -> int:
            async with db.transaction() as tx:
                return await tx.execute(query, {"cutoff": cutoff, "batch": BATCH})

        return batch

    result = StatePurge(
        sessions=await in_batches(batch_of("purge_sessions_batch"), BATCH),
        infra=await in_batches(batch_of("purge_infra_batch"), BATCH),
        mail_checks=await in_batches(batch_of("purge_mail_checks_batch"), BATCH),
    )
    if result.sessions or result.infra or result.mail_checks:
        log_event(
            log,
            "retention purge of wizard state",
            sessions=result.sessions,
            infra=result.infra,
            mail_checks=result.mail_checks,
            cutoff=round(cutoff, 3),
        )
    return result


async def purge_periodically(db: Database, retention_days: int) -> None:
    """The portal's own purge: a minute after start, then every hour."""

    async def job() -> int:
        removed = await purge(db, retention_days, time.time())
        await purge_wizard_state(db, retention_days, time.time())
        return removed

    await shared.purge_periodically(job, log=log, first=FIRST_RUN_SECONDS)
