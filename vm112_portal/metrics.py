"""Prometheus metrics of the Portal, one registry per app (tests build many apps).

The Portal's API is public (customers), so GET /metrics (``routes.metrics``) is not: it
answers only ``Authorization: Bearer <PORTAL_METRICS_TOKEN>`` (compared in constant
time), and 404 while that setting is unset. Prometheus scrapes it with
``authorization: {type: Bearer, credentials_file: ...}`` (docs/observability.md).

The outbox figures are read from the database at scrape time; the counters move where
the work happens: delivery attempts in the dispatcher's thread once a batch's marks are
written (vm112_portal/outbox/dispatcher.py; prometheus_client's counters are thread-safe),
provider calls in the
Carbonio and Cloudflare clients, requests in the access log.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from starlette.responses import Response

from servicekit.metrics import ServiceMetrics
from vm112_portal.db import Database
from vm112_portal.errors import StorageUnavailable

# Provider calls take tens of milliseconds to seconds (PORTAL_PROVIDER_TIMEOUT, 10 s).
_PROVIDER_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
PROVIDERS = ("cloudflare", "carbonio")
OUTCOMES = ("delivered", "retry", "dead")
DISABLED = (
    "metrics are disabled: set PORTAL_METRICS_TOKEN (16 to 256 printable characters) and "
    "scrape with Authorization: Bearer <token>"
)


@dataclass(frozen=True)
class OutboxFigures:
    pending: int
    dead: int
    delivered: int
    oldest_pending_age: float


AUTH_EVENTS = ("bearer_failed", "bearer_throttled")


class PortalMetrics(ServiceMetrics):
    def __init__(self) -> None:
        super().__init__("portal")
        # Every series exists from the start (known=), so rate() and alerts see a 0.
        self.attempts = self.counter(
            "portal_outbox_attempts",
            "Delivery attempts to Ops, by outcome.",
            "outcome",
            known=OUTCOMES,
        )
        self.provider_seconds = self.histogram(
            "portal_provider_call_seconds",
            "Time of one provider API call, by provider.",
            "provider",
            buckets=_PROVIDER_BUCKETS,
            known=PROVIDERS,
        )
        self.provider_errors = self.counter(
            "portal_provider_errors",
            "Provider API calls that failed, by provider.",
            "provider",
            known=PROVIDERS,
        )
        self.auth_events = self.counter(
            "portal_auth_events",
            "Refused /metrics credentials, by kind (bearer_failed, bearer_throttled).",
            "event",
            known=AUTH_EVENTS,
        )
        # The outbox figures are read from the database after the counters are taken
        # (render): the dispatcher's thread moves its attempts counter just after the
        # commit of the marks, so in one scrape the counter never runs ahead of the rows.
        self._outbox = _OutboxCollector()
        self._outbox_registry = CollectorRegistry(auto_describe=True)
        self._outbox_registry.register(self._outbox)

    @contextmanager
    def provider_call(
        self, provider: str, *, handled: Callable[[Exception], bool] = lambda exc: False
    ) -> Iterator[None]:
        """Time one provider call; an exception counts as an error unless the client
        handles it as an answer (Carbonio's DOMAIN_EXISTS, Cloudflare's 81057...)."""
        started = time.perf_counter()
        try:
            yield
        except Exception as exc:
            if not handled(exc):
                self.provider_errors.labels(provider=provider).inc()
            raise
        finally:
            self.provider_seconds.labels(provider=provider).observe(time.perf_counter() - started)

    async def render(self, db: Database) -> Response:
        """The exposition: the counters, then the outbox figures read now (left out if
        the read fails)."""
        counters = generate_latest(self.registry)
        self._outbox.figures = await _outbox_figures(db)
        outbox = generate_latest(self._outbox_registry)
        return Response(counters + outbox, media_type=CONTENT_TYPE_LATEST)


async def _outbox_figures(db: Database) -> OutboxFigures | None:
    try:
        row = await db.fetch_one("outbox_status", {})
    except (sqlite3.Error, StorageUnavailable, ValueError):
        return None
    if row is None:
        return None
    oldest = row["oldest_pending_at"]
    return OutboxFigures(
        pending=int(row["pending"]),
        dead=int(row["dead"]),
        delivered=int(row["delivered"]),
        oldest_pending_age=max(time.time() - float(oldest), 0.0) if oldest else 0.0,
    )


class _OutboxCollector(Collector):
    """Yields the figures read just before the exposition (render), not stale gauges."""

    def __init__(self) -> None:
        self.figures: OutboxFigures | None = None

    def collect(self) -> Iterable[Metric]:
        figures = self.figures
        if figures is None:
            return
        yield GaugeMetricFamily(
            "portal_outbox_pending", "Events waiting for delivery to Ops.", value=figures.pending
        )
        yield GaugeMetricFamily(
            "portal_outbox_oldest_pending_age_seconds",
            "Age of the oldest undelivered event (0 when none).",
            value=figures.oldest_pending_age,
        )
        yield GaugeMetricFamily(
            "portal_outbox_dead",
            "Dead letters kept until redriven or dropped.",
            value=figures.dead,
        )
        yield GaugeMetricFamily(
            "portal_outbox_delivered",
            "Delivered events still kept (pruned after PORTAL_RETENTION_DAYS).",
            value=figures.delivered,
        )
