"""What the routes share: settings, the database, the clock and the Desk's live broker and
login sessions, built in the lifespan."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request

from vm122_ops.broker import Broker
from vm122_ops.db import Database
from vm122_ops.funnel import DurationCache
from vm122_ops.login import DeskSessions, LoginLimiter
from vm122_ops.metrics import OpsMetrics
from vm122_ops.settings import Settings


@dataclass(frozen=True)
class AppState:
    settings: Settings
    db: Database
    clock: Callable[[], float]
    broker: Broker
    sessions: DeskSessions
    limiter: LoginLimiter
    metrics: OpsMetrics
    durations: DurationCache

    def now_ms(self) -> int:
        return int(self.clock() * 1000)


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.ops
    return state
