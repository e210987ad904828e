"""Concurrent load: requests per second of Desk reads beside /healthz, on one server.

For each connection count (8 and 32), the reads (the funnel, the failures read...) and
/healthz take turns in short slices, /healthz between every two reads (healthz, funnel,
healthz, failures, healthz, funnel, ...); each slice keeps every connection busy with
back-to-back requests on keep-alive connections for ``seconds``. A read's ratio to /healthz
is the median over its slices of (its rate / the mean rate of the two /healthz slices on
either side): each read slice is compared with /healthz measured in the seconds just
before and after it, so the machine's drift (other work, frequency changes) divides out
pair by pair, and the median keeps one disturbed slice from moving the figure
(bench/ratios.py). A target's requests/s is its completed requests over its slices' time.
The load generator runs in the bench's own process: on a small machine it takes CPU from
the server, which lowers every target's rate alike.

The goal (issue 16): each read serves at least half the requests per second /healthz
serves with 8 and with 32 connections. Reported as goals with their margin, never failing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bench.budgets import Figure, goal
from bench.ratios import median, spread
from bench.services import HOST, ServiceError
from bench.wire import Connection

CONNECTIONS = (8, 32)
RATIO_GOAL = 0.5
REFERENCE = "healthz"


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

    def __add__(self, other: Rate) -> Rate:
        return Rate(self.requests + other.requests, self.seconds + other.seconds)


def schedule(names: Sequence[str], turns: int, reference: str = REFERENCE) -> list[str]:
    """The slices' order: the reference first, then each read followed by the reference,
    ``turns`` times over: every read slice has a reference slice on either side."""
    order = [reference]
    for _ in range(turns):
        for name in names:
            order += [name, reference]
    return order


@dataclass(frozen=True, slots=True)
class Slices:
    """The slices of one connection count, in the order they ran."""

    order: list[str]
    rates: list[Rate]

    def total(self, name: str) -> Rate:
        return sum(
            (rate for n, rate in zip(self.order, self.rates, strict=True) if n == name),
            Rate(0, 0.0),
        )

    @property
    def names(self) -> list[str]:
        return list(dict.fromkeys(self.order))

    def ratios(self, name: str, reference: str = REFERENCE) -> list[float]:
        """Each slice of ``name`` over the mean rate of the reference slices beside it."""
        found = []
        for index, current in enumerate(self.order):
            if current != name:
                continue
            beside = [
                self.rates[i].per_second
                for i in (index - 1, index + 1)
                if 0 <= i < len(self.order) and self.order[i] == reference
            ]
            mean = sum(beside) / len(beside) if beside else 0.0
            if mean:
                found.append(self.rates[index].per_second / mean)
        return found

    def as_dict(self) -> dict[str, Any]:
        return {
            "order": self.order,
            "requests": [rate.requests for rate in self.rates],
            "seconds": [round(rate.seconds, 3) for rate in self.rates],
        }


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
    port: int, targets: Sequence[Target], connections: int, seconds: float, turns: int
) -> Slices:
    """The slices of ``seconds`` with ``connections`` open, in the order of ``schedule``:
    each read ``turns`` times, /healthz (the target named ``REFERENCE``) between them."""
    by_name = {target.name: target for target in targets}
    if REFERENCE not in by_name:
        raise ValueError(f"the targets need {REFERENCE!r} to compare with")
    order = schedule([t.name for t in targets if t.name != REFERENCE], turns)
    opened = [await Connection.open(HOST, port) for _ in range(connections)]
    found: list[Rate] = []
    try:
        for target in targets:  # warm-up: connections open, caches filled
            await _slice(opened, target, min(seconds, 0.5))
        for name in order:
            found.append(await _slice(opened, by_name[name], seconds))
    finally:
        for conn in opened:
            await conn.close()
    return Slices(order, found)


def margin(ratio: float) -> str:
    """How far a throughput ratio is from the goal's line, as a note."""
    return f"margin {ratio / RATIO_GOAL:.2f}x the line ({ratio - RATIO_GOAL:+.2f})"


def load_figures(key: str, where: str, connections: int, found: Slices) -> list[Figure]:
    """Requests/s of each target, and each read's ratio to /healthz (the median of its
    slices' ratios to the /healthz slices beside them) with its goal and margin."""
    figures = [
        Figure(
            f"{key}.load.{connections}.{name}_rps",
            f"{name} requests/s, {connections} connections ({where})",
            found.total(name).per_second,
            "/s",
        )
        for name in found.names
    ]
    for name in found.names:
        if name == REFERENCE:
            continue
        pairs = found.ratios(name)
        ratio = median(pairs) if pairs else None
        figures.append(
            Figure(
                f"{key}.load.{connections}.{name}_healthz_ratio",
                f"{name} / healthz requests/s, {connections} connections ({where})",
                ratio,
                "x",
                goal(RATIO_GOAL, better="higher"),
                note="" if ratio is None else f"{margin(ratio)}; {spread(pairs)}",
            )
        )
    return figures
