"""create_app(settings): the Ops ASGI application."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from servicekit.background import stop
from servicekit.envelope import exception_handlers
from servicekit.headers import SecurityHeaders
from servicekit.logs.access import AccessLog
from vm122_ops.app_state import AppState
from vm122_ops.desk import banner_conditions as conditions
from vm122_ops.desk.accounts import Passwords
from vm122_ops.desk.auth import OperatorAuth
from vm122_ops.desk.broker import Broker, StreamConfig
from vm122_ops.desk.browser_sessions import SESSION_SECONDS, DeskSessions, SessionWatch
from vm122_ops.desk.login_throttle import AuthThrottle
from vm122_ops.desk.stream_slots import StreamLimits
from vm122_ops.funnel.rollups import DurationCache, Funnel, Window
from vm122_ops.headers import SECURITY_HEADERS
from vm122_ops.ingest.storing import IngestResult, announcements
from vm122_ops.kept.funnel_basis import answer_funnel
from vm122_ops.kept.memo import Memo
from vm122_ops.metrics import OpsMetrics, metrics_endpoint
from vm122_ops.routes import (
    alerts,
    breakdowns,
    desk,
    health,
    onboard,
    openapi,
    pages,
    search,
    stream,
    webhooks,
)
from vm122_ops.settings import Settings
from vm122_ops.store import retention
from vm122_ops.store.db import Database
from vm122_ops.tickets.work import TicketChange

log = logging.getLogger("vm122_ops")


def routes() -> list[Route]:
    return [
        Route("/healthz", health.healthz, methods=["GET"], name="healthz"),
        Route("/openapi.json", openapi.endpoint, methods=["GET"], name="openapi"),
        Route(
            "/api/v1/webhooks/onboard",
            webhooks.ingest_onboard,
            methods=["POST"],
            name="ingest_onboard",
        ),
        Route("/api/v1/onboard/funnel", onboard.funnel, methods=["GET"], name="funnel"),
        Route(
            "/api/v1/onboard/funnel/sessions",
            onboard.funnel_sessions,
            methods=["GET"],
            name="funnel_sessions",
        ),
        Route("/api/v1/onboard/trend", onboard.conversion_trend, methods=["GET"], name="trend"),
        Route("/api/v1/onboard/paces", onboard.paces, methods=["GET"], name="paces"),
        Route(
            "/api/v1/onboard/breakdown",
            breakdowns.breakdown,
            methods=["GET"],
            name="breakdown",
        ),
        Route(
            "/api/v1/onboard/breakdown/trend",
            breakdowns.breakdown_trend_split,
            methods=["GET"],
            name="breakdown_trend",
        ),
        Route(
            "/api/v1/onboard/trend.csv",
            onboard.conversion_trend_csv,
            methods=["GET"],
            name="trend_csv",
        ),
        Route(
            "/api/v1/onboard/funnel/sessions.csv",
            onboard.funnel_sessions_csv,
            methods=["GET"],
            name="funnel_sessions_csv",
        ),
        Route("/api/v1/onboard/failures", onboard.failures, methods=["GET"], name="failures"),
        Route("/api/v1/onboard/mail", onboard.mail_readiness, methods=["GET"], name="mail"),
        Route(
            "/api/v1/onboard/sessions/{session_id}/timeline",
            onboard.session_timeline,
            methods=["GET"],
            name="session_timeline",
        ),
        Route("/api/v1/desk/alerts", alerts.current_alerts, methods=["GET"], name="current_alerts"),
        Route("/api/v1/desk/search", search.find, methods=["GET"], name="desk_search"),
        Route("/api/v1/desk/search.csv", search.find_csv, methods=["GET"], name="search_csv"),
        Route("/api/v1/desk/tickets", desk.list_tickets, methods=["GET"], name="list_tickets"),
        Route("/api/v1/desk/tickets.csv", desk.tickets_csv, methods=["GET"], name="tickets_csv"),
        Route("/api/v1/desk/tickets/bulk", desk.bulk_change, methods=["POST"], name="bulk_tickets"),
        Route(
            "/api/v1/desk/sessions/{session_id}/take",
            desk.take_session,
            methods=["POST"],
            name="take_session",
        ),
        Route(
            "/api/v1/desk/tickets/{ticket_id}", desk.get_ticket, methods=["GET"], name="get_ticket"
        ),
        Route(
            "/api/v1/desk/tickets/{ticket_id}",
            desk.patch_ticket,
            methods=["PATCH"],
            name="patch_ticket",
        ),
        Route(
            "/api/v1/desk/tickets/{ticket_id}/notes",
            desk.add_note,
            methods=["POST"],
            name="add_note",
        ),
        Route("/api/v1/desk/agents", desk.agents, methods=["GET"], name="agents"),
        Route("/api/v1/stream", stream.stream, methods=["GET"], name="stream"),
        Route("/metrics", metrics_endpoint, methods=["GET"], name="metrics"),
        # The Desk (docs/desk.md): pages, login, and their static modules and styles.
        Route("/", pages.dashboard, methods=["GET"], name="dashboard_page"),
        Route("/tickets", pages.tickets, methods=["GET"], name="tickets_page"),
        Route("/search", pages.search, methods=["GET"], name="search_page"),
        Route("/tickets/{ticket_id}", pages.ticket, methods=["GET"], name="ticket_page"),
        Route("/sessions/{session_id}", pages.session, methods=["GET"], name="session_page"),
        Route(
            "/funnel/sessions", pages.funnel_sessions, methods=["GET"], name="funnel_sessions_page"
        ),
        Route("/login", pages.login_page, methods=["GET"], name="login_page"),
        Route("/login", pages.login, methods=["POST"], name="login"),
        Route("/logout", pages.logout, methods=["POST"], name="logout"),
    ]


def static_mounts() -> list[BaseRoute]:
    """The Desk's ES modules and styles, open to all (they hold no data)."""
    return [
        Mount("/css", StaticFiles(directory=pages.FRONTEND / "css"), name="css"),
        Mount("/js", StaticFiles(directory=pages.FRONTEND / "js"), name="js"),
    ]


