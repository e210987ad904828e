"""Whether Ops can be reached, as the outbox dispatcher last found it.

A delivery attempt that fails for a reason about the endpoint rather than the event
(connection refused, a connect or read timeout, the connection dropped: the network errors
of vm112_portal/outbox/ops_webhook.py) says nothing about the event and everything about the next
event's chances. So the dispatcher backs off Ops as a whole: until ``probe_at`` it makes no
attempt, reads nothing and writes nothing, and a wizard commit does not even wake it; at
``probe_at`` one attempt goes (the probe, the longest-waiting session's next event). The
delay doubles with each failed probe, with the outbox's own jitter and cap
(``RetryPolicy.backoff``: 0.5 s doubling, equal jitter, at most ``PORTAL_OUTBOX_BACKOFF_MAX``);
any HTTP answer means Ops is reachable again. An answer that refuses one event (5xx, 429,
408, 401) is that event's business: its session backs off alone, the others go on.

So once Ops is back, delivery resumes at the next probe: at most ``backoff_max`` (plus
one attempt's timeout) after Ops returns, the same bound as a single event's retry.

The wait is counted on the monotonic clock; only the probe's time given to the probed
row (its ``next_attempt_at``) is a ``time.time()``. A wall clock stepped back during a
backoff (NTP) must not hold every delivery, and the wake-ups of new commits, for the size
of the step (tests/portal/test_ops_endpoint.py).

Written on the dispatcher's thread only; ``waiting`` is also read by the wizard's thread
(``Dispatcher.wake``): reading a float needs no lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from vm112_portal.outbox.ops_webhook import RetryPolicy


class OpsEndpoint:
    """Ops as one endpoint: reachable, or backed off until its next probe."""

    def __init__(self, policy: RetryPolicy, clock: Callable[[], float] = time.monotonic) -> None:
        self._policy = policy
        self._clock = clock  # monotonic: the wait is immune to wall clock steps
        self.failures = 0  # failed attempts in a row, each a network error
        self.probe_at = 0.0  # time.time() of the next probe; 0.0 once Ops answered
        self._until = 0.0  # the same moment on ``clock``

    def waiting(self) -> float:
        """Seconds until an attempt may go; 0.0 when one may go now."""
        if not self.failures:
            return 0.0
        return max(self._until - self._clock(), 0.0)

    def unreachable(self, now: float) -> float:
        """An attempt found Ops unreachable at ``now`` (``time.time()``): back off; returns
        the next probe's time (the same clock)."""
        self.failures += 1
        delay = self._policy.backoff(self.failures)
        self._until = self._clock() + delay
        self.probe_at = now + delay
        return self.probe_at

    def reached(self) -> None:
        """Ops answered (whatever the status): attempts go freely again."""
        self.failures = 0
        self.probe_at = 0.0
        self._until = 0.0
