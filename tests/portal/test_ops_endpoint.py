"""Ops backed off as a whole (vm112_portal/outbox/ops_endpoint.py): the wait until the next
probe."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from tests.portal.conftest import FakeOps, make_settings, running_portal
from tests.portal.test_dispatcher import Unreachable, queue
from tests.support import peek
from tests.support.poll import wait_until
from vm112_portal.outbox.ops_endpoint import OpsEndpoint
from vm112_portal.outbox.ops_webhook import RetryPolicy


class Clocks:
    """A wall clock (time.time()) and a monotonic one, moved by the test."""

    def __init__(self) -> None:
        self.wall = 1000.0
        self.mono = 50.0

    def monotonic(self) -> float:
        return self.mono

    def sleep(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds


def test_waiting_is_the_backoff_then_nothing_once_ops_answered() -> None:
    clocks = Clocks()
    endpoint = OpsEndpoint(RetryPolicy(backoff_base=0.5, backoff_max=4.0), clocks.monotonic)
    assert endpoint.waiting() == 0.0
    probe = endpoint.unreachable(clocks.wall)
    assert 1000.25 <= probe <= 1000.5  # 0.5 s with equal jitter, on the wall clock
    assert endpoint.waiting() == pytest.approx(probe - 1000.0)
    clocks.sleep(endpoint.waiting())
    assert endpoint.waiting() == 0.0
    endpoint.unreachable(clocks.wall)
    assert endpoint.waiting() > 0.0
    endpoint.reached()
    assert endpoint.waiting() == 0.0
    assert endpoint.probe_at == 0.0


def test_a_wall_clock_stepped_back_does_not_stretch_the_backoff() -> None:
    # The dispatcher sleeps waiting() and looks again (``Dispatcher._round``), and the
    # wizard's wake() sends nothing while it is above 0: an NTP step back of an hour during
    # a backoff must not hold every delivery, and the wake-ups of new commits, for an hour.
    clocks = Clocks()
    endpoint = OpsEndpoint(RetryPolicy(backoff_base=0.5, backoff_max=4.0), clocks.monotonic)
    for _ in range(10):
        probe = endpoint.unreachable(clocks.wall)
    delay = probe - clocks.wall
    assert 2.0 <= delay <= 4.0  # capped at backoff_max
    clocks.wall -= 3600.0
    slept = 0.0
    while (wait := endpoint.waiting()) > 0:
        slept += wait
        clocks.sleep(wait)
    assert slept == pytest.approx(delay)  # was 3600 s + the delay (waiting on time.time())


async def test_a_portal_restarted_during_a_backoff_delivers_everything_once(
    tmp_path: Path,
) -> None:
    """The backoff lives in memory: a Portal restarted while Ops is backed off sends the
    other sessions' events at once and the probed one at its recorded next attempt (at
    most the backoff later), each exactly once."""
    await queue(tmp_path / "portal.db", [(f"r{n}", f"r{n}.pt") for n in range(3)])
    fake = FakeOps()
    ops = Unreachable(fake)
    settings = make_settings(tmp_path, backoff_base=2.0, backoff_max=2.0, outbox_poll=0.05)
    async with running_portal(settings, fake, transport=httpx.MockTransport(ops)):
        await wait_until(lambda: ops.refused == 1, timeout=5)
        await asyncio.sleep(0.1)
    assert ops.refused == 1  # one probe, then backed off until the stop
    rows = peek.outbox(settings.db_path)
    assert [row["attempts"] for row in rows] == [1, 0, 0]
    ops.down = False
    async with running_portal(settings, fake, transport=httpx.MockTransport(ops)) as portal:
        started = time.monotonic()
        await wait_until(lambda: len(fake.stored) >= 2, timeout=5)
        others = time.monotonic() - started
        await wait_until(portal.drained, timeout=5)
        probed = time.monotonic() - started
    assert others < 0.9  # not held by the backoff of the Portal before the restart
    assert probed < settings.backoff_max + 0.5
    assert sorted(fake.stored) == sorted(row["webhook_id"] for row in rows)
    assert len(fake.received) == 3  # each exactly once
