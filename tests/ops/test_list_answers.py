"""The ticket list and the search answered from kept bytes (vm122_ops/kept/memo.py):
equal to a fresh read after random ticket changes through the API, changes through a
second sqlite3 connection (the ``users`` command-line tool, another process), and new
events; one read for a burst of identical requests; the memory kept stays bounded."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from typing import Any

from tests.ops.conftest import AUTH, NOW, Ops
from vm122_ops.app_state import AppState
from vm122_ops.kept.memo import Memo
from vm122_ops.tickets import search
from vm122_ops.tickets import ticket as tickets
from vm122_ops.tickets.ticket import TicketFilter

TICKETS = "/api/v1/desk/tickets"
SEARCH = "/api/v1/desk/search"
DOMAINS = ["alpha.example", "alpine.example", "beta.example", "münchen.de", "bravo.example"]
TAGS = ["vip", "billing", "dns_manual"]


def kept(ops: Ops) -> Memo:
    assert ops.app is not None
    state: AppState = ops.app.state.ops
    return state.memo


async def fresh_tickets(ops: Ops, params: dict[str, Any]) -> dict[str, Any]:
    where = TicketFilter(
        status=params.get("status"),
        tag=params.get("tag"),
        unassigned=params.get("assignee") == "none",
        assignee=params["assignee"] if params.get("assignee") not in (None, "none") else None,
    )
    before = tickets.decode_cursor(params["cursor"]) if params.get("cursor") else None
    page = await ops.db.read(tickets.page, where, params.get("limit", 50), before)
    return {"ok": True, **page.document()}


async def fresh_search(ops: Ops, query: str) -> dict[str, Any]:
    found = await ops.db.read(search.find, query)
    return {"ok": True, "q": query, "items": [item.document() for item in found]}


async def check_lists(ops: Ops, rng: random.Random) -> None:
    """Random lists (every page) and searches, each read twice, equal fresh reads."""
    for _ in range(3):
        params: dict[str, Any] = {"limit": rng.choice([2, 3, 50])}
        if rng.random() < 0.4:
            params["status"] = rng.choice(["open", "pending", "resolved", "closed"])
        if rng.random() < 0.3:
            params["tag"] = rng.choice(TAGS)
        if rng.random() < 0.4:
            params["assignee"] = rng.choice(["none", "ana", "rui", "eve"])
        for _ in range(30):
            for _ in range(2):
                got = await ops.get(TICKETS, **params)
                assert got == await fresh_tickets(ops, params), params
            if got["next"] is None:
                break
            params["cursor"] = got["next"]
    for query in rng.sample(["al", "alp", "b", "münchen", "xn--mnch", "#1", "2", "zz"], 3):
        for _ in range(2):
            assert await ops.get(SEARCH, q=query) == await fresh_search(ops, query), query


async def test_kept_lists_equal_fresh_reads_after_random_changes(ops: Ops) -> None:
    """Events, PATCHes through the API and writes from another connection in random order;
    after each step the kept answers equal fresh reads. Without the database's change
    stamp (a counter only this process bumps) the other connection's writes are missed."""
    rng = random.Random(16)
    other = sqlite3.connect(ops.db_path, isolation_level=None)
    other.execute("PRAGMA busy_timeout = 5000")
    for name in ("ana", "rui"):
        other.execute(
            "insert into accounts (name, password_hash, created_at, password_changed_at) "
            "values (?, 'x', 0, 0)",
            (name,),
        )
    sessions: list[str] = []
    served_from_memory = 0
    try:
        for step in range(40):
            action = rng.choice(["event", "event", "patch", "other", "rename"])
            if action == "event" or not sessions:
                session = f"s{rng.randint(0, 14)}"
                kind = rng.choice(
                    ["account.created", "onboarding.failed", "onboarding.completed", "dns.applied"]
                )
                data: dict[str, Any] = {}
                if kind == "dns.applied":
                    data = {"mode": "manual"}
                response = await ops.send(
                    kind, session, NOW - 3600 + step, domain=rng.choice(DOMAINS), **data
                )
                assert response.status_code == 202, response.text
                if session not in sessions:
                    sessions.append(session)
            listing = await ops.get(TICKETS, limit=200)
            ids = [ticket["id"] for ticket in listing["tickets"]]
            if action == "patch" and ids:
                ticket = await ops.get(f"{TICKETS}/{rng.choice(ids)}")
                body: dict[str, Any] = {"version": ticket["version"]}
                body[rng.choice(["status", "assignee", "tags"])] = None
                if "status" in body:
                    body["status"] = rng.choice(["open", "pending", "resolved"])
                if "assignee" in body:
                    body["assignee"] = rng.choice([None, "ana", "rui"])
                if "tags" in body:
                    body["tags"] = rng.sample(TAGS, rng.randint(0, 2))
                response = await ops.client.patch(
                    f"{TICKETS}/{ticket['id']}", json=body, headers=AUTH
                )
                assert response.status_code == 200, response.text
            elif action == "other" and ids:
                other.execute(
                    "update tickets set status = ?, updated_at = updated_at + 1 where id = ?",
                    (rng.choice(["open", "closed"]), rng.choice(ids)),
                )
            elif action == "rename":
                old, new = rng.choice([("ana", "eve"), ("eve", "ana"), ("rui", "rui")])
                other.execute("update accounts set name = ? where name = ?", (new, old))
            before = kept(ops).computations
            await check_lists(ops, rng)
            served_from_memory += 1 if kept(ops).computations < before + 20 else 0
    finally:
        other.close()
    assert served_from_memory > 0


async def test_a_burst_of_identical_requests_is_one_read(ops: Ops) -> None:
    for session, domain in (("s1", "alpha.example"), ("s2", "alpine.example")):
        assert (await ops.send("account.created", session, NOW - 60, domain=domain)).is_success
    answers = kept(ops)
    before = answers.computations
    lists = await asyncio.gather(*(ops.get(TICKETS, limit=10) for _ in range(12)))
    assert answers.computations == before + 1
    assert all(listing == lists[0] for listing in lists)
    assert [t["session_id"] for t in lists[0]["tickets"]] == ["s2", "s1"]
    found = await asyncio.gather(*(ops.get(SEARCH, q="alp") for _ in range(12)))
    assert answers.computations == before + 2
    assert [item["domain"] for item in found[0]["items"]] == ["alpha.example", "alpine.example"]
    # Kept: the same requests again read nothing; a new event moves the stamp.
    await ops.get(TICKETS, limit=10)
    await ops.get(SEARCH, q="alp")
    assert answers.computations == before + 2
    assert (await ops.send("account.created", "s3", NOW - 30, domain="alps.example")).is_success
    listing = await ops.get(TICKETS, limit=10)
    assert answers.computations == before + 3
    assert [t["session_id"] for t in listing["tickets"]] == ["s3", "s2", "s1"]


async def test_the_stamp_holds_no_snapshot(ops: Ops) -> None:
    """Asking the stamp leaves no read transaction open: it moves with the next commit and
    a full checkpoint (TRUNCATE, as Litestream's) is not held back by its connection."""
    assert (await ops.send("account.created", "s1", NOW - 60)).is_success
    first = ops.db.data_version()
    assert first is not None and ops.db.data_version() == first
    other = sqlite3.connect(ops.db_path, isolation_level=None)
    try:
        busy, _, _ = other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0
        assert (await ops.send("account.created", "s2", NOW - 30)).is_success
        second = ops.db.data_version()
        assert second is not None and second != first
        other.execute("update tickets set status = 'closed' where session_id = 's1'")
        assert ops.db.data_version() not in (None, second)
    finally:
        other.close()
