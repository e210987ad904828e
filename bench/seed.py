"""Large Ops stores for the benchmarks, written straight into SQLite by Ops' own code.

Every event goes through the service's own path, minus HTTP and the writer thread:
``parse_event`` validates the body and ``vm122_ops.ingest.store_event`` stores it with the
service's SQL files (event row, session state fold, rollups, tickets), on a plain sqlite3
connection like the service's writer thread. Transactions are large and synchronous=OFF
(seeding only; the service itself runs with FULL).

Sessions start uniformly over the window before the seeding time, ~5 events each, with a
realistic mix: most complete, some fail at a step, some are still in progress; a few
deliveries arrive late, out of order. Seeded stores are cached under var/bench/ by size
and are reused while they are less than MAX_AGE_HOURS old (the funnel is then asked for
a window that still covers every seeded session: see ``Store.window_hours``).
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bench.progress import ProgressBar
from bench.services import ROOT
from sqlfiles import migration_files
from vm122_ops.db import SQL_DIR, Database
from vm122_ops.events import STAGE_TYPES, format_ms, parse_event
from vm122_ops.ingest import store_event

CACHE_DIR = ROOT / "var" / "bench"
SEED_VERSION = 1
WINDOW_HOURS = 48
MAX_AGE_HOURS = 24 * 20  # the funnel's ?hours= tops out at 720
HOUR_MS = 3_600_000
COMMIT_EVERY = 20_000
SESSIONS_PER_BATCH = 2_000

FLOW = STAGE_TYPES  # a complete onboarding, in stage order
# Median seconds from each step to the next, drawn log-normally around it.
STEP_MEDIAN_S = (6.0, 35.0, 70.0, 12.0, 2.0)
STEP_SIGMA = 0.9


# --- the store as a file -------------------------------------------------------------


@dataclass(frozen=True)
class Store:
    path: Path
    events: int
    sessions: int
    seeded_at_ms: int

    def window_hours(self, now_ms: int | None = None) -> int:
        """A funnel window (hours) that holds every seeded session at ``now_ms``."""
        now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        age_hours = max(0.0, (now_ms - self.seeded_at_ms) / HOUR_MS)
        return min(720, WINDOW_HOURS + math.ceil(age_hours))


def store_path(size: int) -> Path:
    schema = len(migration_files(SQL_DIR / "schema"))
    return CACHE_DIR / f"ops-{size}-seed{SEED_VERSION}-schema{schema}.db"


async def cached_store(size: int, *, quiet: bool = False) -> Store:
    """The seeded store of ``size`` events, seeding it first (in a worker thread, with its
    own event loop) when missing or too old."""
    path = store_path(size)
    meta_path = path.with_suffix(".json")
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        age_hours = (time.time() * 1000 - meta["seeded_at_ms"]) / HOUR_MS
        if meta.get("events") == size and age_hours < MAX_AGE_HOURS:
            return Store(path, meta["events"], meta["sessions"], meta["seeded_at_ms"])
    store = await asyncio.to_thread(seed, path, size, quiet=quiet)
    meta_path.write_text(
        json.dumps(
            {
                "events": store.events,
                "sessions": store.sessions,
                "seeded_at_ms": store.seeded_at_ms,
                "seed_version": SEED_VERSION,
            }
        )
    )
    return store


def seed(path: Path, size: int, *, quiet: bool = False) -> Store:
    """Write a fresh store of exactly ``size`` events at ``path`` (replacing it).

    Synchronous, with event loops of its own: call it from a thread without one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    for leftover in (partial, *_sidecars(partial)):
        leftover.unlink(missing_ok=True)
    asyncio.run(_migrate(partial))  # the schema, through the service's own start-up path
    now_ms = int(time.time() * 1000)
    conn = sqlite3.connect(partial, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -262144")  # 256 MiB of page cache while seeding
        conn.execute("PRAGMA foreign_keys = ON")
        sessions = _fill(conn, size, now_ms, quiet=quiet)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("ANALYZE")
    finally:
        conn.close()
    for sidecar in _sidecars(path):
        sidecar.unlink(missing_ok=True)
    partial.replace(path)
    for sidecar in _sidecars(partial):
        sidecar.unlink(missing_ok=True)
    return Store(path, size, sessions, now_ms)


def _sidecars(path: Path) -> tuple[Path, Path]:
    return path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")


async def _migrate(path: Path) -> None:
    db = Database(path)
    await db.open()
    await db.close()


def _fill(conn: sqlite3.Connection, size: int, now_ms: int, *, quiet: bool) -> int:
    bar = None if quiet else ProgressBar(f"seeding {size:,} events", size)
    rng = random.Random(size)
    stored = 0
    sessions = 0
    conn.execute("BEGIN")
    for batch in session_batches(rng, size, now_ms):
        sessions += len({event[2] for event in batch})
        for received_at, event_id, _session, body in batch:
            event = parse_event(event_id, body)
            store_event(conn, event, received_at)
            stored += 1
            if stored % COMMIT_EVERY == 0:
                conn.execute("COMMIT")
                conn.execute("BEGIN")
        if bar is not None:
            bar.advance(len(batch))
    conn.execute("COMMIT")
    if bar is not None:
        bar.finish()
    return sessions


# --- what the events are -------------------------------------------------------------

Delivery = tuple[int, str, str, bytes]  # received_at, webhook-id, session_id, body


def session_batches(rng: random.Random, size: int, now_ms: int) -> Iterator[list[Delivery]]:
    """Exactly ``size`` deliveries, in batches sorted by arrival time."""
    span_ms = (WINDOW_HOURS * HOUR_MS) - 20 * 60_000
    first_start = now_ms - WINDOW_HOURS * HOUR_MS + 10 * 60_000
    remaining = size
    index = 0
    while remaining > 0:
        starts = sorted(first_start + rng.randrange(span_ms) for _ in range(SESSIONS_PER_BATCH))
        batch: list[Delivery] = []
        for start in starts:
            if remaining <= 0:
                break
            events = session_events(rng, index, start, now_ms)[:remaining]
            remaining -= len(events)
            batch.extend(events)
            index += 1
        batch.sort(key=lambda delivery: delivery[0])
        yield batch


def session_events(rng: random.Random, index: int, start_ms: int, now_ms: int) -> list[Delivery]:
    """One session's deliveries: a completed, failed or unfinished wizard run."""
    session_id = f"bench-{index:08d}"
    domain = f"{'nocf-' if rng.random() < 0.08 else ''}cliente{index}.example.pt"
    roll = rng.random()
    if roll < 0.58:  # completed; a nocf domain skips dns.applied
        steps = list(FLOW)
        failed_after = None
    elif roll < 0.75:  # failed after reaching some step
        steps = list(FLOW[: rng.choice((2, 3, 3, 4))])
        failed_after = steps[-1]
    else:  # in progress or abandoned
        steps = list(FLOW[: rng.randint(1, 5)])
        failed_after = None
    if domain.startswith("nocf-") and "dns.applied" in steps:
        steps.remove("dns.applied")
    deliveries = []
    moment = start_ms
    for number, event_type in enumerate(steps):
        if number:
            step = FLOW.index(event_type) - 1
            moment += int(1000 * rng.lognormvariate(math.log(STEP_MEDIAN_S[step]), STEP_SIGMA))
        deliveries.append((event_type, moment))
    if failed_after is not None:
        moment += int(1000 * rng.lognormvariate(math.log(20.0), STEP_SIGMA))
        deliveries.append(("onboarding.failed", moment))
    out = []
    for number, (event_type, occurred) in enumerate(deliveries):
        occurred = min(occurred, now_ms - 1000)
        late = rng.random() < 0.03  # a retried delivery, arriving after later events
        received = occurred + (rng.randint(1_000, 120_000) if late else rng.randint(3, 60))
        body = orjson.dumps(
            {
                "type": event_type,
                "timestamp": format_ms(occurred),
                "data": event_data(event_type, session_id, domain, failed_after),
            }
        )
        out.append((min(received, now_ms), f"evt_{index}_{number}", session_id, body))
    return out


def event_data(
    event_type: str, session_id: str, domain: str, failed_after: str | None
) -> dict[str, Any]:
    data: dict[str, Any] = {"session_id": session_id, "domain": domain}
    if event_type == "domain.validated":
        data["normalized"] = domain
    elif event_type == "dns.applied":
        data["records"] = ["MX", "TXT spf", "TXT dmarc", "TXT dkim", "CNAME autodiscover"]
    elif event_type == "account.created":
        data["admin"] = f"admin@{domain}"
    elif event_type == "infra.synced":
        data.update(plan="starter", mailbox_quota_mb=5120)
    elif event_type == "onboarding.failed":
        data.update(stage=failed_after, reason="Carbonio fault account.DOMAIN_EXISTS on retry")
    return data
