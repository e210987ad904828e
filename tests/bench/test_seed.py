"""Seeding through Ops' own store_event, and the naive baselines agreeing with Ops."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from pathlib import Path

from bench.baselines import compare
from bench.seed import HISTORY_DAYS, HOUR_MS, WINDOW_HOURS, Store, seed, session_batches
from tests.support import peek
from vm122_ops.ingest.events import parse_event


def test_batches_hold_exactly_the_size_asked_in_arrival_order() -> None:
    now = 1_795_953_600_000
    batches = list(session_batches(random.Random(1), 2_345, now))
    deliveries = [d for batch in batches for d in batch]
    assert len(deliveries) == 2_345
    assert len({d[1] for d in deliveries}) == 2_345  # webhook-ids unique
    for batch in batches:
        assert [d[0] for d in batch] == sorted(d[0] for d in batch)
    in_window = 0
    for received, webhook_id, session, body in deliveries:
        event = parse_event(webhook_id, body)  # every body passes Ops' own validation
        assert event.session_id == session
        history_start = now - WINDOW_HOURS * HOUR_MS - HISTORY_DAYS * 24 * HOUR_MS
        assert history_start < event.occurred_at < now
        in_window += event.occurred_at > now - WINDOW_HOURS * HOUR_MS
        assert received >= event.occurred_at
    assert 0.7 < in_window / len(deliveries) < 0.9  # a fifth of the sessions is history


def test_the_events_carry_what_the_portal_sends() -> None:
    """Failure codes and steps as the Portal names them (vm112_portal/errors.py), DNS
    records without a DKIM one (the Portal publishes none: dkim is pending), manual DNS
    for domains without a zone, internationalised domains in both forms."""
    now = 1_795_953_600_000
    deliveries = [d for batch in session_batches(random.Random(7), 6_000, now) for d in batch]
    events = [parse_event(d[1], d[3]) for d in deliveries]
    failed = [e for e in events if e.event_type == "onboarding.failed"]
    codes = Counter(str(e.data["code"]) for e in failed)
    steps = Counter(str(e.data["stage"]) for e in failed)
    assert set(steps) == {"dns_applied", "account_created"}
    assert codes.most_common(1)[0][0] == "carbonio:account.DOMAIN_EXISTS"
    assert {"cloudflare:81053", "portal:timeout", "carbonio:service.FAILURE"} <= set(codes)
    assert all(
        str(e.data["code"]).startswith("cloudflare:")
        or e.data["stage"] != "dns_applied"
        or e.data["code"] == "portal:timeout"
        for e in failed
    )
    applied = [e for e in events if e.event_type == "dns.applied"]
    modes = Counter(str(e.data["mode"]) for e in applied)
    assert modes["cloudflare"] > modes["manual"] > 0
    for e in applied:
        listed = e.data["created"] if e.data["mode"] == "cloudflare" else e.data["records"]
        assert [(r["type"], r["name"].split(".")[0]) for r in listed] == [
            ("MX", e.domain.split(".")[0]),
            ("TXT", e.domain.split(".")[0]),
            ("TXT", "_dmarc"),
            ("CNAME", "autodiscover"),
        ]
        assert e.data["dkim"]["status"] == "pending"
    assert all(e.domain.startswith("nocf-") for e in applied if e.data["mode"] == "manual")
    # The breakdowns' values: every one the contract allows, a few sessions of an old
    # Portal without them, no previous provider in manual mode.
    started = [e for e in events if e.event_type == "onboarding.started"]
    assert {e.data.get("language") for e in started} == {"pt", "en", None}
    releases = Counter(e.data.get("release") for e in started)
    assert len(releases) == 13 and 0 < releases[None] < len(started) * 0.1
    providers = Counter(e.data.get("previous_provider") for e in applied)
    assert set(providers) == {"microsoft365", "google", "other", "none", None}
    assert all("previous_provider" not in e.data for e in applied if e.data["mode"] == "manual")
    idn = {e.domain: e.data["domain_unicode"] for e in events if "domain_unicode" in e.data}
    assert any(name.startswith("xn--") and name != unicode for name, unicode in idn.items())
    assert "xn--mnchen" in "".join(idn)  # münchen's A-label
    # Who to contact, from the account step on (vm112_portal/wizard.py ``_fail``).
    for e in events:
        known = e.event_type in ("account.created", "infra.synced", "onboarding.completed")
        known |= e.event_type == "onboarding.failed" and e.data["stage"] == "account_created"
        assert e.data.get("contact") == (f"admin@{e.domain}" if known else None)


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
        codes = conn.execute("select code, sum(failures) from failure_rollup group by 1").fetchall()
    assert store.sessions == sessions
    assert 4.0 < 3_000 / sessions < 6.0  # about five events a session
    assert set(statuses) == {"active", "completed", "failed"}
    assert statuses["completed"] > statuses["failed"] > 0
    assert tickets > 0
    assert dict(codes)["carbonio:account.DOMAIN_EXISTS"] > 0
    assert "unspecified" not in dict(codes)
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
