"""What both services' Prometheus metrics share: one registry per app (tests build many
apps), the families declared on it in one line each, and the access log's request
counter (``<prefix>_http_requests_total{route, status}``).

Each service subclasses ``ServiceMetrics`` and declares its own families with
``counter()`` and ``histogram()``; names follow Prometheus' naming guide
(https://prometheus.io/docs/practices/naming/), ``_total`` being added by the client.
A family with one label whose values are known up front (``known=``) has every series
from the start, so ``rate()`` and alerts see a 0, not nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from prometheus_client import CollectorRegistry, Counter, Histogram

Family = TypeVar("Family", Counter, Histogram)


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

    def counter(
        self, name: str, documentation: str, *labels: str, known: Sequence[str] = ()
    ) -> Counter:
        """A counter family on this registry, with these label names (and, for one label,
        a series for each ``known`` value at once)."""
        return _with_series(
            Counter(name, documentation, list(labels), registry=self.registry), labels, known
        )

    def histogram(
        self,
        name: str,
        documentation: str,
        *labels: str,
        buckets: Sequence[float],
        known: Sequence[str] = (),
    ) -> Histogram:
        """A histogram family on this registry, with these label names and buckets (and,
        for one label, a series for each ``known`` value at once)."""
        family = Histogram(
            name, documentation, list(labels), buckets=tuple(buckets), registry=self.registry
        )
        return _with_series(family, labels, known)

    def count_request(self, route: str, status: int) -> None:
        """The access log's hook: one answered request."""
        self.requests.labels(route=route, status=str(status)).inc()


def _with_series(family: Family, labels: tuple[str, ...], known: Sequence[str]) -> Family:
    """``family`` with a series for each known value of its one label, in that order."""
    if known and len(labels) != 1:
        raise ValueError(f"known values need exactly one label, not {len(labels)}")
    for value in known:
        family.labels(value)
    return family
