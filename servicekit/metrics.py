"""What both services' Prometheus metrics share: one registry per app (tests build many
apps), the families declared on it in one line each, and the access log's request
counter (``<prefix>_http_requests_total{route, status}``).

Each service subclasses ``ServiceMetrics`` and declares its own families with
``counter()`` and ``histogram()``; names follow Prometheus' naming guide
(https://prometheus.io/docs/practices/naming/), ``_total`` being added by the client.
"""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Histogram


class ServiceMetrics:
    """A registry of its own and the request counter the access log moves."""

    def __init__(self, prefix: str) -> None:
        self.registry = CollectorRegistry()
        self.requests = self.counter(
            f"{prefix}_http_requests",
            "HTTP requests answered, by route and status.",
            "route",
            "status",
        )

    def counter(self, name: str, documentation: str, *labels: str) -> Counter:
        """A counter family on this registry, with these label names."""
        return Counter(name, documentation, list(labels), registry=self.registry)

    def histogram(
        self, name: str, documentation: str, *labels: str, buckets: Sequence[float]
    ) -> Histogram:
        """A histogram family on this registry, with these label names and buckets."""
        return Histogram(
            name, documentation, list(labels), buckets=tuple(buckets), registry=self.registry
        )

    def count_request(self, route: str, status: int) -> None:
        """The access log's hook: one answered request."""
        self.requests.labels(route=route, status=str(status)).inc()
