"""Seeding through Ops' own store_event, and the naive baselines agreeing with Ops."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from pathlib import Path

from bench.baselines import compare
from bench.seed import HOUR_MS, WINDOW_HOURS, Store, seed, session_batches
from tests.support import peek
from vm122_ops.events import parse_event


def test_batches_hold_exactly_the_size_asked_in_arrival_order() -> None:
    now = 1_795_953_600_000
    batches = list(session_batches(random.Random(1), 2_345, now))
    deliveries = [d for batch in batches for d in batch]
    assert len(deliveries) == 2_345
    assert len({d[1] for d in deliveries}) == 2_345  # webhook-ids unique
    for batch in batches:
        assert [d[0] for d in batch] == sorted(d[0] for d in batch)
    for received, webhook_id, session, body in deliveries[:200]:
        event = parse_event(webhook_id, body)  # every body passes Ops' own validation
        assert event.session_id == session
        assert now - WINDOW_HOURS * HOUR_MS < event.occurred_at < now
        assert received >= event.occurred_at


def test_a_seeded_store_is_what_ingest_would_have_stored(tmp_path: Path) -> None:
    store = seed(tmp_path / "ops.db", 3_000, quiet=True)
    with peek.reading(store.path) as conn:
        assert conn.execute("select count(*) from webhook_events").fetchone() == (3_000,)
        sessions = conn.execute("select count(*) from onboard_sessions").fetchone()[0]
        statuses = Counter(
            dict(conn.execute("select status, count(*) from onboard_sessions group by 1"))
        )
        tickets = conn.execute("select count(*) from tickets").fetchone()[0]
        rollup = conn.execute("select sum(sessions) from funnel_rollup").fetchone()[0]
        journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert store.sessions == sessions
    assert 4.0 < 3_000 / sessions < 6.0  # about five events a session
    assert set(statuses) == {"active", "completed", "failed"}
    assert statuses["completed"] > statuses["failed"] > 0
    assert tickets > 0
    assert rollup == sessions  # every session counted once in the rollups
    assert journal == "wal"
    assert not (tmp_path / "ops.db.partial").exists()


async def test_naive_and_duckdb_give_the_same_funnel_as_ours(tmp_path: Path) -> None:
    store = await asyncio.to_thread(seed, tmp_path / "ops.db", 1_500, quiet=True)
    comparison = await compare(store.path, store.window_hours(), runs=1)
    assert comparison.agree
    assert comparison.duckdb_ms is not None, comparison.duckdb_error
    assert comparison.ours_ms > 0 and comparison.naive_ms > 0


def test_an_older_store_is_asked_for_a_window_that_still_holds_it() -> None:
    now = int(time.time() * 1000)
    assert Store(Path("x"), 1, 1, now).window_hours(now) == 48
    assert Store(Path("x"), 1, 1, now - 30 * 3_600_000).window_hours(now) == 78
    assert Store(Path("x"), 1, 1, now - 900 * 3_600_000).window_hours(now) == 720
