"""Prometheus metrics of the Ops service, one registry per app (tests build many apps).

GET /metrics is protected like the rest of the operator API (bearer token or Desk
cookie): it reveals traffic volumes. Prometheus scrapes it with
``authorization: {type: Bearer, credentials_file: ...}``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from vm122_ops.broker import Broker
from vm122_ops.errors import (
    BadRequest,
    OpsError,
    PayloadTooLarge,
    StorageUnavailable,
    Unauthorized,
    Unprocessable,
    UnsupportedMediaType,
)

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

REJECTION_REASONS: dict[type[OpsError], str] = {
    Unauthorized: "signature",
    BadRequest: "malformed",
    Unprocessable: "contract",
    PayloadTooLarge: "too_large",
    UnsupportedMediaType: "media_type",
    StorageUnavailable: "storage",
}


class OpsMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.events_accepted = Counter(
            "ops_events_accepted",
            "Webhook events stored, by type.",
            ["type"],
            registry=self.registry,
        )
        self.duplicates = Counter(
            "ops_events_duplicate",
            "Deliveries of an already stored webhook-id.",
            registry=self.registry,
        )
        self.rejections = Counter(
            "ops_webhook_rejections",
            "Refused webhook deliveries, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.ingest_seconds = Histogram(
            "ops_ingest_seconds",
            "Time to verify, store durably and answer a webhook.",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.funnel_seconds = Histogram(
            "ops_funnel_query_seconds",
            "Time to compute the funnel.",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.requests = Counter(
            "ops_http_requests",
            "HTTP requests answered, by route and status.",
            ["route", "status"],
            registry=self.registry,
        )

    def count_request(self, route: str, status: int) -> None:
        """The access log's hook: one answered request."""
        self.requests.labels(route=route, status=str(status)).inc()

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


async def metrics_endpoint(request: Request) -> Response:
    metrics: OpsMetrics = request.app.state.ops.metrics
    return metrics.render()
