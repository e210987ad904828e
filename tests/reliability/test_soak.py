"""A bounded soak of a real Ops process: steady signed ingest plus 100 Desk stream
subscribers connecting and disconnecting over and over. Afterwards the subscriber gauge
is 0, the asyncio task count is back at its idle baseline, the memory (VmRSS from
/proc/<pid>/status) is back near its baseline, and no answer was an error.

The suite runs it for 10 s, enough for hundreds of subscriber cycles; SOAK_SECONDS makes
it longer on demand (SOAK_SECONDS=600 for ten minutes); SOAK_RATE is events per second
(20)."""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections import Counter
from contextlib import suppress
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.reliability.harness import ingest_statuses
from tests.support.apps import ops_process
from tests.support.credentials import AUTH
from tests.support.poll import wait_until
from tests.support.runner import free_port
from tests.support.signer import post_event

SECONDS = float(os.environ.get("SOAK_SECONDS", "10"))
RATE = float(os.environ.get("SOAK_RATE", "20"))
SUBSCRIBERS = 100
RSS_SLACK_KIB = 16 * 1024  # allocator slack once the load is gone, not growth per cycle


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def gauges(client: httpx.AsyncClient) -> dict[str, float]:
    text = (await client.get("/metrics", headers=AUTH)).text
    return {
        family.name: family.samples[0].value
        for family in text_string_to_metric_families(text)
        if family.name in ("ops_sse_subscribers", "ops_asyncio_tasks")
    }


async def settle(
    client: httpx.AsyncClient, tasks: float | None = None, within: float = 15
) -> dict[str, float]:
    """Wait until no subscriber is left (and the tasks are down to ``tasks``); the last
    reading either way (the test's assertions judge it)."""
    last: dict[str, float] = {}

    async def settled() -> bool:
        last.update(await gauges(client))
        return last["ops_sse_subscribers"] == 0 and (
            tasks is None or last["ops_asyncio_tasks"] <= tasks
        )

    with suppress(AssertionError):
        await wait_until(settled, timeout=within, interval=0.2, what="settled")
    return last


_sent = iter(range(1, 10**9))


async def sender(
    client: httpx.AsyncClient, until: float, statuses: Counter[int], last: list[int]
) -> None:
    while time.monotonic() < until:
        n = next(_sent)
        response = await post_event(
            client,
            "onboarding.started",
            f"soak-{n % 500}",
            webhook_id=f"soak-{os.getpid()}-{n}",
            domain="soak.pt",
        )
        statuses[response.status_code] += 1
        if response.status_code == 202:
            last[0] = int(response.json()["id"])
        await asyncio.sleep(1 / RATE)


async def read_for(response: httpx.Response, seconds: float, messages: list[int]) -> None:
    try:
        async with asyncio.timeout(seconds):
            async for line in response.aiter_lines():
                if line.startswith("id:"):
                    messages[0] += 1
    except TimeoutError:
        pass


async def cycle(
    url: str, until: float, opens: Counter[int], messages: list[int], last: list[int]
) -> None:
    async with httpx.AsyncClient(base_url=url, headers=AUTH, timeout=10) as client:
        while time.monotonic() < until:
            params = {} if random.random() < 0.5 else {"last_event_id": str(last[0])}
            try:
                async with client.stream("GET", "/api/v1/stream", params=params) as response:
                    opens[response.status_code] += 1
                    await read_for(response, random.uniform(0.3, 2.0), messages)
            except httpx.TransportError:
                opens[-1] += 1


async def load(
    url: str, seconds: float, statuses: Counter[int], opens: Counter[int], messages: list[int]
) -> None:
    until = time.monotonic() + seconds
    last = [0]
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        await asyncio.gather(
            sender(client, until, statuses, last),
            *(cycle(url, until, opens, messages, last) for _ in range(SUBSCRIBERS)),
        )


async def test_soak_returns_to_baseline(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # The subscribers are streams of the API token, 100 at once coming and going; a slot
    # comes back when Ops notices its stream ended, often after the client has opened the
    # next. The soak measures leaks, not the limits (tests/security): the most allowed.
    ops = ops_process(
        tmp_path / "ops.db", port, tmp_path / "ops.log", OPS_STREAMS_API_TOKEN="1024"
    ).start()
    statuses: Counter[int] = Counter()
    opens: Counter[int] = Counter()
    messages = [0]
    try:
        await ops.wait_ready(url)
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            idle_tasks = (await gauges(client))["ops_asyncio_tasks"]
            # Warm-up: one short round, so first-use allocations are in the baseline.
            await load(url, 5, statuses, opens, messages)
            await settle(client)
            await asyncio.sleep(1.0)
            warm = await gauges(client)
            baseline_rss = rss_kib(ops.pid)
            started = time.monotonic()
            await load(url, SECONDS, statuses, opens, messages)
            elapsed = time.monotonic() - started
            peak_rss = rss_kib(ops.pid)
            after = await settle(client, warm["ops_asyncio_tasks"])
            await asyncio.sleep(1.0)
            after_rss = rss_kib(ops.pid)
            healthy = (await client.get("/healthz")).status_code
    finally:
        ops.stop()
    answers = ingest_statuses(ops.json_lines())
    all_statuses = Counter(
        int(line["status"]) for line in ops.json_lines() if line.get("msg") == "request"
    )
    figures = {
        "seconds": round(elapsed, 1),
        "events_sent": sum(statuses.values()),
        "events_stored": statuses[202],
        "stream_opens": sum(opens.values()),
        "stream_statuses": dict(opens),
        "messages_received": messages[0],
        "subscribers_after": after["ops_sse_subscribers"],
        "tasks_idle": idle_tasks,
        "tasks_after_warmup": warm["ops_asyncio_tasks"],
        "tasks_after": after["ops_asyncio_tasks"],
        "rss_baseline_mib": round(baseline_rss / 1024, 1),
        "rss_peak_mib": round(peak_rss / 1024, 1),
        "rss_after_mib": round(after_rss / 1024, 1),
        "5xx": sum(n for s, n in all_statuses.items() if s >= 500),
    }
    print("soak figures:", json.dumps(figures))
    assert set(statuses) == {202} and set(answers) == {202}
    assert set(opens) == {200}
    assert figures["5xx"] == 0 and healthy == 200
    assert after["ops_sse_subscribers"] == 0
    assert after["ops_asyncio_tasks"] <= warm["ops_asyncio_tasks"]
    assert after_rss <= baseline_rss + RSS_SLACK_KIB
