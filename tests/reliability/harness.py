"""What the reliability tests share beyond tests/support: outboxes filled through the
portal's own emit_event with whole sessions of every shape, the funnel those sessions
must give, and readers of what each side stored."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from servicekit.contract import STAGE_OF_TYPE, STAGE_TYPES, STAGES
from tests.support import peek
from tests.support.credentials import AUTH
from tests.support.poll import wait_until
from vm112_portal.db import Database as PortalDatabase
from vm112_portal.db import Transaction
from vm112_portal.outbox.ops_webhook import emit_event, started_webhook_id

HAPPY = STAGE_TYPES
STAGE = STAGE_OF_TYPE
# Session shapes, in turn: complete, failed at the account, stuck after DNS, no DNS zone.
SHAPES: tuple[tuple[str, ...], ...] = (
    HAPPY,
    (*HAPPY[:3], "onboarding.failed"),
    HAPPY[:3],
    (*HAPPY[:2], *HAPPY[3:]),
)


@dataclass
class Sent:
    """The events queued in the outboxes: what Ops must end up with."""

    webhook_ids: list[str] = field(default_factory=list)
    # session -> [(event time ms, arrival order, type)]
    sessions: dict[str, list[tuple[int, int, str]]] = field(default_factory=dict)

    def expected_funnel(self) -> dict[str, Any]:
        """Cohort, cumulative stages and failed count, by the contract's rules."""
        stages = dict.fromkeys(STAGES, 0)
        failed = 0
        for events in self.sessions.values():
            furthest = max((STAGE[t] for _, _, t in events if t in STAGE), default=-1)
            for index in range(furthest + 1):
                stages[STAGES[index]] += 1
            latest = max(events)[2]
            if "onboarding.completed" not in {t for _, _, t in events} and (
                latest == "onboarding.failed"
            ):
                failed += 1
        return {"cohort": len(self.sessions), "stages": stages, "failed": failed}


async def queue_session(
    tx: Transaction, session_id: str, shape: tuple[str, ...], first: datetime, spacing: timedelta
) -> list[tuple[str, datetime, str]]:
    """Queue one session of ``shape`` through the portal's emit_event in ``tx``, its events
    ``spacing`` apart from ``first``; (webhook-id, event time, type) of each."""
    queued = []
    for step, event_type in enumerate(shape):
        moment = first + step * spacing
        data: dict[str, Any] = {"session_id": session_id, "domain": f"{session_id}.example.pt"}
        if event_type == "onboarding.failed":
            data.update(stage="account_created", reason="Carbonio fault")
        webhook_id = (
            started_webhook_id(session_id)
            if event_type == "onboarding.started"
            else f"evt_{session_id}_{step}"
        )
        assert await emit_event(tx, event_type, data, webhook_id=webhook_id, now=moment)
        queued.append((webhook_id, moment, event_type))
    return queued


async def fill_outbox(db_path: Path, prefix: str, count: int, sent: Sent, start: datetime) -> None:
    """Queue at least ``count`` events of whole sessions through the portal's emit_event."""
    db = PortalDatabase(db_path)
    await db.open()
    try:
        queued = session = 0
        async with db.transaction() as tx:
            while queued < count:
                session_id = f"{prefix}-{session}"
                shape = SHAPES[session % len(SHAPES)]
                first = start + timedelta(seconds=session)
                for webhook_id, moment, event_type in await queue_session(
                    tx, session_id, shape, first, timedelta(milliseconds=10)
                ):
                    sent.webhook_ids.append(webhook_id)
                    sent.sessions.setdefault(session_id, []).append(
                        (int(moment.timestamp() * 1000), len(sent.webhook_ids), event_type)
                    )
                    queued += 1
                session += 1
    finally:
        await db.close()


def outbox_states(db_path: Path) -> Counter[str]:
    """Outbox rows per state."""
    rows = peek.rows(db_path, "select state, count(*) from outbox group by state")
    return Counter({str(state): int(n) for state, n in rows})


async def outboxes_drained(*portal_dbs: Path, timeout: float = 30) -> None:  # noqa: ASYNC109
    """Until no row of these outboxes is pending."""
    await wait_until(
        lambda: all(outbox_states(db)["pending"] == 0 for db in portal_dbs),
        timeout=timeout,
        what="every outbox drained",
    )


def stored_count(db_path: Path) -> int:
    """Events Ops stored; 0 while it has not made its schema."""
    rows = peek.rows_if_ready(db_path, "select count(*) from webhook_events")
    return int(rows[0][0]) if rows else 0


def ingest_statuses(lines: Iterable[dict[str, Any]]) -> Counter[int]:
    """Statuses of the ingest requests in Ops' JSON request lines."""
    return Counter(
        int(line["status"])
        for line in lines
        if line.get("msg") == "request" and line.get("path") == "/api/v1/webhooks/onboard"
    )


async def funnel(url: str, hours: int = 2) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, headers=AUTH, timeout=10) as client:
        response = await client.get("/api/v1/onboard/funnel", params={"hours": hours})
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def now_utc() -> datetime:
    return datetime.now(UTC)


def status_of(client: httpx.Client, method: str, url: str, **kwargs: object) -> int:
    """Send a request and return its status without reading an endless body (the stream)."""
    with client.stream(method, url, **kwargs) as response:  # type: ignore[arg-type]
        if not response.headers.get("content-type", "").startswith("text/event-stream"):
            response.read()
        return response.status_code
