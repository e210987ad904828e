"""Replay: send delivered events to Ops again, to rebuild an Ops that lost them.

``python -m vm112_portal outbox replay --since TIME`` turns every delivered outbox row that
Ops acknowledged at or after TIME back into a pending one. Everything else is the
dispatcher's ordinary work (vm112_portal/outbox/ops_webhook.py): it delivers pending rows in
creation order (by id), with the row's own webhook-id and body, signed afresh at each
attempt. Ops stores each webhook-id once, so the events it still has are answered 200
(duplicate) and the ones it lost are stored again: replaying is idempotent.

"Acknowledged at or after TIME" (``delivered_at``), not "created at or after": a row
created earlier but delivered late, after retries, is included, and every row created
since TIME is delivered since TIME too. The rows are re-queued in batches, each its own
short transaction, so the wizard's own commits are not held up behind a large replay.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from servicekit.logs import log_event
from vm112_portal.db import Database
from vm112_portal.errors import ConfigError
from vm112_portal.outbox.ops_webhook import log as outbox_log
from vm112_portal.outbox.ops_webhook import rfc3339

BATCH = 500
# Ops' /healthz says since when it knows every webhook-id it stored (vm122_ops
# routes/health.py); absent while it has forgotten none.
OPS_KNOWS_SINCE = "Ops-Webhook-Ids-Since"


def ops_knows_since(ops_url: str, timeout: float = 5.0) -> tuple[float | None, str]:
    """Since when (Unix seconds) Ops knows every webhook-id it stored (None: always), and
    a warning when Ops could not be asked (then None: the replay goes ahead, and Ops'
    own memory of webhook-ids still answers a purged event as a duplicate)."""
    try:
        response = httpx.get(f"{ops_url.rstrip('/')}/healthz", timeout=timeout)
    except httpx.HTTPError as exc:
        return None, f"could not ask Ops at {ops_url} what it still knows ({type(exc).__name__})"
    if response.status_code != 200:
        return None, f"Ops at {ops_url} answered /healthz with {response.status_code}"
    value = response.headers.get(OPS_KNOWS_SINCE)
    if value is None:
        return None, ""
    try:
        return datetime.fromisoformat(value).timestamp(), ""
    except ValueError:
        raise ConfigError(f"Ops sent {OPS_KNOWS_SINCE}: {value!r}, not a time.") from None


def refuse_forgotten(since: float, known_since: float | None) -> None:
    """ConfigError when ``since`` is older than what Ops still knows: events delivered
    before that may have been purged by Ops' retention, ids forgotten too, and a replay
    would store them as new history (reopening closed tickets)."""
    if known_since is not None and since < known_since:
        moment = rfc3339(datetime.fromtimestamp(known_since, UTC))
        raise ConfigError(
            f"--since is older than what Ops still knows ({moment}): events before it may "
            "have been purged by Ops' retention and would be stored as new. Give a --since "
            "at or after it, or --force to send them anyway."
        )


@dataclass(frozen=True)
class ReplayPlan:
    since: float  # Unix seconds
    events: int
    first_id: int | None
    last_id: int | None
    first_created_at: float | None
    last_created_at: float | None

    def describe(self) -> str:
        """One sentence: how many events, and the span of their creation."""
        since = rfc3339(datetime.fromtimestamp(self.since, UTC))
        if not self.events or self.first_created_at is None or self.last_created_at is None:
            return f"0 delivered events acknowledged by Ops since {since}"
        first = rfc3339(datetime.fromtimestamp(self.first_created_at, UTC))
        last = rfc3339(datetime.fromtimestamp(self.last_created_at, UTC))
        return (
            f"{self.events} delivered event(s) acknowledged by Ops since {since} "
            f"(outbox ids {self.first_id} to {self.last_id}, created {first} to {last})"
        )


def parse_since(text: str) -> float:
    """An ISO 8601 / RFC 3339 time with its zone (``2026-12-01T17:00:00Z``) as Unix seconds."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(
            f"--since {text!r} is not a time; give one like 2026-12-01T17:00:00Z."
        ) from None
    if moment.tzinfo is None:
        raise ConfigError(
            f"--since {text!r} has no time zone; add Z for UTC or an offset like +01:00."
        )
    return moment.timestamp()


async def plan_replay(db: Database, since: float) -> ReplayPlan:
    row = await db.fetch_one("replay_plan", {"since": since})
    assert row is not None  # an aggregate always answers one row
    return ReplayPlan(
        since=since,
        events=int(row["events"]),
        first_id=row["first_id"],
        last_id=row["last_id"],
        first_created_at=row["first_created_at"],
        last_created_at=row["last_created_at"],
    )


async def replay(db: Database, plan: ReplayPlan) -> int:
    """Queue the planned rows again, BATCH per transaction, oldest first; returns how many.

    Only rows up to the plan's newest id: events delivered while this runs (the replayed
    ones among them) are not picked up a second time.
    """
    if plan.last_id is None:
        return 0
    queued = 0
    after_id = 0
    while True:
        async with db.transaction() as tx:
            rows = await tx.fetch_all(
                "replay_delivered_batch",
                {
                    "since": plan.since,
                    "after_id": after_id,
                    "last_id": plan.last_id,
                    "batch": BATCH,
                    "now": time.time(),
                },
            )
        if not rows:
            break
        queued += len(rows)
        after_id = max(int(row["id"]) for row in rows)
    log_event(outbox_log, "outbox replay", queued=queued, since=plan.since)
    return queued
