"""Benchmark 5: from an ingested event to its receipt on every SSE subscriber.

One Ops on a copy of the big store (so the shared funnel snapshot it pushes each second
costs what it costs in production). Subscribers to GET /api/v1/stream join in steps
(1, then 100, then 500 in all), each proven subscribed by the stream's first message.
At each step, probe events are ingested one at a time; each probe's latency on each
subscriber runs from just before its POST is written (so it includes the durable
commit) to the arrival of its ``onboard`` message. A subscriber that has not received a
probe within PROBE_TIMEOUT counts that many seconds: lost messages cannot flatter p95.
Memory per idle subscriber: Ops' RSS with all subscribers connected and idle, minus its
RSS before the first one, divided by their number.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from bench.budgets import Figure, Section, budget, goal
from bench.deliveries import INGEST_PATH, delivery
from bench.funnel import label
from bench.latency import Summary
from bench.plan import Plan
from bench.seed import CACHE_DIR, cached_store
from bench.services import HOST, Credentials, Fleet, ServiceError
from bench.wire import Connection, SseStream, WireError

BUDGET_MS = 1000.0
GOAL_MS = 50.0
PROBE_TIMEOUT = 5.0
PROBE_GAP = 0.05
CONNECT_BATCH = 50


class Tracker:
    """The probe in flight, and how many subscribers have yet to receive it."""

    def __init__(self) -> None:
        self.session = ""
        self.remaining = 0
        self.done = asyncio.Event()

    def expect(self, session: str, count: int) -> None:
        self.session, self.remaining = session, count
        self.done.clear()
        if count == 0:
            self.done.set()

    def arrived(self, session: str) -> None:
        if session == self.session:
            self.remaining -= 1
            if self.remaining <= 0:
                self.done.set()


class Listener:
    """One subscriber: reads its stream and stamps each probe's arrival."""

    def __init__(self, stream: SseStream, tracker: Tracker) -> None:
        self.stream = stream
        self.tracker = tracker
        self.arrivals: dict[str, float] = {}
        self.ended = False
        self.task: asyncio.Task[None] | None = None

    async def read(self) -> None:
        try:
            while True:
                message = await self.stream.next()
                if message.event == "onboard":
                    session = orjson.loads(message.data).get("session_id")
                    if isinstance(session, str):
                        self.arrivals[session] = message.received
                        self.tracker.arrived(session)
        except (WireError, ConnectionError, asyncio.IncompleteReadError):
            self.ended = True


async def subscribe(port: int, headers: dict[str, str], hours: int, tracker: Tracker) -> Listener:
    stream = await SseStream.open(HOST, port, f"/api/v1/stream?hours={hours}", headers)
    first = await asyncio.wait_for(stream.next(), PROBE_TIMEOUT)  # reset: subscribed
    if first.event not in ("reset", "onboard", "funnel"):
        raise ServiceError(f"the stream opened with {first.event!r}")
    listener = Listener(stream, tracker)
    listener.task = asyncio.create_task(listener.read())
    return listener


async def probe(
    sender: Connection,
    creds: Credentials,
    tracker: Tracker,
    listeners: list[Listener],
    number: int,
    step: int,
) -> list[float]:
    """One event's latency on each listener (PROBE_TIMEOUT for those it never reached)."""
    session = f"push-{step}-{number}"
    item = delivery(creds, f"{session}-evt", "onboarding.started", session, f"{session}.pt")
    tracker.expect(session, len(listeners))
    start = time.perf_counter()
    reply = await sender.request("POST", INGEST_PATH, item.headers, item.body)
    if reply.status != 202:
        raise ServiceError(f"ingest answered {reply.status}: {reply.body[:200]!r}")
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(tracker.done.wait(), PROBE_TIMEOUT)
    return [x.arrivals.get(session, start + PROBE_TIMEOUT) - start for x in listeners]


async def run(plan: Plan) -> Section:
    section = Section("5 push")
    creds = Credentials()
    source = await cached_store(plan.big)
    hours = source.window_hours()
    listeners: list[Listener] = []
    tracker = Tracker()
    results: dict[int, Summary] = {}
    lost: dict[int, int] = {}
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="push-", dir=CACHE_DIR) as folder:
        db = Path(folder) / "ops.db"
        shutil.copyfile(source.path, db)
        async with Fleet() as fleet:
            # The streams' window is Ops' own default (OPS_WINDOW_HOURS): a stream may ask
            # only for the Desk's windows or that one.
            # Its subscribers are streams of the API token: as many as the plan's most.
            ops = await fleet.ops(
                creds,
                db,
                window_hours=hours,
                extra={"OPS_STREAMS_API_TOKEN": str(max(plan.push_subscribers))},
            )
            sender = await Connection.open(HOST, ops.port)
            try:
                for number in range(5):  # warm the ingest and publish paths
                    await probe(sender, creds, tracker, [], number, 0)
                await asyncio.sleep(0.5)
                base_kib = ops.rss_kib()
                for step in plan.push_subscribers:
                    while len(listeners) < step:
                        batch = min(CONNECT_BATCH, step - len(listeners))
                        listeners += await asyncio.gather(
                            *(
                                subscribe(ops.port, creds.bearer, hours, tracker)
                                for _ in range(batch)
                            )
                        )
                    await asyncio.sleep(1.0)
                    idle_kib = ops.rss_kib()
                    samples: list[float] = []
                    for number in range(plan.push_events):
                        samples += await probe(sender, creds, tracker, listeners, number, step)
                        await asyncio.sleep(PROBE_GAP)
                    results[step] = Summary.of(samples)
                    lost[step] = sum(1 for s in samples if s >= PROBE_TIMEOUT)
                per_subscriber_kib = (idle_kib - base_kib) / max(len(listeners), 1)
            finally:
                await sender.close()
                for listener in listeners:
                    if listener.task is not None:
                        listener.task.cancel()
                    await listener.stream.close()
    size = label(plan.big)
    most = max(plan.push_subscribers)
    for step, summary in results.items():
        section.add(
            Figure(f"push.{step}.p50_ms", f"push p50, {step} subscribers", summary.p50, "ms"),
            Figure(
                f"push.{step}.p95_ms",
                f"push p95, {step} subscribers",
                summary.p95,
                "ms",
                budget(BUDGET_MS),
            ),
        )
    section.add(
        Figure(
            f"push.{most}.p95_goal",
            f"push p95, {most} subscribers, our goal",
            results[most].p95,
            "ms",
            goal(GOAL_MS),
        ),
        Figure(
            "push.kib_per_idle_subscriber",
            "Ops memory per idle subscriber",
            per_subscriber_kib,
            "KiB",
        ),
    )
    details: dict[str, Any] = {
        "store_events": source.events,
        "store": size,
        "probes_per_step": plan.push_events,
        "rss_kib_before_subscribers": base_kib,
        "rss_kib_idle_with_all": idle_kib,
        "lost_or_late_over_5s": lost,
        "ended_streams": sum(1 for x in listeners if x.ended),
    }
    for step, summary in results.items():
        details[str(step)] = summary.as_dict()
    section.details.update(details)
    return section
