"""Concurrent load: requests per second of Desk reads beside /healthz, on one server.

For each connection count (8 and 32), the targets (the funnel, the failures read and
/healthz) take turns in short slices (funnel, failures, healthz, funnel, ...), each slice
keeping every connection busy with back-to-back requests on keep-alive connections for
``seconds``; a target's rate is its completed requests over its slices' total time. Taking
turns in slices lets the machine's noise (other work, frequency changes) hit every target
alike, so the ratio of a read to /healthz is comparable within one run even when the
absolute rates are not. The load generator runs in the bench's own process: on a small
machine it takes CPU from the server, which lowers every target's rate alike.

The goal (issue 16): each read serves at least half the requests per second /healthz
serves with 8 and with 32 connections. Reported as goals with their margin, never failing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bench.budgets import Figure, goal
from bench.services import HOST, ServiceError
from bench.wire import Connection

CONNECTIONS = (8, 32)
RATIO_GOAL = 0.5


@dataclass(frozen=True, slots=True)
class Target:
    name: str  # the figure key's part: "funnel", "failures", "healthz"
    path: str
    headers: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Rate:
    requests: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


async def _slice(connections: Sequence[Connection], target: Target, seconds: float) -> Rate:
    """Every connection sends ``target`` back to back for ``seconds``; completed requests."""
    deadline = time.perf_counter() + seconds
    start = time.perf_counter()

    async def worker(conn: Connection) -> int:
        done = 0
        while time.perf_counter() < deadline:
            reply = await conn.request("GET", target.path, target.headers)
            if reply.status != 200:
                raise ServiceError(f"GET {target.path} answered {reply.status}")
            done += 1
        return done

    counts = await asyncio.gather(*(worker(conn) for conn in connections))
    return Rate(sum(counts), time.perf_counter() - start)


async def rates(
    port: int, targets: Sequence[Target], connections: int, seconds: float, slices: int
) -> dict[str, Rate]:
    """Each target's rate over ``slices`` turns of ``seconds`` with ``connections`` open."""
    opened = [await Connection.open(HOST, port) for _ in range(connections)]
    totals = {target.name: Rate(0, 0.0) for target in targets}
    try:
        for target in targets:  # warm-up: connections open, caches filled
            await _slice(opened, target, min(seconds, 0.5))
        for _ in range(slices):
            for target in targets:
                rate = await _slice(opened, target, seconds)
                total = totals[target.name]
                totals[target.name] = Rate(
                    total.requests + rate.requests, total.seconds + rate.seconds
                )
    finally:
        for conn in opened:
            await conn.close()
    return totals


def margin(ratio: float) -> str:
    """How far a throughput ratio is from the goal's line, as a note."""
    return f"margin {ratio / RATIO_GOAL:.2f}x the line ({ratio - RATIO_GOAL:+.2f})"


def load_figures(key: str, where: str, connections: int, found: dict[str, Rate]) -> list[Figure]:
    """Requests/s of each target, and each read's ratio to /healthz with its goal."""
    health = found["healthz"].per_second
    figures = [
        Figure(
            f"{key}.load.{connections}.{name}_rps",
            f"{name} requests/s, {connections} connections ({where})",
            rate.per_second,
            "/s",
        )
        for name, rate in found.items()
    ]
    for name, rate in found.items():
        if name == "healthz":
            continue
        ratio = rate.per_second / health if health else 0.0
        figures.append(
            Figure(
                f"{key}.load.{connections}.{name}_healthz_ratio",
                f"{name} / healthz requests/s, {connections} connections ({where})",
                ratio,
                "x",
                goal(RATIO_GOAL, better="higher"),
                note=margin(ratio),
            )
        )
    return figures
