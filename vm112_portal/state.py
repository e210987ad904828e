"""What the Portal's routes share, built in the lifespan: settings, the database, the
metrics registry, the wizard, the sandbox providers when they are mounted, domain
ownership, the rate limiter, the /metrics failure budget and the mail check."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import Request

from servicekit.failures import FailureWindow
from vm112_portal.db import Database
from vm112_portal.mail_check import MailChecker
from vm112_portal.metrics import PortalMetrics
from vm112_portal.ownership import Ownership
from vm112_portal.providers.sandbox import Sandbox
from vm112_portal.settings import Settings
from vm112_portal.throttle import Throttle
from vm112_portal.wizard import Wizard


@dataclass(frozen=True)
class AppState:
    settings: Settings
    db: Database
    metrics: PortalMetrics
    wizard: Wizard
    sandbox: Sandbox | None
    ownership: Ownership
    throttle: Throttle | None  # None with PORTAL_RATE_LIMITS=off
    # Wrong /metrics Bearer tokens per client address (IPv6: /64), as Ops counts its own.
    metrics_failures: FailureWindow = field(default_factory=lambda: FailureWindow(10, 600.0))
    mail: MailChecker | None = None  # the mail check (vm112_portal/mail_check.py)


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.portal
    return state
