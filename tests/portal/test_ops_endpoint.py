"""Ops backed off as a whole (vm112_portal/ops_endpoint.py): the wait until the next probe."""

from __future__ import annotations

import pytest

from vm112_portal.ops_endpoint import OpsEndpoint
from vm112_portal.ops_webhook import RetryPolicy


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
