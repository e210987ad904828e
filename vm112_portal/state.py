"""What the Portal's routes share, built in the lifespan: settings, the database, the
metrics registry, the wizard, and the sandbox providers when they are mounted."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from vm112_portal.db import Database
from vm112_portal.metrics import PortalMetrics
from vm112_portal.sandbox import Sandbox
from vm112_portal.settings import Settings
from vm112_portal.wizard import Wizard


@dataclass(frozen=True)
class AppState:
    settings: Settings
    db: Database
    metrics: PortalMetrics
    wizard: Wizard
    sandbox: Sandbox | None


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.portal
    return state
