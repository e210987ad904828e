"""Ops faults seen by a real Portal process: Ops unable to write (its writer made
read-only) and Ops' clock skewed past the 5-minute tolerance. Ops runs in-process under
uvicorn on a loopback port so the test can break and mend it; the Portal is a subprocess
delivering its outbox over HTTP, as in production."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest

from tests.desk.harness import FAST
from tests.reliability.harness import (
    Sent,
    fill_outbox,
    now_utc,
    outbox_states,
    outboxes_drained,
)
from tests.support.apps import OpsServer, portal_process
from tests.support.peek import outbox as outbox_rows
from tests.support.peek import stored_event_ids
from tests.support.poll import wait_until
from tests.support.runner import free_port


@dataclass
class Answers(logging.Handler):
    """Ops' access-log lines for the ingest route: (monotonic time, status)."""

    seen: list[tuple[float, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(logging.INFO)

    def emit(self, record: logging.LogRecord) -> None:
        fields = getattr(record, "fields", {})
        if fields.get("path") == "/api/v1/webhooks/onboard":
            self.seen.append((time.monotonic(), int(fields["status"])))

    __hash__ = logging.Handler.__hash__


@contextmanager
def ops_answers() -> Iterator[Answers]:
    logger = logging.getLogger("vm122_ops.access")
    handler, level = Answers(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@dataclass
class SkewedClock:
    offset: float = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


async def test_ops_that_cannot_write_answers_503_until_mended_and_loses_nothing(
    tmp_path: Path,
) -> None:
    sent = Sent()
    await fill_outbox(tmp_path / "portal.db", "ro", 200, sent, now_utc() - timedelta(minutes=5))
    ops = OpsServer(db_path=tmp_path / "ops.db", config=FAST)
    await ops.start()
    assert ops.app is not None
    db = ops.app.state.ops.db

    async def query_only(on: bool) -> None:
        """PRAGMA query_only on the writer connection, on the writer's own thread (not as a
        unit of work: BEGIN IMMEDIATE itself fails once the connection is read-only)."""
        writer = db._writer
        await db._on_writer_thread(writer.execute, f"PRAGMA query_only = {int(on)}")

    portal = portal_process(tmp_path / "portal.db", free_port(), ops.port, tmp_path / "portal.log")
    with ops_answers() as answers:
        try:
            await query_only(True)  # as if the database had become read-only
            portal.start()
            # The Portal keeps retrying (Ops asks for Retry-After: 5 s): two attempts.
            await wait_until(
                lambda: outbox_rows(tmp_path / "portal.db")[0]["attempts"] >= 2,
                timeout=30,
                what="two attempts at the first event",
            )
            stored_during_outage = len(stored_event_ids(tmp_path / "ops.db"))
            mended = time.monotonic()
            await query_only(False)
            await outboxes_drained(tmp_path / "portal.db")
        finally:
            portal.stop()
            await ops.stop()
    during = [status for at, status in answers.seen if at < mended]
    after = [status for at, status in answers.seen if at >= mended]
    stored = stored_event_ids(tmp_path / "ops.db")
    first = outbox_rows(tmp_path / "portal.db")[0]
    print(
        "read-only figures:",
        {
            "events_sent": len(sent.webhook_ids),
            "stored": len(stored),
            "answers_during_outage": during,
            "answers_after": len(after),
            "first_event_attempts": first["attempts"],
        },
    )
    assert len(during) >= 2 and set(during) == {503}  # 503, never 2xx
    assert stored_during_outage == 0
    assert sorted(stored) == sorted(sent.webhook_ids)
    assert outbox_states(tmp_path / "portal.db") == {"delivered": len(sent.webhook_ids)}
    retried = [line for line in portal.json_lines() if "will be retried" in line["msg"]]
    assert retried and "HTTP 503" in retried[0]["msg"]


@pytest.mark.parametrize(
    "skew", [pytest.param(600.0, id="ops-ahead-10min"), pytest.param(-600.0, id="ops-behind-10min")]
)
async def test_clock_skew_is_401_with_the_reason_and_heals_by_itself(
    tmp_path: Path, skew: float
) -> None:
    sent = Sent()
    await fill_outbox(tmp_path / "portal.db", "skew", 60, sent, now_utc() - timedelta(minutes=5))
    clock = SkewedClock(offset=skew)
    ops = OpsServer(db_path=tmp_path / "ops.db", config=FAST, clock=clock)
    await ops.start()
    portal = portal_process(tmp_path / "portal.db", free_port(), ops.port, tmp_path / "portal.log")
    with ops_answers() as answers:
        try:
            portal.start()
            await wait_until(
                lambda: outbox_rows(tmp_path / "portal.db")[0]["attempts"] >= 3,
                timeout=30,
                what="three refused attempts",
            )
            first = outbox_rows(tmp_path / "portal.db")[0]
            stored_while_skewed = len(stored_event_ids(tmp_path / "ops.db"))
            clock.offset = 0.0  # clocks agree again
            await outboxes_drained(tmp_path / "portal.db")
        finally:
            portal.stop()
            await ops.stop()
    direction = "old" if skew > 0 else "in the future"
    assert first["last_status"] == 401
    assert direction in first["last_error"] and "check the sender's clock" in first["last_error"]
    assert stored_while_skewed == 0
    warnings = [line for line in portal.json_lines() if line["level"] == "warning"]
    assert warnings and "clocks agree" in warnings[0]["msg"]
    assert direction in warnings[0]["msg"]
    stored = stored_event_ids(tmp_path / "ops.db")
    assert sorted(stored) == sorted(sent.webhook_ids)
    assert outbox_states(tmp_path / "portal.db") == {"delivered": len(sent.webhook_ids)}
    statuses = [status for _, status in answers.seen]
    print(
        "clock skew figures:",
        {
            "skew_s": skew,
            "events_sent": len(sent.webhook_ids),
            "stored": len(stored),
            "401_before_heal": statuses.count(401),
            "2xx": sum(200 <= s < 300 for s in statuses),
            "5xx": sum(s >= 500 for s in statuses),
        },
    )
    assert not any(s >= 500 for s in statuses)
