"""Prometheus metrics of the Ops service, one registry per app (tests build many apps).

GET /metrics is protected like the rest of the operator API (bearer token or Desk
cookie): it reveals traffic volumes. Prometheus scrapes it with
``authorization: {type: Bearer, credentials_file: ...}``.

The funnel-health families (``ops_onboarding_*``, ``ops_tickets``,
``ops_alert_threshold_*``) are read at scrape time in one snapshot from the rollups
(funnel_health.py), never from the events. Names follow Prometheus' naming guide
(https://prometheus.io/docs/practices/naming/): the ``ops_`` prefix, base units with
their suffix (``_seconds``, ``_ratio``), ``_total`` only on counters, and label sets
bounded (steps and stages are the contract's six, codes capped with ``other``).
"""

from __future__ import annotations

import asyncio
from collections import Counter as Tally
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from servicekit.metrics import ServiceMetrics
from servicekit.openapi import NO_QUERY
from vm122_ops.desk.auth_events import EVENTS as AUTH_EVENTS
from vm122_ops.desk.banner_conditions import Thresholds
from vm122_ops.desk.broker import Broker
from vm122_ops.errors import (
    BadRequest,
    OpsError,
    PayloadTooLarge,
    StorageUnavailable,
    Unauthorized,
    Unprocessable,
    UnsupportedMediaType,
)
from vm122_ops.funnel.health import MAX_CODE_LABELS, OTHER, FunnelHealth, read_funnel_health
from vm122_ops.funnel.rollups import read_paces
from vm122_ops.funnel.session_states import STATES
from vm122_ops.ingest.events import EVENT_TYPES, STAGES

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

REJECTION_REASONS: dict[type[OpsError], str] = {
    Unauthorized: "signature",
    BadRequest: "malformed",
    Unprocessable: "contract",
    PayloadTooLarge: "too_large",
    UnsupportedMediaType: "media_type",
    StorageUnavailable: "storage",
}