def create_app(
    settings: Settings,
    *,
    clock: Callable[[], float] = time.time,
    stream_config: StreamConfig | None = None,
    passwords: Passwords | None = None,
    throttle: AuthThrottle | None = None,
    session_check_seconds: float = 2.0,
    session_lifetime: int = SESSION_SECONDS,
) -> Starlette:
    """The app; ``passwords`` (a cheaper hasher) and ``throttle`` are for tests."""
    metrics = OpsMetrics()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        broker = Broker(
            stream_config or StreamConfig(limits=StreamLimits(program=settings.streams_api_token))
        )
        # The broker hears of events only after their COMMIT, in commit order.
        durations = DurationCache()
        memo = Memo()

        def committed(results: list[IngestResult | TicketChange]) -> None:
            for result in results:
                if isinstance(result, IngestResult) and not result.duplicate:
                    durations.apply(result.id, result.durations)
            broker.publish(announcements(results))

        db = Database(settings.db_path, after_commit=committed)
        await db.open()

        async def funnel_of(hours: int) -> Funnel:
            window = Window(hours=hours, now_ms=int(clock() * 1000))
            return await answer_funnel(db, window, durations, memo, settings.state_rule)

        metrics.track_broker(broker)
        memory: dict[str, int | None] = {"since": await db.read(retention.webhook_ids_since)}

        def remembered(since: int | None) -> None:
            memory["since"] = since

        purger = asyncio.create_task(
            retention.purge_periodically(
                db,
                settings.retention_days,
                clock,
                id_days=settings.webhook_id_days,
                remembered=remembered,
            ),
            name="ops-retention",
        )
        sessions = DeskSessions(db, clock=clock, lifetime=session_lifetime)
        watch = SessionWatch(sessions, broker, interval=session_check_seconds)
        watch.start()
        app.state.ops = AppState(
            settings=settings,
            db=db,
            sessions=sessions,
            clock=clock,
            broker=broker,
            throttle=throttle or AuthThrottle(),
            passwords=passwords or Passwords(),
            metrics=metrics,
            durations=durations,
            memory=memory,
            memo=memo,
        )

        async def alerts_now() -> dict[str, Any]:
            now_ms = int(clock() * 1000)
            return await conditions.read(
                db, now_ms, settings.thresholds, settings.state_rule, durations
            )

        broker.start(funnel_of, alerts_now)
        try:
            yield
        finally:
            await watch.close()
            await stop(purger)
            await broker.close()
            await db.close()

    return Starlette(
        routes=[*routes(), *static_mounts()],
        middleware=[
            Middleware(AccessLog, logger="vm122_ops.access", on_response=metrics.count_request),
            Middleware(SecurityHeaders, headers=SECURITY_HEADERS),
            Middleware(OperatorAuth),
        ],
        exception_handlers=exception_handlers(
            log,
            storage_message="the event store is unavailable; retry later",
            storage_headers={"Retry-After": "5"},
            http_messages={404: "no such endpoint", 405: "method not allowed on this endpoint"},
        ),
        lifespan=lifespan,
    )
