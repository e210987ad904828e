"""What the routes share: settings, the database, the clock, the Desk's live broker, its
login sessions, the password hasher and the failure budget, built in the lifespan."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.requests import Request

from vm122_ops.desk.accounts import Passwords
from vm122_ops.desk.broker import Broker
from vm122_ops.desk.browser_sessions import DeskSessions
from vm122_ops.desk.login_throttle import AuthThrottle
from vm122_ops.funnel.rollups import DurationCache
from vm122_ops.kept.memo import Memo
from vm122_ops.metrics import OpsMetrics
from vm122_ops.settings import Settings
from vm122_ops.store.db import Database


@dataclass(frozen=True)
class AppState:
    settings: Settings
    db: Database
    clock: Callable[[], float]
    broker: Broker
    sessions: DeskSessions
    throttle: AuthThrottle
    passwords: Passwords
    metrics: OpsMetrics
    durations: DurationCache
    # Every kept Desk answer, while the database is the same (vm122_ops/kept/memo.py).
    memo: Memo = field(default_factory=Memo)
    # Since when (ms) Ops knows every webhook-id it stored ({"since": None}: always);
    # read at start and after each hourly purge, answered on /healthz for the Portal's
    # replay (vm112_portal/outbox/replay.py).
    memory: dict[str, int | None] = field(default_factory=lambda: {"since": None})

    def now_ms(self) -> int:
        return int(self.clock() * 1000)


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.ops
    return state
