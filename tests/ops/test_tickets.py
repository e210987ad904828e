"""Desk tickets: which events open one, what their timeline holds, listing and paging."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.ops.conftest import AUTH, NOW, Ops, iso
from vm122_ops.tickets.ticket import ENTRY_DATA_LIMIT, READY_NOTE


async def tickets_of(ops: Ops, **params: str) -> list[dict[str, object]]:
    document = await ops.get("/api/v1/desk/tickets", **params)
    tickets: list[dict[str, object]] = document["tickets"]
    return tickets


@pytest.mark.parametrize(
    "event_type",
    [
        "onboarding.started",
        "domain.validated",
        "dns.applied",
        "infra.synced",
        "onboarding.completed",
    ],
)
async def test_other_events_open_no_ticket(ops: Ops, event_type: str) -> None:
    await ops.send(event_type, "s", NOW - 10)
    assert await tickets_of(ops) == []
    assert await ops.count("tickets") == 0


@pytest.mark.parametrize("event_type", ["account.created", "onboarding.failed"])
async def test_opening_events_open_one_ticket_with_the_session_history(
    ops: Ops, event_type: str
) -> None:
    await ops.send("onboarding.started", "s", NOW - 30)
    await ops.send("domain.validated", "s", NOW - 20)
    response = await ops.send(event_type, "s", NOW - 10, stage="account_created")
    assert response.status_code == 202
    tickets = await tickets_of(ops)
    assert len(tickets) == 1
    ticket = tickets[0]
    assert ticket["session_id"] == "s"
    assert ticket["domain"] == "example.com"
    assert ticket["status"] == "open"
    assert ticket["subject"] == "Onboarding of example.com"
    detail = await ops.get(f"/api/v1/desk/tickets/{ticket['id']}")
    assert [e["event_type"] for e in detail["timeline"]] == [
        "onboarding.started",
        "domain.validated",
        event_type,
    ]
    expected_tags = ["onboarding_failed"] if event_type == "onboarding.failed" else []
    assert detail["tags"] == expected_tags


async def test_later_events_append_and_completion_tags_ready_for_ops(ops: Ops) -> None:
    await ops.send("onboarding.started", "s", NOW - 50)
    await ops.send("account.created", "s", NOW - 40)
    await ops.send("onboarding.failed", "s", NOW - 35, reason="quota", stage="infra_synced")
    await ops.send("infra.synced", "s", NOW - 30)
    await ops.send("onboarding.completed", "s", NOW - 20, webhook_id="done")
    await ops.send("onboarding.completed", "s", NOW - 20, webhook_id="done")  # duplicate
    [ticket] = await tickets_of(ops)
    assert ticket["tags"] == ["onboarding_failed", "ready_for_ops"]
    detail = await ops.get(f"/api/v1/desk/tickets/{ticket['id']}")
    kinds = [(e["kind"], e.get("event_type")) for e in detail["timeline"]]
    assert kinds == [
        ("event", "onboarding.started"),
        ("event", "account.created"),
        ("event", "onboarding.failed"),
        ("event", "infra.synced"),
        ("event", "onboarding.completed"),
        ("note", None),
    ]
    # Ops' note says which it is, so the Desk writes it in the page's language; the stored
    # English text stays beside it.
    assert detail["timeline"][-1] == {
        "kind": "note",
        "note_kind": "ready_for_ops",
        "id": detail["timeline"][-1]["id"],
        "occurred_at": iso(NOW - 20),
        "received_at": detail["timeline"][-1]["received_at"],
        "text": READY_NOTE,
    }
    assert detail["timeline"][2]["data"]["reason"] == "quota"
    # Each tag an event added to the open ticket moved its version (stale edits: 409).
    assert detail["version"] == 3
    assert await ops.count("ticket_entries") == 6
    assert await tickets_of(ops, tag="ready_for_ops") == [ticket]


async def test_completion_arriving_before_the_opening_event_still_tags(ops: Ops) -> None:
    await ops.send("onboarding.completed", "s", NOW - 10)
    await ops.send("account.created", "s", NOW - 20)
    [ticket] = await tickets_of(ops)
    assert ticket["tags"] == ["ready_for_ops"]
    detail = await ops.get(f"/api/v1/desk/tickets/{ticket['id']}")
    assert [(e["kind"], e.get("event_type")) for e in detail["timeline"]] == [
        ("event", "account.created"),
        ("event", "onboarding.completed"),
        ("note", None),
    ]


async def test_one_ticket_per_session_whatever_opens_it(ops: Ops) -> None:
    await ops.send("onboarding.failed", "s", NOW - 10)
    await ops.send("account.created", "s", NOW - 20)
    await ops.send("onboarding.failed", "s", NOW - 5)
    assert len(await tickets_of(ops)) == 1
    assert await ops.count("ticket_entries") == 3


async def test_large_event_data_is_truncated_in_the_ticket_only(ops: Ops) -> None:
    await ops.send("account.created", "s", NOW - 10, blob="y" * 20_000)
    [ticket] = await tickets_of(ops)
    detail = await ops.get(f"/api/v1/desk/tickets/{ticket['id']}")
    data = detail["timeline"][0]["data"]
    assert data["_truncated"] is True
    assert data["_bytes"] > 20_000
    assert len(data["preview"]) < ENTRY_DATA_LIMIT
    timeline = await ops.get("/api/v1/onboard/sessions/s/timeline")
    assert len(timeline["events"][0]["data"]["blob"]) == 20_000


async def test_list_is_newest_updated_first_and_paginates(ops: Ops) -> None:
    for i in range(5):
        ops.clock.now = NOW + i
        await ops.send("account.created", f"s{i}", NOW - 100 + i)
    ops.clock.now = NOW + 10
    await ops.send("infra.synced", "s1", NOW - 50)  # s1 becomes the newest updated
    first = await ops.get("/api/v1/desk/tickets", limit=2)
    assert [t["session_id"] for t in first["tickets"]] == ["s1", "s4"]
    assert first["next"]
    second = await ops.get("/api/v1/desk/tickets", limit=2, cursor=first["next"])
    assert [t["session_id"] for t in second["tickets"]] == ["s3", "s2"]
    third = await ops.get("/api/v1/desk/tickets", limit=2, cursor=second["next"])
    assert [t["session_id"] for t in third["tickets"]] == ["s0"]
    assert third["next"] is None
    only = await ops.get("/api/v1/desk/tickets", session_id="s3")
    assert [t["session_id"] for t in only["tickets"]] == ["s3"]
    assert (await ops.get("/api/v1/desk/tickets", status="closed"))["tickets"] == []
    assert len((await ops.get("/api/v1/desk/tickets", status="open"))["tickets"]) == 5


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        pytest.param({"status": "weird"}, "status must be", id="status"),
        pytest.param({"tag": "Not A Tag"}, "tag must be", id="tag"),
        pytest.param({"session_id": "../etc"}, "session_id", id="session"),
        pytest.param({"limit": "0"}, "limit must be", id="limit-zero"),
        pytest.param({"limit": "9999"}, "limit must be", id="limit-big"),
        pytest.param({"cursor": "!!!"}, "cursor", id="cursor"),
    ],
)
async def test_bad_list_parameters_are_400(ops: Ops, params: dict[str, str], reason: str) -> None:
    response = await ops.client.get("/api/v1/desk/tickets", params=params, headers=AUTH)
    assert response.status_code == 400
    assert reason in response.json()["error"]


async def test_unknown_or_malformed_ticket_id(ops: Ops) -> None:
    missing = await ops.client.get("/api/v1/desk/tickets/42", headers=AUTH)
    assert missing.status_code == 404
    assert missing.json()["error"] == "no ticket 42"
    malformed = await ops.client.get("/api/v1/desk/tickets/1%27%20or%201=1", headers=AUTH)
    assert malformed.status_code == 400


async def test_the_ready_note_follows_the_first_completion_whatever_arrives_first(
    ops: Ops,
) -> None:
    await ops.send("account.created", "s", NOW - 50)
    await ops.send("onboarding.completed", "s", NOW - 10, webhook_id="second-completion")
    await ops.send("onboarding.completed", "s", NOW - 30, webhook_id="first-completion")
    [ticket] = await tickets_of(ops)
    detail = await ops.get(f"/api/v1/desk/tickets/{ticket['id']}")
    notes = [e for e in detail["timeline"] if e["kind"] == "note"]
    assert len(notes) == 1
    completions = [
        e["occurred_at"]
        for e in detail["timeline"]
        if e.get("event_type") == "onboarding.completed"
    ]
    assert notes[0]["occurred_at"] == min(completions)
    kinds = [(e["kind"], e.get("event_type")) for e in detail["timeline"]]
    assert kinds.index(("note", None)) == 2  # right after the first completion


async def test_a_ready_note_written_before_0005_is_found_by_its_kind(tmp_path: Path) -> None:
    """A database made by the 0003 schema upgrades in place: 0005 gives the existing
    ready_for_ops note its note_kind, and a late earlier completion still moves it."""
    import shutil
    import sqlite3

    from servicekit.sqlfiles import migrate
    from tests.ops.conftest import make_settings, running_ops
    from tests.support import peek
    from vm122_ops.store.sql import SQL_DIR

    old_schema = tmp_path / "schema"
    old_schema.mkdir()
    for path in sorted((SQL_DIR / "schema").glob("*.sql"))[:3]:
        shutil.copy(path, old_schema)
    ms = [int((NOW - seconds) * 1000) for seconds in (50, 40, 20)]
    with sqlite3.connect(tmp_path / "ops.db", isolation_level=None) as conn:
        assert migrate(conn, old_schema) == 3
        conn.execute(
            "insert into onboard_sessions (session_id, domain, first_event_at, last_event_at,"
            " last_event_type, last_event_row, furthest_stage, status, event_count,"
            " started_at, account_created_at, completed_at)"
            " values ('s', 'example.com', ?, ?, 'onboarding.completed', 3, 5, 'completed', 3,"
            " ?, ?, ?)",
            (ms[0], ms[2], *ms),
        )
        conn.execute(
            "insert into funnel_rollup values (?, 5, 'completed', 1)", (ms[0] // 3_600_000,)
        )
        conn.execute("insert into tickets values (1, 's', 'open', 'Onboarding of x', ?, ?)", ms[1:])
        conn.execute("insert into ticket_tags values (1, 'ready_for_ops')")
        for row, (event_type, at) in enumerate(
            zip(("onboarding.started", "account.created", "onboarding.completed"), ms, strict=True),
            start=1,
        ):
            conn.execute(
                "insert into ticket_entries (ticket_id, kind, event_row, event_type,"
                " occurred_at, received_at, body) values (1, 'event', ?, ?, ?, ?, '{}')",
                (row, event_type, at, at),
            )
        conn.execute(
            "insert into ticket_entries (ticket_id, kind, occurred_at, received_at, body)"
            " values (1, 'note', ?, ?, ?)",
            (ms[2], ms[2], READY_NOTE),
        )

    async with running_ops(make_settings(tmp_path)) as ops:
        with peek.reading(tmp_path / "ops.db") as conn:
            kinds = conn.execute("select note_kind from ticket_entries where kind = 'note'")
            assert kinds.fetchall() == [("ready_for_ops",)]
            latest = len(list((SQL_DIR / "schema").glob("*.sql")))
            assert conn.execute("pragma user_version").fetchone() == (latest,)
        late = await ops.send("onboarding.completed", "s", NOW - 30)
        assert late.status_code == 202
        detail = await ops.get("/api/v1/desk/tickets/1")
    entries = [(e["kind"], e.get("event_type"), e["occurred_at"]) for e in detail["timeline"]]
    assert [kind for kind, _, _ in entries].count("note") == 1
    note = next(entry for entry in entries if entry[0] == "note")
    assert note[2] == iso(NOW - 30)  # moved to the first completion
    assert detail["timeline"][-1]["event_type"] == "onboarding.completed"


@pytest.mark.parametrize("dns_first", [True, False], ids=["dns-first", "dns-last"])
async def test_manual_dns_and_pending_dkim_are_tagged_for_operations(
    ops: Ops, dns_first: bool
) -> None:
    # Issue 11: the Portal says DNS was left to the customer and DKIM awaits an operator;
    # the ticket carries it whichever event arrives first, so the Desk never shows a
    # domain as simply ready while its mail records are missing.
    dkim = {"status": "pending", "operations": ["zmdkimkeyutil -a -d example.com"]}
    manual: dict[str, Any] = {"mode": "manual", "records": [{"type": "MX"}], "dkim": dkim}
    if dns_first:
        await ops.send("dns.applied", "m", NOW - 30, **manual)
    await ops.send("account.created", "m", NOW - 20)
    await ops.send("onboarding.completed", "m", NOW - 10)
    if not dns_first:
        await ops.send("dns.applied", "m", NOW - 30, **manual)
    await ops.send("dns.applied", "c", NOW - 30, mode="cloudflare", dkim=dkim)
    await ops.send("account.created", "c", NOW - 20)
    tags = {t["session_id"]: t["tags"] for t in await tickets_of(ops)}
    assert tags == {
        "m": ["dkim_pending", "dns_manual", "ready_for_ops"],
        "c": ["dkim_pending"],
    }
