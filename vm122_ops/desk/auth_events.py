"""Who did what: one log line and one Prometheus count for every authentication event.

Each event is a JSON line on the ``vm122_ops.auth`` logger with the client's address,
the account name tried or used (never a password or a token) and the request id the
access log gave the request (``X-Request-Id``), and counts one in
``ops_auth_events_total{event}`` (docs/observability.md; the alert
``OpsLoginFailureSpike`` reads it).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from servicekit.logs import log_event
from servicekit.logs.access import current_request_id

if TYPE_CHECKING:
    from vm122_ops.metrics import OpsMetrics

log = logging.getLogger("vm122_ops.auth")

# The events, each with its log message.
EVENTS = {
    "login_ok": "login",
    "login_failed": "login failed",
    "login_throttled": "login throttled",
    "login_busy": "login refused: password checks busy",
    "login_disabled": "login of a disabled account",
    "logout": "logout",
    "bearer_failed": "bearer failed",
    "bearer_throttled": "bearer throttled",
    "stream_refused": "stream refused",
}
_WARNING = {"login_failed", "login_throttled", "login_busy", "login_disabled"}


def auth_event(
    metrics: OpsMetrics, event: str, client: str | None, account: str | None = None, **extra: str
) -> None:
    """Log and count one authentication event."""
    metrics.auth_event(event)
    level = logging.WARNING if event in _WARNING or event.startswith("bearer") else logging.INFO
    log_event(
        log,
        EVENTS[event],
        level,
        event=event,
        client=client or "unknown",
        account=account,
        request_id=current_request_id.get(),
        **extra,
    )
