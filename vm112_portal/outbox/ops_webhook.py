"""The durable emitter of onboarding events to Ops (a transactional outbox).

``emit_event(tx, ...)`` only inserts a row into the outbox, inside the transaction that
changes the wizard's state: nothing in a request path talks to Ops. The dispatcher
(vm112_portal/outbox/dispatcher.py, a thread of its own) delivers pending rows in creation order
within each session and independently across sessions (the next rows are those of the
sessions whose oldest pending row is due), so a row waiting for a retry holds back only
the later events of its own session. What an attempt's answer means is decided here:

- each attempt is signed afresh (Standard Webhooks): the webhook-id is fixed per event,
  webhook-timestamp is the attempt's time, so a retry hours later is not stale;
- each attempt has its own timeout, so a hanging Ops only delays the dispatcher;
- 2xx (202 stored, 200 duplicate) marks the row delivered;
- network errors, timeouts, 5xx, 408, 429 and 401 are retried with exponential backoff and
  jitter, honouring Retry-After; 401 is retried because it means clock skew or a secret
  being rotated, which an operator fixes without losing the event;
- any other 4xx is a permanent rejection: the row becomes a dead letter;
- any other error (the request cannot even be built or sent: a header value httpx refuses,
  an unsupported URL, a bug) is not Ops being unreachable: the row becomes a dead letter at
  once, its reason starting "cannot be sent:", and the dispatcher goes on with the next;
- a retryable failure of a row older than the maximum age also makes it a dead letter;
- rows left pending by a crash are simply picked up again at start-up. Ops stores each
  webhook-id once, so a row re-sent after a crash is still counted exactly once.
"""

from __future__ import annotations

import logging
import random
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import httpx
import orjson

from servicekit.contract import EVENT_TYPES as EVENT_TYPES
from servicekit.contract import SESSION_ID, WEBHOOK_ID
from servicekit.logs import log_event
from servicekit.logs.access import current_request_id
from vm112_portal.db import Database, Transaction

log = logging.getLogger("vm112_portal.ops_webhook")

MAX_BODY = 64 * 1024
INGEST_PATH = "/api/v1/webhooks/onboard"
RETRY_AFTER_CAP = 3600.0

Outcome = Literal["delivered", "retry", "dead"]
# The jitter's own generator: the module-level functions share the interpreter's global
# state, which a caller (a test's Hypothesis strategy, a seeded simulation) may rely on;
# each session retries on its own, so the dispatcher draws often.
_JITTER = random.Random()
# Failures of the network or of Ops' side of the connection: worth retrying. Every other
# exception (httpx.LocalProtocolError for a header value h11 refuses, UnsupportedProtocol,
# a bug) happens again on every attempt, so the event is dead-lettered at once.
NETWORK_ERRORS = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx.ProxyError,
    TimeoutError,
)


def started_webhook_id(session_id: str) -> str:
    """The webhook-id of a session's onboarding.started: one per session, ever."""
    return f"onboarding-started-{session_id}"


def rfc3339(moment: datetime) -> str:
    """UTC with millisecond precision, e.g. 2026-11-29T10:00:00.123Z."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


async def emit_event(
    tx: Transaction,
    event_type: str,
    data: dict[str, Any],
    *,
    webhook_id: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Queue an event in the caller's transaction; False when its webhook-id was queued."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    if "password" in data:
        raise ValueError("passwords never go into an event")
    refusal = unsendable(webhook_id or "evt_x", str(data.get("session_id", "")))
    if refusal is not None:
        raise ValueError(refusal)
    moment = now or datetime.now(UTC)
    body = orjson.dumps({"type": event_type, "timestamp": rfc3339(moment), "data": data})
    if len(body) > MAX_BODY:
        raise ValueError(f"event body of {len(body)} bytes is over the {MAX_BODY} limit")
    row = await tx.fetch_one(
        "insert_outbox_event",
        {
            "webhook_id": webhook_id or f"evt_{uuid.uuid4().hex}",
            "event_type": event_type,
            "session_id": str(data["session_id"]),
            "body": body.decode(),
            "now": moment.timestamp(),
            # The wizard request that emitted it: sent to Ops as X-Request-ID.
            "request_id": current_request_id.get(),
        },
    )
    return row is not None


def unsendable(webhook_id: str, session_id: str) -> str | None:
    """Why an event with these ids could never be delivered, or None when it can be."""
    if not WEBHOOK_ID.fullmatch(webhook_id):
        return "its webhook-id is not 1-255 visible ASCII characters"
    if not SESSION_ID.fullmatch(session_id):
        return "its session_id is not 1-128 characters of A-Z a-z 0-9 _ -"
    return None


# What the wizard calls to queue an event: emit_event, or emit_nothing.
Emit = Callable[..., Awaitable[bool]]


async def emit_nothing(tx: Transaction, event_type: str, data: dict[str, Any], **_: Any) -> bool:
    """Queue nothing (PORTAL_EMIT=off, for the benchmark measuring emission's cost)."""
    return False


def classify(status: int) -> Outcome:
    """What an Ops answer means for the event."""
    if 200 <= status < 300:
        return "delivered"
    if status in (401, 408, 429) or status >= 500:
        return "retry"
    return "dead"


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date), capped; None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return min(float(value), RETRY_AFTER_CAP)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return min(max(moment.timestamp() - now, 0.0), RETRY_AFTER_CAP)


