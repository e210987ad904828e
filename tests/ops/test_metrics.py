"""GET /metrics parses with prometheus-client's own parser and moves with real traffic."""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from servicekit.sqlfiles import migrate, migration_files
from tests.ops.conftest import AUTH, NOW, Ops
from vm122_ops.ingest.events import STAGE_TYPES
from vm122_ops.store.db import SQL_DIR


async def scrape(ops: Ops) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await ops.client.get("/metrics", headers=AUTH)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


async def test_counters_move_with_traffic(ops: Ops) -> None:
    before = await scrape(ops)
    assert before[("ops_sse_subscribers", ())] == 0
    await ops.send("onboarding.started", "m", NOW - 10, webhook_id="m1")
    await ops.send("onboarding.started", "m", NOW - 10, webhook_id="m1")
    await ops.send("domain.validated", "m", NOW - 5)
    body = b'{"type": "nope"}'
    await ops.post_raw(body, ops.headers("m9", body))
    await ops.post_raw(body, {**ops.headers("m9", body), "webhook-signature": "v1,AAAA"})
    await ops.funnel()
    after = await scrape(ops)
    assert after[("ops_events_accepted_total", (("type", "onboarding.started"),))] == 1
    assert after[("ops_events_accepted_total", (("type", "domain.validated"),))] == 1
    assert after[("ops_events_duplicate_total", ())] == 1
    assert after[("ops_webhook_rejections_total", (("reason", "contract"),))] == 1
    assert after[("ops_webhook_rejections_total", (("reason", "signature"),))] == 1
    assert after[("ops_ingest_seconds_count", ())] == 3
    assert after[("ops_funnel_query_seconds_count", ())] == 1
    route = "/api/v1/webhooks/onboard"
    assert after[("ops_http_requests_total", (("route", route), ("status", "202")))] == 2
    assert after[("ops_http_requests_total", (("route", route), ("status", "401")))] == 1


async def test_metrics_need_the_token(ops: Ops) -> None:
    response = await ops.client.get("/metrics")
    assert response.status_code == 401


async def test_request_id_is_echoed_or_made(ops: Ops) -> None:
    given = await ops.client.get("/healthz", headers={"X-Request-ID": "wizard-42"})
    assert given.headers["x-request-id"] == "wizard-42"
    made = await ops.client.get("/healthz", headers={"X-Request-ID": "bad id <script>"})
    assert len(made.headers["x-request-id"]) == 32


async def test_funnel_health_from_the_rollups(ops: Ops) -> None:
    minute = 60.0
    # c: a complete onboarding within the last 15 minutes; b: one 30-20 minutes ago.
    for index, event_type in enumerate(STAGE_TYPES):
        await ops.send(event_type, "c", NOW - 10 * minute + index * 60)
        await ops.send(event_type, "b", NOW - 30 * minute + index * 120)
    # Failures in the last 15 minutes: `big` three times, then eleven codes once each.
    for index in range(3):
        await ops.send("onboarding.started", f"big{index}", NOW - 14 * minute)
        await ops.send(
            "onboarding.failed",
            f"big{index}",
            NOW - 2 * minute,
            stage="account_created",
            code="carbonio:big",
        )
    for index in range(11):
        await ops.send(
            "onboarding.failed",
            f"one{index}",
            NOW - 40 * minute,
            stage="dns_applied",
            code=f"c{index:02d}",
        )
    await ops.send("onboarding.failed", "nocode", NOW - 20 * minute, stage="dns_applied")
    await ops.send("onboarding.started", "stuck", NOW - 40 * minute)  # over the 15 min floor
    await ops.send("onboarding.started", "gone", NOW - 30 * 3600)  # abandoned
    samples = await scrape(ops)

    def value(name: str, **labels: str) -> float:
        return samples[(name, tuple(sorted(labels.items())))]

    assert value("ops_onboarding_started_sessions", window="15m") == 4  # c, big0-2
    assert value("ops_onboarding_started_sessions", window="60m") == 6  # + b, stuck
    assert value("ops_onboarding_completed_sessions", window="15m") == 1
    assert value("ops_onboarding_completed_sessions", window="60m") == 2
    failures = {
        (dict(labels)["window"], dict(labels)["step"], dict(labels)["code"]): v
        for (name, labels), v in samples.items()
        if name == "ops_onboarding_failures"
    }
    # Ten codes by name (most failures first, then by name), the other three as `other`.
    assert failures == {
        ("15m", "account_created", "carbonio:big"): 3,
        ("60m", "account_created", "carbonio:big"): 3,
        **{("60m", "dns_applied", f"c{i:02d}"): 1 for i in range(9)},
        ("60m", "dns_applied", "other"): 3,  # c09, c10 and unspecified
    }
    assert value("ops_onboarding_active_sessions", stage="started", state="stuck") == 1
    assert value("ops_onboarding_active_sessions", stage="started", state="abandoned") == 1
    assert value("ops_onboarding_active_sessions", stage="started", state="moving") == 0
    assert value("ops_onboarding_stuck_after_seconds", stage="dns_applied") == 900
    assert value("ops_onboarding_last_event_age_seconds", type="onboarding.failed") == 120
    assert value("ops_onboarding_last_event_timestamp_seconds", type="onboarding.started") == (
        NOW - 10 * minute
    )
    assert value("ops_tickets", status="open") == 3 + 11 + 1 + 2  # failures, b and c
    assert value("ops_tickets", status="closed") == 0
    assert value("ops_alert_threshold_failure_ratio") == 0.5
    assert value("ops_alert_threshold_silent_seconds") == 1800


