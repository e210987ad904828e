"""Who to contact about a session (issue 12, item 10; vm122_ops/tickets/contacts.py): the admin
address the customer typed, carried by the Portal's events from the account step on, kept
on the session at ingest (the newest event carrying one, by event time, whatever the
arrival order) and given as ``contact`` by the session timeline, the drill-down lists, the
funnel's active sessions and the ticket; a store of schema 8 gets it from its events."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from servicekit.sqlfiles import migrate
from tests.ops.conftest import HOUR, NOW, Ops
from vm122_ops.store.db import SQL_DIR
from vm122_ops.tickets import contacts

MINUTE = 60.0


async def contact_everywhere(ops: Ops, session_id: str) -> dict[str, object]:
    """The contact each read gives for a session (absent reads: missing)."""
    found: dict[str, object] = {}
    timeline = await ops.get(f"/api/v1/onboard/sessions/{session_id}/timeline")
    found["timeline"] = timeline["contact"]
    for state in ("moving", "stuck", "abandoned", "failed", "completed"):
        page = await ops.get("/api/v1/onboard/funnel/sessions", hours=24, state=state)
        for item in page["items"]:
            if item["session_id"] == session_id:
                found["list"] = item["contact"]
    funnel = await ops.funnel(hours=24)
    for active in funnel["active_sessions"]:
        if active["session_id"] == session_id:
            found["active"] = active["contact"]
    listing = await ops.get("/api/v1/desk/tickets", session_id=session_id)
    if listing["tickets"]:
        ticket = await ops.get(f"/api/v1/desk/tickets/{listing['tickets'][0]['id']}")
        found["ticket"] = ticket["contact"]
    return found


async def test_a_failed_account_step_gives_the_address_typed_everywhere(ops: Ops) -> None:
    await ops.send("onboarding.started", "f1", NOW - 50 * MINUTE, domain="loja.pt")
    await ops.send("domain.validated", "f1", NOW - 49 * MINUTE, domain="loja.pt")
    await ops.send("dns.applied", "f1", NOW - 48 * MINUTE, domain="loja.pt")
    assert await contact_everywhere(ops, "f1") == {"timeline": None, "list": None, "active": None}
    await ops.send(
        "onboarding.failed",
        "f1",
        NOW - 47 * MINUTE,
        domain="loja.pt",
        stage="account_created",
        code="carbonio:account.ACCOUNT_EXISTS",
        contact="admin@loja.pt",
    )
    assert await contact_everywhere(ops, "f1") == {
        "timeline": "admin@loja.pt",
        "list": "admin@loja.pt",
        "ticket": "admin@loja.pt",
    }


async def test_the_newest_event_carrying_one_wins_in_any_arrival_order(ops: Ops) -> None:
    # The customer retyped the address after a failure: the later one is the contact,
    # also when the earlier failure arrives last (the outbox retried it).
    await ops.send("onboarding.started", "s1", NOW - 30 * MINUTE, domain="loja.pt")
    await ops.send(
        "account.created", "s1", NOW - 10 * MINUTE, domain="loja.pt", contact="boss@loja.pt"
    )
    await ops.send(
        "onboarding.failed",
        "s1",
        NOW - 20 * MINUTE,
        domain="loja.pt",
        stage="account_created",
        contact="admin@loja.pt",
    )
    await ops.send("infra.synced", "s1", NOW - 9 * MINUTE, domain="loja.pt")  # carries none
    assert await contact_everywhere(ops, "s1") == {
        "timeline": "boss@loja.pt",
        "active": "boss@loja.pt",
        "list": "boss@loja.pt",
        "ticket": "boss@loja.pt",
    }


async def test_an_older_portal_account_is_the_contact_and_junk_is_not(ops: Ops) -> None:
    # Before issue 12 the Portal sent no contact: account.created's account is the address.
    await ops.send("account.created", "old", NOW - HOUR, domain="velho.pt", account="a@velho.pt")
    await ops.send(
        "infra.synced", "old", NOW - HOUR + 1, domain="velho.pt", contact="x <evil@a.pt>"
    )
    assert (await contact_everywhere(ops, "old"))["timeline"] == "a@velho.pt"
    junk = ("no-at-sign", "a@b@c.pt", "a b@c.pt", "a@c.pt\n", "\u202ea@c.pt", "a@" + "x" * 260)
    for n, value in enumerate(junk):
        await ops.send("account.created", f"j{n}", NOW - HOUR, contact=value)
        assert (await contact_everywhere(ops, f"j{n}"))["timeline"] is None, value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("admin@loja.pt", "admin@loja.pt", id="plain"),
        pytest.param("Boss.Lopes+x@xn--caf-dma.pt", "Boss.Lopes+x@xn--caf-dma.pt", id="idn"),
        pytest.param("admin@localhost", None, id="no-dot"),
        pytest.param("mailto:a@b.pt", None, id="scheme"),
        pytest.param("a@b.pt?cc=x@y.pt", None, id="query"),
        pytest.param(12, None, id="number"),
        pytest.param(["a@b.pt"], None, id="list"),
    ],
)
def test_what_counts_as_an_address(value: object, expected: str | None) -> None:
    assert contacts.address(value) == expected


def test_a_store_of_schema_8_gets_each_sessions_contact_from_its_events(tmp_path: Path) -> None:
    path = tmp_path / "ops.db"
    files = sorted((SQL_DIR / "schema").glob("*.sql"))
    assert files[8].name.startswith("0009_")
    older = tmp_path / "schema-8"
    older.mkdir()
    for file in files[:8]:
        shutil.copy(file, older / file.name)
    with sqlite3.connect(path) as conn:
        assert migrate(conn, older) == 8
        insert = (
            "insert into webhook_events (event_id, session_id, event_type, domain,"
            " occurred_at, received_at, payload) values (?, ?, ?, ?, ?, ?, ?)"
        )
        session = (
            "insert into onboard_sessions (session_id, domain, first_event_at, last_event_at,"
            " last_event_type, last_event_row, furthest_stage, status, event_count)"
            " values (?, 'velho.pt', 1, 3, 'onboarding.completed', 3, 5, 'completed', 3)"
        )
        for sid in ("done", "early", "purged"):
            conn.execute(session, (sid,))

        def event(n: int, sid: str, kind: str, data: str) -> None:
            body = f'{{"type": "{kind}", "data": {{"session_id": "{sid}"{data}}}}}'
            conn.execute(insert, (f"w{n}", sid, kind, "velho.pt", n, n, body))

        event(1, "done", "account.created", ', "account": "first@velho.pt"')
        event(2, "done", "onboarding.completed", ', "account": "second@velho.pt"')
        event(3, "done", "infra.synced", ', "account": "not-this@velho.pt"')  # not its field
        event(4, "early", "onboarding.started", ', "account": "no@velho.pt"')
        event(5, "early", "account.created", ', "account": "bad address@velho.pt"')
    with sqlite3.connect(path) as conn:
        assert migrate(conn, SQL_DIR / "schema") >= 9
        found = dict(conn.execute("select session_id, contact from onboard_sessions"))
    assert found == {"done": "second@velho.pt", "early": None, "purged": None}


async def test_a_contact_given_at_step_one_is_kept_until_the_account_steps(ops: Ops) -> None:
    """Issue 25: the Portal carries an optional contact in onboarding.started, so a
    customer who stops early can be reached; the admin address of the account step, a
    newer event, takes its place later (both kinds keep working)."""
    await ops.send(
        "onboarding.started",
        "early",
        NOW - 50 * MINUTE,
        domain="loja.pt",
        reference="K7Q2M9XP",
        contact="ana@gmail.com",
    )
    found = await contact_everywhere(ops, "early")
    assert (found["timeline"], found["active"]) == ("ana@gmail.com", "ana@gmail.com")
    timeline = await ops.get("/api/v1/onboard/sessions/early/timeline")
    assert timeline["events"][0]["data"]["reference"] == "K7Q2M9XP"
    await ops.send(
        "account.created", "early", NOW - 40 * MINUTE, domain="loja.pt", contact="admin@loja.pt"
    )
    assert (await contact_everywhere(ops, "early"))["timeline"] == "admin@loja.pt"
