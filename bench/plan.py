"""How much each benchmark does: the full run, and the quick --check form for CI."""

from __future__ import annotations

from dataclasses import dataclass

from bench.latency import Bound


@dataclass(frozen=True)
class Plan:
    name: str
    funnel_sizes: tuple[int, ...]
    big: int  # the store for the desk render and memory figures
    funnel: Bound  # GET funnel and GET /healthz, alternated
    compare_runs: int  # in-process runs of ours / naive / DuckDB per size
    load_seconds: float  # per slice of the concurrent load (bench/load.py), largest size
    load_slices: int  # turns of each target per connection count
    desk: Bound
    emission: Bound  # wizard runs per case (three requests each)
    ingest_seconds: float  # per slice; slices alternate ingest and the ceiling
    ingest_slices: int
    push_subscribers: tuple[int, ...]
    push_events: int
    memory_seconds: float

    @property
    def largest(self) -> int:
        return max(self.funnel_sizes)


FULL = Plan(
    name="full",
    funnel_sizes=(10_000, 100_000, 1_000_000),
    big=1_000_000,
    funnel=Bound(count=400, seconds=40.0, warmup=10),
    compare_runs=5,
    load_seconds=3.0,
    load_slices=3,
    desk=Bound(count=40, seconds=30.0, warmup=3),
    emission=Bound(count=150, seconds=90.0, warmup=3),
    ingest_seconds=4.0,
    ingest_slices=3,
    push_subscribers=(1, 100, 500),
    push_events=40,
    memory_seconds=10.0,
)

CHECK = Plan(
    name="check",
    funnel_sizes=(10_000, 100_000),
    big=100_000,
    funnel=Bound(count=200, seconds=15.0, warmup=5),
    compare_runs=3,
    load_seconds=1.0,
    load_slices=2,
    desk=Bound(count=15, seconds=10.0, warmup=2),
    emission=Bound(count=100, seconds=40.0, warmup=2),
    ingest_seconds=2.0,
    ingest_slices=2,
    push_subscribers=(1, 100, 500),
    push_events=15,
    memory_seconds=4.0,
)
