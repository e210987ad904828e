"""Benchmark 4: signed events per second into Ops with 32 concurrent senders.

Beside it, in pairs of short slices on the same server, the ceiling for a trivial POST
of the same size: POST /healthz with the same headers and body, which the router answers
405 through the same middleware (access log, security headers, auth) without touching
the store, after uvicorn has read the whole body: the HTTP and framework cost of a POST
of that size; we keep a route made for the bench out of the product on purpose. GET
/healthz, which does touch the database, is measured too (a half slice after each pair).
The figure is the median over the pairs of (ingest rate / ceiling rate in the same pair),
each pair in turn ingest first or ceiling first (ABBA: a steady drift favours neither):
the ingest rate follows the disk's fsync latency and the store's checkpoints, which the
ceiling does not, so a few slow-disk seconds lower one pair, not the figure
(bench/ratios.py). Every 2xx must be durable: after the run Ops is SIGKILLed and the
stored rows are counted.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.budgets import Figure, Section, budget, goal
from bench.deliveries import INGEST_PATH, Delivery, wizard_runs
from bench.latency import Summary
from bench.plan import Plan
from bench.ratios import median, pair_ratios, spread
from bench.seed import CACHE_DIR
from bench.services import HOST, Credentials, Fleet, kill
from bench.wire import Connection

SENDERS = 32
CEILING_GOAL_PCT = 50.0
EXPECTED_RATE = 2500  # deliveries built per second of ingest slice; the slice ends early
# if they run out (its rate is still right: it is divided by its own elapsed time).


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0
    slices: list[float] = field(default_factory=list)  # each slice's requests/s

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def add(self, seconds: float, status: int) -> None:
        self.latencies.append(seconds)
        self.statuses[status] = self.statuses.get(status, 0) + 1


async def blast(
    conns: list[Connection],
    requests: Iterator[tuple[str, str, dict[str, str], bytes]],
    seconds: float,
    tally: Tally,
) -> None:
    """Every connection sends requests from the shared iterator until time runs out."""
    until = time.monotonic() + seconds

    async def sender(conn: Connection) -> None:
        for method, path, headers, body in requests:
            elapsed, reply = await conn.timed(method, path, headers, body)
            tally.add(elapsed, reply.status)
            if time.monotonic() >= until:
                return

    before = len(tally.latencies)
    started = time.perf_counter()
    await asyncio.gather(*(sender(conn) for conn in conns))
    elapsed = time.perf_counter() - started
    tally.seconds += elapsed
    tally.slices.append((len(tally.latencies) - before) / elapsed if elapsed else 0.0)


def ingest_requests(
    deliveries: list[Delivery],
) -> Iterator[tuple[str, str, dict[str, str], bytes]]:
    for d in deliveries:
        yield "POST", INGEST_PATH, d.headers, d.body


def trivial_requests(sample: Delivery) -> Iterator[tuple[str, str, dict[str, str], bytes]]:
    while True:
        yield "POST", "/healthz", sample.headers, sample.body


def healthz_requests() -> Iterator[tuple[str, str, dict[str, str], bytes]]:
    while True:
        yield "GET", "/healthz", {}, b""


def stored_rows(path: Path) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(conn.execute("select count(*) from webhook_events").fetchone()[0])
    finally:
        conn.close()


async def run(plan: Plan) -> Section:
    section = Section("4 ingest")
    creds = Credentials()
    per_slice = int(EXPECTED_RATE * plan.ingest_seconds)
    ingest, trivial, health = Tally(), Tally(), Tally()
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ingest-", dir=CACHE_DIR) as folder:
        db = Path(folder) / "ops.db"
        async with Fleet() as fleet:
            ops = await fleet.ops(creds, db)
            conns = [await Connection.open(HOST, ops.port) for _ in range(SENDERS)]
            try:
                for number in range(plan.ingest_pairs):
                    batch = wizard_runs(creds, f"ingest{number}", per_slice)
                    ingest_first = number % 2 == 0  # ABBA: ingest, ceiling, ceiling, ingest
                    if ingest_first:
                        await blast(conns, ingest_requests(batch), plan.ingest_seconds, ingest)
                    await blast(conns, trivial_requests(batch[0]), plan.ingest_seconds, trivial)
                    if not ingest_first:
                        await blast(conns, ingest_requests(batch), plan.ingest_seconds, ingest)
                    await blast(conns, healthz_requests(), plan.ingest_seconds / 2, health)
            finally:
                for conn in conns:
                    await conn.close()
            kill(ops)  # SIGKILL: whatever was acknowledged must already be committed
        stored = stored_rows(db)
    accepted = ingest.statuses.get(202, 0)
    latency = Summary.of(ingest.latencies)
    pairs = pair_ratios(ingest.slices, trivial.slices)
    ceiling_label = "POST /healthz, same body (answered 405, no work)"
    section.add(
        Figure("ingest.events_per_s", f"ingest events/s, {SENDERS} senders", ingest.rate, "/s"),
        Figure("ingest.ceiling_per_s", f"ceiling: {ceiling_label}", trivial.rate, "/s"),
        Figure("ingest.healthz_per_s", "GET /healthz/s, same senders", health.rate, "/s"),
        Figure(
            "ingest.pct_of_ceiling",
            "ingest rate / trivial POST ceiling",
            100 * median(pairs) if pairs else None,
            "%",
            goal(CEILING_GOAL_PCT, "higher"),
            note=spread(pairs, scale=100, unit="%"),
        ),
        Figure("ingest.p50_ms", "ingest latency p50", latency.p50, "ms"),
        Figure("ingest.p99_ms", "ingest latency p99", latency.p99, "ms"),
        Figure(
            "ingest.lost",
            "2xx answers missing from the store after SIGKILL",
            float(max(accepted - stored, 0)),
            "",
            budget(1),
        ),
    )
    details: dict[str, Any] = {
        "senders": SENDERS,
        "body_bytes": len(wizard_runs(creds, "size", 1)[0].body),
        "ingest": {
            "statuses": ingest.statuses,
            "seconds": ingest.seconds,
            "latency": latency.as_dict(),
        },
        "ingest_per_s_by_slice": [round(rate, 1) for rate in ingest.slices],
        "trivial_post": {"statuses": trivial.statuses, "seconds": trivial.seconds},
        "trivial_per_s_by_slice": [round(rate, 1) for rate in trivial.slices],
        "pct_of_ceiling_of_totals": 100 * ingest.rate / trivial.rate if trivial.rate else None,
        "get_healthz": {"statuses": health.statuses, "seconds": health.seconds},
        "accepted_202": accepted,
        "stored_rows": stored,
    }
    unexpected = {s: n for s, n in ingest.statuses.items() if s != 202}
    if unexpected:
        details["unexpected_ingest_statuses"] = unexpected
    section.details.update(details)
    return section