async def test_ticket_counts_follow_every_change_to_the_tickets(ops: Ops) -> None:
    import sqlite3

    for index in range(3):
        await ops.send("onboarding.failed", f"t{index}", NOW - 60, stage="dns_applied")
    samples = await scrape(ops)
    assert samples[("ops_tickets", (("status", "open"),))] == 3
    # Whatever writes the tickets (here SQL itself), the triggers keep the counts.
    with sqlite3.connect(ops.db_path) as conn:
        conn.execute("update tickets set status = 'closed' where session_id = 't0'")
        conn.execute("update tickets set subject = 'x' where session_id = 't1'")
        conn.execute(
            "delete from ticket_tags where ticket_id in "
            "(select id from tickets where session_id = 't2')"
        )
        conn.execute(
            "delete from ticket_entries where ticket_id in "
            "(select id from tickets where session_id = 't2')"
        )
        conn.execute("delete from tickets where session_id = 't2'")
    samples = await scrape(ops)
    assert samples[("ops_tickets", (("status", "open"),))] == 1
    assert samples[("ops_tickets", (("status", "closed"),))] == 1


async def test_refused_attempts_by_window_and_code(ops: Ops) -> None:
    """Every stored onboarding.started that carries a refusal counts once in its event's
    minute, by code (a later refused attempt of the same session too; a duplicate
    delivery not), in the 15 and 60 minute windows; a session validated after a refusal
    leaves its attempts counted. The exposition text, exactly."""
    minute = 60.0
    gmail = {"code": "mailbox_provider", "status": 422}
    taken = {"code": "domain_in_progress", "status": 409}
    await ops.send("onboarding.started", "g1", NOW - 2 * minute, refusal=gmail, webhook_id="g1")
    await ops.send("onboarding.started", "g1", NOW - 2 * minute, refusal=gmail, webhook_id="g1")
    await ops.send("onboarding.started", "g1", NOW - minute, refusal=taken)  # a second try
    await ops.send("onboarding.started", "g2", NOW - 10 * minute, refusal=gmail)
    await ops.send("domain.validated", "g2", NOW - 9 * minute)  # no longer refused
    await ops.send("onboarding.started", "old", NOW - 30 * minute, domain="(rejected)")
    await ops.send("onboarding.started", "gone", NOW - 90 * minute, refusal=gmail)  # too old
    await ops.send("onboarding.started", "plain", NOW - minute)
    response = await ops.client.get("/metrics", headers=AUTH)
    lines = [
        line for line in response.text.splitlines() if "ops_onboarding_refused_attempts" in line
    ]
    assert lines == [
        "# HELP ops_onboarding_refused_attempts onboarding.started events carrying a refusal "
        "in the window, by refusal code (the 10 most frequent codes of the last hour by name, "
        "the rest `other`).",
        "# TYPE ops_onboarding_refused_attempts gauge",
        'ops_onboarding_refused_attempts{code="domain_in_progress",window="15m"} 1.0',
        'ops_onboarding_refused_attempts{code="mailbox_provider",window="15m"} 2.0',
        'ops_onboarding_refused_attempts{code="domain_in_progress",window="60m"} 1.0',
        'ops_onboarding_refused_attempts{code="mailbox_provider",window="60m"} 2.0',
        'ops_onboarding_refused_attempts{code="unspecified",window="60m"} 1.0',
    ]


def test_the_migration_counts_the_last_two_days_refused_attempts(tmp_path: Path) -> None:
    """Migration 0020 fills refusal_minutes from the stored onboarding.started events of
    the last two days (by the wall clock, as the migration runs): a refusal's code, an
    older Portal's `(rejected)` start as `unspecified`; a plain start and an older
    refusal not."""
    files = migration_files(SQL_DIR / "schema")
    mine = [n for n, (_, file) in enumerate(files) if file.name.endswith("_refusal_minutes.sql")]
    older = tmp_path / "older"
    older.mkdir()
    for _, file in files[: mine[0]]:
        shutil.copy(file, older / file.name)
    path = tmp_path / "ops.db"
    now = int(time.time() * 1000)
    event = (
        "insert into webhook_events (id, event_id, session_id, event_type, domain,"
        " occurred_at, received_at, payload) values (?, ?, ?, 'onboarding.started', ?, ?, ?, ?)"
    )
    refused = json.dumps({"data": {"refusal": {"code": "mailbox_provider", "status": 422}}})
    with sqlite3.connect(path) as conn:
        assert migrate(conn, older) == mine[0]
        conn.execute(event, (1, "w1", "a", "(rejected)", now - 300_000, now, refused))
        conn.execute(event, (2, "w2", "a", "(rejected)", now - 240_000, now, refused))
        conn.execute(event, (3, "w3", "b", "(rejected)", now - 300_000, now, "{}"))
        conn.execute(event, (4, "w4", "c", "c.pt", now - 300_000, now, "{}"))
        conn.execute(event, (5, "w5", "d", "(rejected)", now - 3 * 86_400_000, now, refused))
    with sqlite3.connect(path) as conn:
        assert migrate(conn, SQL_DIR / "schema") == len(files)
        rows = conn.execute("select minute, code, attempts from refusal_minutes").fetchall()
    assert sorted(rows) == sorted(
        [
            ((now - 300_000) // 60_000, "mailbox_provider", 1),
            ((now - 240_000) // 60_000, "mailbox_provider", 1),
            ((now - 300_000) // 60_000, "unspecified", 1),
        ]
    )
