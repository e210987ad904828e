"""Benchmark 6: Ops' resident memory with the big store, idle and under funnel load.

RSS (VmRSS from /proc) of the Ops process: after start-up and a few requests, then
sampled every 100 ms while 8 connections request the funnel back to back, then idle again.
"""

from __future__ import annotations

import asyncio
import time

from bench.budgets import Figure, Section
from bench.funnel import label
from bench.plan import Plan
from bench.seed import cached_store
from bench.services import HOST, Credentials, Fleet, ServiceError
from bench.wire import Connection

LOADERS = 8
SAMPLE_EVERY = 0.1


async def run(plan: Plan) -> Section:
    section = Section("6 memory")
    store = await cached_store(plan.big)
    creds = Credentials()
    path = f"/api/v1/onboard/funnel?hours={store.window_hours()}"
    requests = 0
    async with Fleet() as fleet:
        ops = await fleet.ops(creds, store.path)
        conns = [await Connection.open(HOST, ops.port) for _ in range(LOADERS)]
        try:
            for conn in conns:  # warm: every reader connection and code path once
                reply = await conn.request("GET", path, creds.bearer)
                if reply.status != 200:
                    raise ServiceError(f"GET {path} answered {reply.status}")
            await asyncio.sleep(1.0)
            idle_kib = ops.rss_kib()
            until = time.monotonic() + plan.memory_seconds
            samples: list[int] = []

            async def load(conn: Connection) -> None:
                nonlocal requests
                while time.monotonic() < until:
                    await conn.request("GET", path, creds.bearer)
                    requests += 1

            async def sample() -> None:
                while time.monotonic() < until:
                    samples.append(ops.rss_kib())
                    await asyncio.sleep(SAMPLE_EVERY)

            await asyncio.gather(sample(), *(load(conn) for conn in conns))
            await asyncio.sleep(1.0)
            after_kib = ops.rss_kib()
        finally:
            for conn in conns:
                await conn.close()
    name = label(plan.big)
    section.add(
        Figure("memory.idle_mib", f"Ops RSS idle, {name} events", idle_kib / 1024, "MiB"),
        Figure(
            "memory.load_peak_mib",
            f"Ops RSS peak under funnel load ({LOADERS} connections), {name}",
            max(samples) / 1024,
            "MiB",
        ),
        Figure("memory.after_mib", "Ops RSS idle again after the load", after_kib / 1024, "MiB"),
    )
    section.details.update(
        {
            "events": store.events,
            "funnel_requests_during_load": requests,
            "load_seconds": plan.memory_seconds,
            "samples": len(samples),
        }
    )
    return section
