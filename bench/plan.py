"""How much each benchmark does: the full run, and the quick --check form for CI."""

from __future__ import annotations

from dataclasses import dataclass

from bench.latency import Bound


@dataclass(frozen=True)
class Plan:
    name: str
    funnel_sizes: tuple[int, ...]
    big: int  # the store for the desk render and memory figures
    funnel: Bound  # rounds of GET funnel and GET /healthz at every size (all servers up)
    reads: Bound  # rounds of each Desk read and GET /healthz at every size (benchmark 7)
    compare_runs: int  # at least this many in-process runs of ours / naive / DuckDB per size
    compare_seconds: float  # ... and more while they take less than this (at most 100)
    load_seconds: float  # per slice of the concurrent load (bench/load.py), largest size
    load_turns: int  # slices of each read per connection count, /healthz between them
    desk: Bound
    emission: Bound  # wizard runs per case (three requests each); count only
    ingest_seconds: float  # per slice; pairs of slices: ingest and the ceiling
    ingest_pairs: int
    push_subscribers: tuple[int, ...]
    push_events: int
    memory_seconds: float
    # The reads of benchmark 7 to measure, by key (``--reads``); empty: every one.
    read_keys: tuple[str, ...] = ()

    @property
    def largest(self) -> int:
        return max(self.funnel_sizes)


FULL = Plan(
    name="full",
    funnel_sizes=(10_000, 100_000, 1_000_000),
    big=1_000_000,
    funnel=Bound(count=3000, seconds=20.0, warmup=20),
    reads=Bound(count=1500, seconds=25.0, warmup=5),
    compare_runs=5,
    compare_seconds=2.0,
    load_seconds=1.0,
    load_turns=5,
    desk=Bound(count=40, seconds=30.0, warmup=3),
    emission=Bound(count=250, seconds=0.0, warmup=3),
    ingest_seconds=1.0,
    ingest_pairs=10,
    push_subscribers=(1, 100, 500),
    push_events=40,
    memory_seconds=10.0,
)

CHECK = Plan(
    name="check",
    funnel_sizes=(10_000, 100_000),
    big=100_000,
    funnel=Bound(count=800, seconds=8.0, warmup=5),
    reads=Bound(count=300, seconds=8.0, warmup=2),
    compare_runs=3,
    compare_seconds=1.0,
    load_seconds=0.5,
    load_turns=2,
    desk=Bound(count=15, seconds=10.0, warmup=2),
    emission=Bound(count=100, seconds=0.0, warmup=2),
    ingest_seconds=1.0,
    ingest_pairs=4,
    push_subscribers=(1, 100, 500),
    push_events=15,
    memory_seconds=4.0,
)