class OpsMetrics(ServiceMetrics):
    def __init__(self) -> None:
        super().__init__("ops")
        self.events_accepted = self.counter(
            "ops_events_accepted", "Webhook events stored, by type.", "type"
        )
        self.duplicates = self.counter(
            "ops_events_duplicate", "Deliveries of an already stored webhook-id."
        )
        self.rejections = self.counter(
            "ops_webhook_rejections", "Refused webhook deliveries, by reason.", "reason"
        )
        self.ingest_seconds = self.histogram(
            "ops_ingest_seconds",
            "Time to verify, store durably and answer a webhook.",
            buckets=_LATENCY_BUCKETS,
        )
        self.funnel_seconds = self.histogram(
            "ops_funnel_query_seconds", "Time to compute the funnel.", buckets=_LATENCY_BUCKETS
        )
        self.auth_events = self.counter(
            "ops_auth_events",
            "Authentication events: logins, failures, throttles, disabled accounts, logouts, "
            "Bearer failures, refused streams.",
            "event",
        )
        self._auth: dict[str, Counter] = {
            event: self.auth_events.labels(event=event) for event in AUTH_EVENTS
        }
        self._accepted: dict[str, Counter] = {}

    def accepted(self, event_type: str) -> None:
        """One stored event of ``event_type`` (its counter child kept: ``labels()`` takes
        a lock and builds its key on every call, per ingested event)."""
        child = self._accepted.get(event_type)
        if child is None:
            child = self._accepted[event_type] = self.events_accepted.labels(type=event_type)
        child.inc()

    def auth_event(self, event: str) -> None:
        """One authentication event (vm122_ops/desk/auth_events.py)."""
        self._auth[event].inc()

    def reject(self, exc: OpsError) -> None:
        for kind, reason in REJECTION_REASONS.items():
            if isinstance(exc, kind):
                self.rejections.labels(reason=reason).inc()
                return
        self.rejections.labels(reason="other").inc()

    def track_broker(self, broker: Broker) -> None:
        """Read the stream's figures from the broker at scrape time."""
        self.registry.register(_BrokerCollector(broker))

    def render(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


class _BrokerCollector(Collector):
    def __init__(self, broker: Broker) -> None:
        self.broker = broker

    def collect(self) -> Iterable[Metric]:
        yield GaugeMetricFamily(
            "ops_sse_subscribers",
            "Open Desk stream subscribers.",
            value=self.broker.subscriber_count,
        )
        yield CounterMetricFamily(
            "ops_sse_dropped_subscribers",
            "Stream subscribers disconnected for being slow.",
            value=self.broker.overflows,
        )
        try:  # scraped from a request handler, inside the event loop
            tasks = len(asyncio.all_tasks())
        except RuntimeError:
            return
        yield GaugeMetricFamily(
            "ops_asyncio_tasks",
            "Live asyncio tasks (a leak check: returns to its baseline).",
            value=tasks,
        )


def health_families(health: FunnelHealth, thresholds: Thresholds) -> list[Metric]:
    """The funnel-health metric families of one snapshot (docs/observability.md)."""
    activity = health.activity
    started = GaugeMetricFamily(
        "ops_onboarding_started_sessions",
        "Sessions whose onboarding.started is in the window (the current minute and the "
        "whole minutes before it).",
        labels=["window"],
    )
    completed = GaugeMetricFamily(
        "ops_onboarding_completed_sessions",
        "Sessions whose onboarding.completed is in the window.",
        labels=["window"],
    )
    failures = GaugeMetricFamily(
        "ops_onboarding_failures",
        "onboarding.failed events in the window, by the step that failed and code (the "
        f"{MAX_CODE_LABELS} most frequent codes of the last hour by name, the rest `other`).",
        labels=["window", "step", "code"],
    )
    refused = GaugeMetricFamily(
        "ops_onboarding_refused_attempts",
        "onboarding.started events carrying a refusal in the window, by refusal code (the "
        f"{MAX_CODE_LABELS} most frequent codes of the last hour by name, the rest `other`).",
        labels=["window", "code"],
    )
    labels = health.code_labels()
    refusal_labels = health.refusal_labels()
    for window in activity.windows:
        name = f"{window.minutes}m"
        started.add_metric([name], window.started)
        completed.add_metric([name], window.completed)
        cells: Tally[tuple[str, str]] = Tally()
        for (step, code), n in window.failures.items():
            cells[(STAGES[step], labels.get(code, OTHER))] += n
        for (step_name, code), n in sorted(cells.items()):
            failures.add_metric([name, step_name, code], n)
        codes: Tally[str] = Tally()
        for code, n in window.refused.items():
            codes[refusal_labels.get(code, OTHER)] += n
        for code, n in sorted(codes.items()):
            refused.add_metric([name, code], n)
    active = GaugeMetricFamily(
        "ops_onboarding_active_sessions",
        "Sessions neither completed nor failed, by furthest stage and state (moving, stuck, "
        "abandoned: docs/desk.md).",
        labels=["stage", "state"],
    )
    for stage in health.states.stages:
        for state in STATES:
            active.add_metric([stage.stage or "none", state], stage.count(state))
    stuck_after = GaugeMetricFamily(
        "ops_onboarding_stuck_after_seconds",
        "Idle time after which an active session waiting on the step out of this stage is stuck.",
        labels=["stage"],
    )
    for pace in health.states.paces:
        stuck_after.add_metric([STAGES[pace.stage]], pace.stuck_after_ms / 1000)
    age = GaugeMetricFamily(
        "ops_onboarding_last_event_age_seconds",
        "Seconds since the newest event of the type (event time; only types seen).",
        labels=["type"],
    )
    newest = GaugeMetricFamily(
        "ops_onboarding_last_event_timestamp_seconds",
        "Event time of the newest event of the type, Unix seconds (only types seen).",
        labels=["type"],
    )
    for event_type in EVENT_TYPES:
        seconds = activity.seconds_since(event_type)
        if seconds is not None:
            age.add_metric([event_type], seconds)
            newest.add_metric([event_type], activity.newest_ms[event_type] / 1000)
    tickets = GaugeMetricFamily("ops_tickets", "Support tickets by status.", labels=["status"])
    for status, n in sorted(health.tickets.items()):
        tickets.add_metric([status], n)
    return [
        started,
        completed,
        failures,
        refused,
        active,
        stuck_after,
        age,
        newest,
        tickets,
        *threshold_families(thresholds),
    ]


def threshold_families(thresholds: Thresholds) -> list[Metric]:
    """The alert thresholds (OPS_ALERT_*), which the Prometheus rules compare against."""
    return [
        GaugeMetricFamily(
            "ops_alert_threshold_silent_seconds",
            "OnboardingPortalSilent: fire after this long without onboarding.started.",
            value=thresholds.silent_minutes * 60,
        ),
        GaugeMetricFamily(
            "ops_alert_threshold_failure_ratio",
            "OnboardingFailureRateHigh: failures per started session over 15 minutes above this.",
            value=thresholds.failure_percent / 100,
        ),
        GaugeMetricFamily(
            "ops_alert_threshold_min_started_sessions",
            "OnboardingFailureRateHigh: only with at least this many sessions started in 15 min.",
            value=thresholds.min_sessions,
        ),
        GaugeMetricFamily(
            "ops_alert_threshold_code_failures",
            "OnboardingFailureCodeSpike: failures of one code at one step in 15 minutes.",
            value=thresholds.code_failures,
        ),
        GaugeMetricFamily(
            "ops_alert_threshold_stuck_sessions",
            "OnboardingStuckSessions: fire at this many stuck sessions.",
            value=thresholds.stuck_sessions,
        ),
    ]


class _Snapshot(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families


@NO_QUERY
async def metrics_endpoint(request: Request) -> Response:
    state = request.app.state.ops
    metrics: OpsMetrics = state.metrics
    settings = state.settings
    rule = settings.state_rule
    now_ms = state.now_ms()
    # The steps' paces from the funnel's duration cache: 7 days of cells are summed once.
    paces = await read_paces(state.db, state.durations, now_ms, rule)
    health = await state.db.read(read_funnel_health, now_ms, rule, paces)
    snapshot = CollectorRegistry()
    snapshot.register(_Snapshot(health_families(health, settings.thresholds)))
    body = generate_latest(metrics.registry) + generate_latest(snapshot)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
