"""Ops backed off as a whole (vm112_portal/ops_endpoint.py): the wait until the next probe."""

from __future__ import annotations

import pytest

from vm112_portal.ops_endpoint import OpsEndpoint
from vm112_portal.ops_webhook import RetryPolicy


def test_waiting_is_the_backoff_then_nothing_once_ops_answered() -> None:
    endpoint = OpsEndpoint(RetryPolicy(backoff_base=0.5, backoff_max=4.0))
    probe = endpoint.unreachable(1000.0)
    assert 1000.25 <= probe <= 1000.5  # 0.5 s with equal jitter
    assert endpoint.waiting(1000.0) == pytest.approx(probe - 1000.0)
    assert endpoint.waiting(probe) == 0.0
    endpoint.reached()
    assert endpoint.waiting(1000.0) == 0.0


def test_a_wall_clock_stepped_back_does_not_stretch_the_backoff() -> None:
    # The wait is measured on time.time() (the dispatcher and the wizard's wake() pass it);
    # an NTP step back of an hour during a backoff must not hold every delivery, and the
    # wake-ups of new commits, for an hour: the wait stays at most the backoff itself.
    endpoint = OpsEndpoint(RetryPolicy(backoff_base=0.5, backoff_max=4.0))
    for _ in range(10):
        probe = endpoint.unreachable(1000.0)
    delay = probe - 1000.0
    assert 2.0 <= delay <= 4.0  # capped at backoff_max
    assert endpoint.waiting(1000.0 - 3600.0) == pytest.approx(delay)