@dataclass(frozen=True)
class RetryPolicy:
    timeout: float = 5.0  # one attempt, connect to last byte
    backoff_base: float = 0.5
    backoff_max: float = 60.0
    max_age: float = 86400.0
    poll: float = 1.0  # idle re-check, also picks up rows redriven by another process

    def backoff(self, attempts: int) -> float:
        """Exponential backoff with equal jitter: half fixed, half random."""
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** min(attempts - 1, 30))
        return float(ceiling / 2 + _JITTER.uniform(0, ceiling / 2))


def describe(response: httpx.Response) -> str:
    """HTTP status and Ops' own error sentence, short enough for a log line."""
    reason = ""
    try:
        document = response.json()
        if isinstance(document, dict) and isinstance(document.get("error"), str):
            reason = document["error"]
    except ValueError:
        reason = response.text
    return f"HTTP {response.status_code} {reason[:300]}".strip()


_SUMMARY = re.compile(
    r"(?:gave up after [0-9.e+]+s: )?(?:Ops unreachable: \w+|cannot be sent: \w+|HTTP \d{3})"
)


def error_summary(error: str | None) -> str | None:
    """The kind of a delivery error without its details: /healthz is open, and details
    (a webhook-id, Ops' sentence) can carry a session id. The full text is in the log and
    in ``outbox drop-dead --dry-run``."""
    if error is None:
        return None
    match = _SUMMARY.match(error)
    return match.group(0) if match else "see the portal log"


async def outbox_status(db: Database) -> dict[str, Any]:
    """Pending count, oldest pending age, dead letters and the last error, for /healthz
    (open to anyone who reaches the Portal: no webhook-id, no session id)."""
    counts = await db.fetch_one("outbox_status", {})
    last = await db.fetch_one("last_outbox_error", {})
    oldest = counts["oldest_pending_at"] if counts else None
    return {
        "pending": int(counts["pending"]) if counts else 0,
        "dead": int(counts["dead"]) if counts else 0,
        "delivered": int(counts["delivered"]) if counts else 0,
        "oldest_pending_age_s": round(time.time() - float(oldest), 3) if oldest else None,
        "last_error": (
            {
                "event_type": last["event_type"],
                "status": last["last_status"],
                "error": error_summary(last["last_error"]),
            }
            if last
            else None
        ),
    }


@dataclass(frozen=True)
class Redrive:
    queued: int
    refused: list[tuple[str, str]]  # (webhook-id, why it cannot be sent)


async def redrive(db: Database) -> Redrive:
    """Turn every dead letter that can be sent back into a pending event.

    A dead letter Ops could never accept from us (a webhook-id or session id outside the
    contract, a body that is not the JSON object we queue) is refused and stays dead.
    """
    refused: list[tuple[str, str]] = []
    queued = 0
    now = time.time()
    async with db.transaction() as tx:
        for row in await tx.fetch_all("list_dead_for_redrive", {}):
            reason = unsendable(row["webhook_id"], row["session_id"]) or _bad_body(row["body"])
            if reason is not None:
                refused.append((row["webhook_id"], reason))
                continue
            queued += await tx.execute("redrive_one", {"id": row["id"], "now": now})
    return Redrive(queued=queued, refused=refused)


def _bad_body(body: str) -> str | None:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "its body is not JSON"
    if not isinstance(document, dict) or not isinstance(document.get("data"), dict):
        return "its body is not an event object"
    if len(body.encode()) > MAX_BODY:
        return f"its body is over {MAX_BODY} bytes"
    return None


async def dead_letters(db: Database, limit: int) -> tuple[int, list[dict[str, Any]]]:
    """How many dead letters there are, and the oldest ``limit`` of them."""
    counts = await db.fetch_one("outbox_status", {})
    rows = await db.fetch_all("list_dead", {"limit": limit})
    return (int(counts["dead"]) if counts else 0), [dict(row) for row in rows]


async def drop_dead(db: Database) -> int:
    """Delete every dead letter for good; returns how many."""
    async with db.transaction() as tx:
        rows = await tx.fetch_all("drop_dead", {})
    if rows:
        log_event(log, "dead letters dropped", dropped=len(rows))
    return len(rows)
