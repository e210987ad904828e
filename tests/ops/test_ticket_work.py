"""Tickets a team works on (ticket_work.py, routes/desk.py): states and the automatic
reopen, assignment with its filters and counts, notes, the audit entries, stale edits
(409), and the same-origin rule for browser changes; in-process, two agents logged in."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from tests.desk.harness import CHEAP, login, user_command
from tests.ops.conftest import AUTH, NOW, Clock, Ops, iso, make_settings
from vm122_ops.app import create_app
from vm122_ops.desk.accounts import Passwords
from vm122_ops.tickets.ticket import READY_NOTE

ORIGIN = "http://ops.test"
SAME_ORIGIN = {"origin": ORIGIN}


@dataclass
class Desk:
    ops: Ops  # Bearer (a program) and the signed-event sender
    ana: httpx.AsyncClient  # a person's browser, same origin
    rui: httpx.AsyncClient

    async def ticket_of(self, session_id: str) -> dict[str, Any]:
        listing = await self.ops.get("/api/v1/desk/tickets", session_id=session_id)
        [ticket] = listing["tickets"]
        detail: dict[str, Any] = await self.ops.get(f"/api/v1/desk/tickets/{ticket['id']}")
        return detail

    async def opened(self, session_id: str, at: float = NOW - 60) -> dict[str, Any]:
        response = await self.ops.send("account.created", session_id, at)
        assert response.status_code == 202
        return await self.ticket_of(session_id)


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    db = tmp_path / "ops.db"
    await user_command(db, "add", "ana")
    await user_command(db, "add", "rui")
    await user_command(db, "add", "old")
    await user_command(db, "disable", "old")
    clock = Clock()
    app = create_app(make_settings(tmp_path), clock=clock, passwords=Passwords(CHEAP))
    async with LifespanManager(app) as manager:
        clients = [
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=manager.app, client=(f"10.0.0.{n}", 5)),
                base_url=ORIGIN,
            )
            for n in range(3)
        ]
        try:
            ops, ana, rui = clients
            assert (await login(ana, "ana")).headers["location"] == "/"
            assert (await login(rui, "rui")).headers["location"] == "/"
            yield Desk(ops=Ops(client=ops, clock=clock, db_path=db, app=app), ana=ana, rui=rui)
        finally:
            for client in clients:
                await client.aclose()


async def patch(
    client: httpx.AsyncClient, ticket_id: int, headers: dict[str, str] | None = None, **body: Any
) -> httpx.Response:
    return await client.patch(
        f"/api/v1/desk/tickets/{ticket_id}", json=body, headers=headers or SAME_ORIGIN
    )


async def note(client: httpx.AsyncClient, ticket_id: int, text: str) -> httpx.Response:
    return await client.post(
        f"/api/v1/desk/tickets/{ticket_id}/notes", json={"text": text}, headers=SAME_ORIGIN
    )


def activity(ticket: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in ticket["timeline"] if e["kind"] == "activity"]


PATHS = {
    "open": [],
    "pending": ["pending"],
    "resolved": ["resolved"],
    "closed": ["resolved", "closed"],
}


@pytest.mark.parametrize(
    ("start", "target"),
    [
        pytest.param("open", "pending", id="open-pending"),
        pytest.param("open", "resolved", id="open-resolved"),
        pytest.param("pending", "open", id="pending-open"),
        pytest.param("pending", "resolved", id="pending-resolved"),
        pytest.param("resolved", "closed", id="resolved-closed"),
        pytest.param("resolved", "open", id="resolved-open"),
        pytest.param("closed", "open", id="closed-open"),
    ],
)
async def test_each_allowed_transition(desk: Desk, start: str, target: str) -> None:
    ticket = await desk.opened("s")
    version = ticket["version"]
    for step in PATHS[start]:
        version = (await patch(desk.ana, ticket["id"], version=version, status=step)).json()[
            "ticket"
        ]["version"]
    response = await patch(desk.ana, ticket["id"], version=version, status=target)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ticket"]["status"] == target
    assert body["ticket"]["version"] == version + 1
    assert response.headers["etag"] == f'"{version + 1}"'
    [entry] = body["entries"]
    assert (entry["type"], entry["from"], entry["to"]) == ("status", start, target)
    assert entry["actor"] == {"kind": "account", "name": "ana"}
    assert entry["occurred_at"] == iso(NOW)
    assert (await desk.ticket_of("s"))["status"] == target


@pytest.mark.parametrize(
    ("start", "target"),
    [
        pytest.param("open", "closed", id="open-closed"),
        pytest.param("pending", "closed", id="pending-closed"),
        pytest.param("closed", "resolved", id="closed-resolved"),
        pytest.param("closed", "pending", id="closed-pending"),
    ],
)
async def test_a_transition_off_the_path_is_422_and_changes_nothing(
    desk: Desk, start: str, target: str
) -> None:
    ticket = await desk.opened("s")
    version = ticket["version"]
    for step in PATHS[start]:
        version += 1
        assert (await patch(desk.ana, ticket["id"], version=version - 1, status=step)).is_success
    response = await patch(desk.ana, ticket["id"], version=version, status=target)
    assert response.status_code == 422
    assert f"a {start} ticket can go to" in response.json()["error"]
    after = await desk.ticket_of("s")
    assert (after["status"], after["version"]) == (start, version)


@pytest.mark.parametrize("start", ["resolved", "closed"])
async def test_a_new_failure_reopens_a_resolved_or_closed_ticket(desk: Desk, start: str) -> None:
    ticket = await desk.opened("s")
    version = ticket["version"]
    for step in PATHS[start]:
        version = (await patch(desk.rui, ticket["id"], version=version, status=step)).json()[
            "ticket"
        ]["version"]
    desk.ops.clock.now = NOW + 5
    failed = await desk.ops.send("onboarding.failed", "s", NOW - 10, reason="quota")
    assert failed.status_code == 202
    after = await desk.ticket_of("s")
    assert after["status"] == "open"
    assert after["tags"] == ["onboarding_failed"]
    *_, reopen = activity(after)
    assert (reopen["type"], reopen["from"], reopen["to"]) == ("status", start, "open")
    assert reopen["actor"] == {"kind": "ops"}
    assert reopen["reason"] == f"onboarding.failed received (event {failed.json()['id']}): reopened"
    assert reopen["occurred_at"] == iso(NOW + 5)
    assert after["version"] == version + 1
    # A second failure on the reopened ticket changes nothing more.
    await desk.ops.send("onboarding.failed", "s", NOW - 5, reason="again")
    assert len(activity(await desk.ticket_of("s"))) == len(activity(after))


async def test_a_failure_leaves_open_and_pending_tickets_as_they_are(desk: Desk) -> None:
    pending = await desk.opened("p")
    await patch(desk.ana, pending["id"], version=pending["version"], status="pending")
    await desk.opened("o")
    await desk.ops.send("onboarding.failed", "p", NOW - 10)
    await desk.ops.send("onboarding.failed", "o", NOW - 10)
    assert (await desk.ticket_of("p"))["status"] == "pending"
    assert (await desk.ticket_of("o"))["status"] == "open"


async def test_assignment_filters_and_counts(desk: Desk) -> None:
    a = await desk.opened("a")
    b = await desk.opened("b", NOW - 50)
    c = await desk.opened("c", NOW - 40)
    await desk.opened("d", NOW - 30)
    # Ana takes a and resolves it, assigns b to Rui; Rui takes c and sets it pending.
    answer = await patch(desk.ana, a["id"], version=a["version"], assignee="ana")
    assert answer.json()["ticket"]["assignee"] == "ana"
    await patch(desk.ana, a["id"], version=a["version"] + 1, status="resolved")
    await patch(desk.ana, b["id"], version=b["version"], assignee="Rui")
    await patch(desk.rui, c["id"], version=c["version"], assignee="rui", status="pending")

    async def sessions(client: httpx.AsyncClient, **params: str) -> list[str]:
        listing = (await client.get("/api/v1/desk/tickets", params=params)).json()
        return sorted(t["session_id"] for t in listing["tickets"])

    assert await sessions(desk.ana, assignee="me") == ["a"]
    assert await sessions(desk.rui, assignee="me") == ["b", "c"]
    assert await sessions(desk.ana, assignee="rui") == ["b", "c"]
    assert await sessions(desk.ana, assignee="none") == ["d"]
    assert await sessions(desk.ana, assignee="rui", status="pending") == ["c"]
    assert await sessions(desk.ana, assignee="nobody") == []
    everyone = (await desk.ana.get("/api/v1/desk/tickets")).json()
    assert everyone["counts"] == {"open": 2, "pending": 1, "resolved": 1, "closed": 0}
    mine = (await desk.rui.get("/api/v1/desk/tickets", params={"assignee": "me"})).json()
    assert mine["counts"] == {"open": 1, "pending": 1, "resolved": 0, "closed": 0}
    # The counts ignore the status filter: the tabs keep their numbers.
    pending = (await desk.ana.get("/api/v1/desk/tickets", params={"status": "pending"})).json()
    assert pending["counts"] == everyone["counts"]
    # Unassign; the entry says from whom.
    out = await patch(desk.ana, b["id"], version=b["version"] + 1, assignee=None)
    [entry] = out.json()["entries"]
    assert (entry["type"], entry["from"], entry["to"]) == ("assignee", "rui", None)
    # The API token has no "me"; a disabled or unknown account takes no ticket.
    assert (
        await desk.ops.client.get("/api/v1/desk/tickets?assignee=me", headers=AUTH)
    ).status_code == 400
    for who in ("old", "nobody"):
        refused = await patch(
            desk.ana, d_id := (await desk.ticket_of("d"))["id"], version=1, assignee=who
        )
        assert refused.status_code == 422, who
        assert (await desk.ticket_of("d"))["assignee"] is None, d_id


async def test_agents_lists_the_enabled_accounts_and_who_asks(desk: Desk) -> None:
    answer = (await desk.rui.get("/api/v1/desk/agents")).json()
    assert [a["name"] for a in answer["agents"]] == ["ana", "rui"]
    assert answer["me"] == "rui"
    assert (await desk.ops.client.get("/api/v1/desk/agents", headers=AUTH)).json()["me"] is None


HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>\n& "quotes" \u202eevil\tend'


async def test_notes_keep_hostile_text_as_text_with_author_and_time(desk: Desk) -> None:
    ticket = await desk.opened("s")
    desk.ops.clock.now = NOW + 7
    response = await note(desk.rui, ticket["id"], "line one\r\nline two\r" + HOSTILE + "\n\n")
    assert response.status_code == 201, response.text
    [entry] = response.json()["entries"]
    assert entry["text"] == "line one\nline two\n" + HOSTILE
    assert entry["actor"] == {"kind": "account", "name": "rui"}
    assert entry["occurred_at"] == iso(NOW + 7)
    after = await desk.ticket_of("s")
    assert activity(after) == [entry]
    assert after["version"] == ticket["version"]  # a note never conflicts with a change
    with sqlite3.connect(desk.ops.db_path) as conn:
        (stored,) = conn.execute("select detail from ticket_activity").fetchone()
    assert "<script>" in stored  # stored as typed; the Desk renders it as text


@pytest.mark.parametrize(
    ("text", "status"),
    [
        pytest.param("", 422, id="empty"),
        pytest.param(" \n\t ", 422, id="blank"),
        pytest.param("x" * 4001, 422, id="too-long"),
        pytest.param("bell\x07", 422, id="control"),
        pytest.param("nul\x00", 422, id="nul"),
    ],
)
async def test_bad_notes_are_refused(desk: Desk, text: str, status: int) -> None:
    ticket = await desk.opened("s")
    response = await note(desk.ana, ticket["id"], text)
    assert response.status_code == status
    assert response.json()["ok"] is False
    assert activity(await desk.ticket_of("s")) == []


async def test_the_longest_note_is_kept_whole(desk: Desk) -> None:
    ticket = await desk.opened("s")
    assert (await note(desk.ana, ticket["id"], "é" * 4000)).status_code == 201


async def test_audit_entries_say_who_and_when_and_are_never_editable(desk: Desk) -> None:
    ticket = await desk.opened("s")
    desk.ops.clock.now = NOW + 1
    await patch(desk.ana, ticket["id"], version=1, assignee="ana", tags=["vip", "dns"])
    desk.ops.clock.now = NOW + 2
    await note(desk.rui, ticket["id"], "called the customer")
    desk.ops.clock.now = NOW + 3
    program = await patch(desk.ops.client, ticket["id"], {**AUTH}, version=2, status="pending")
    assert program.status_code == 200
    entries = activity(await desk.ticket_of("s"))
    summary = [
        (e["type"], e["actor"], e["occurred_at"], e.get("to", e.get("added", e.get("text"))))
        for e in entries
    ]
    assert summary == [
        ("assignee", {"kind": "account", "name": "ana"}, iso(NOW + 1), "ana"),
        ("tags", {"kind": "account", "name": "ana"}, iso(NOW + 1), ["dns", "vip"]),
        ("note", {"kind": "account", "name": "rui"}, iso(NOW + 2), "called the customer"),
        ("status", {"kind": "program"}, iso(NOW + 3), "pending"),
    ]
    with sqlite3.connect(desk.ops.db_path) as conn:
        for sql in ("update ticket_activity set detail = '{}'", "delete from ticket_activity"):
            with pytest.raises(sqlite3.IntegrityError, match="never"):
                conn.execute(sql)
    # Tags can be taken off too, and say so.
    off = await patch(desk.ana, ticket["id"], version=3, tags=["vip"])
    [entry] = off.json()["entries"]
    assert (entry["added"], entry["removed"]) == ([], ["dns"])


async def test_a_stale_edit_gets_409_with_the_current_ticket(desk: Desk) -> None:
    ticket = await desk.opened("s")
    seen = ticket["version"]
    first = await patch(desk.ana, ticket["id"], version=seen, status="pending", assignee="ana")
    assert first.status_code == 200
    stale = await patch(desk.rui, ticket["id"], version=seen, status="resolved", assignee="rui")
    assert stale.status_code == 409
    body = stale.json()
    assert (body["ok"], body["status"]) == (False, 409)
    current = body["ticket"]
    assert (current["status"], current["assignee"], current["version"]) == (
        "pending",
        "ana",
        seen + 1,
    )
    assert [e["type"] for e in activity(current)] == ["status", "assignee"]
    assert stale.headers["etag"] == f'"{seen + 1}"'
    after = await desk.ticket_of("s")
    assert (after["status"], after["assignee"]) == ("pending", "ana")  # not overwritten
    # If-Match works instead of the field; without either: 428.
    ok = await patch(
        desk.rui, ticket["id"], {**SAME_ORIGIN, "if-match": f'"{seen + 1}"'}, status="resolved"
    )
    assert ok.status_code == 200
    missing = await patch(desk.rui, ticket["id"], status="closed")
    assert missing.status_code == 428


@pytest.mark.parametrize(
    ("body", "status"),
    [
        pytest.param({"version": 1, "status": "done"}, 422, id="unknown-status"),
        pytest.param({"version": 1, "tags": ["Bad Tag"]}, 422, id="bad-tag"),
        pytest.param({"version": 1, "tags": [f"t{n}" for n in range(21)]}, 422, id="too-many"),
        pytest.param({"version": 1, "assignee": 7}, 422, id="assignee-number"),
        pytest.param({"version": "1"}, 400, id="version-string"),
        pytest.param({"version": 1, "owner": "x"}, 400, id="unknown-field"),
        pytest.param([1], 400, id="not-an-object"),
    ],
)
async def test_bad_changes_are_4xx_with_the_envelope(desk: Desk, body: Any, status: int) -> None:
    ticket = await desk.opened("s")
    response = await desk.ana.patch(
        f"/api/v1/desk/tickets/{ticket['id']}", json=body, headers=SAME_ORIGIN
    )
    assert response.status_code == status, response.text
    assert response.json() == {"ok": False, "status": status, "error": response.json()["error"]}


async def test_unknown_ticket_and_bad_media(desk: Desk) -> None:
    assert (await patch(desk.ana, 999, version=1, status="pending")).status_code == 404
    assert (await note(desk.ana, 999, "hello")).status_code == 404
    response = await desk.ana.patch(
        "/api/v1/desk/tickets/1", content=b"status=open", headers=SAME_ORIGIN
    )
    assert response.status_code == 415


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"origin": "https://evil.example"}, id="origin"),
        pytest.param({"sec-fetch-site": "cross-site", "origin": ORIGIN}, id="sec-fetch-site"),
        pytest.param({"sec-fetch-site": "same-site"}, id="same-site"),
        pytest.param({}, id="neither"),
    ],
)
async def test_a_cross_origin_change_with_the_cookie_is_refused(
    desk: Desk, headers: dict[str, str]
) -> None:
    ticket = await desk.opened("s")
    url = f"/api/v1/desk/tickets/{ticket['id']}"
    changed = await desk.ana.patch(url, json={"version": 1, "status": "pending"}, headers=headers)
    noted = await desk.ana.post(url + "/notes", json={"text": "x"}, headers=headers)
    assert (changed.status_code, noted.status_code) == (403, 403)
    after = await desk.ticket_of("s")
    assert (after["status"], activity(after)) == ("open", [])
    # From the Desk itself it works, and a Bearer client needs no origin at all.
    fine = {"sec-fetch-site": "same-origin"}
    assert (
        await desk.ana.patch(url, json={"version": 1, "status": "pending"}, headers=fine)
    ).is_success
    assert (await desk.ops.client.post(url + "/notes", json={"text": "x"}, headers=AUTH)).is_success


async def test_a_tag_an_event_adds_moves_the_version_so_a_stale_tag_edit_conflicts(
    desk: Desk,
) -> None:
    ticket = await desk.opened("s")
    manual: dict[str, Any] = {"mode": "manual", "records": [{"type": "MX"}]}
    answer = await desk.ops.send("dns.applied", "s", NOW - 30, **manual)
    assert answer.status_code == 202
    after = await desk.ticket_of("s")
    assert "dns_manual" in after["tags"]
    assert after["version"] == ticket["version"] + 1
    stale = await patch(desk.ana, ticket["id"], version=ticket["version"], tags=["vip"])
    assert stale.status_code == 409  # the tag Ops added is not silently taken off
    assert "dns_manual" in (await desk.ticket_of("s"))["tags"]


async def test_a_new_completion_after_an_agent_took_ready_for_ops_off(desk: Desk) -> None:
    """An agent takes ready_for_ops off; another onboarding.completed (a new webhook-id)
    for the session is stored once (202), the tag stays off as the agent left it, and
    Ops' note is not written again (it stays at the session's first completion)."""
    ticket = await desk.opened("s", at=NOW - 60)
    first = await desk.ops.send("onboarding.completed", "s", NOW - 50, webhook_id="msg_done_1")
    assert first.status_code == 202, first.text
    tagged = await desk.ticket_of("s")
    assert (tagged["tags"], tagged["version"]) == (["ready_for_ops"], 2)
    off = await patch(desk.ana, ticket["id"], version=2, tags=[])
    assert off.status_code == 200, off.text
    again = await desk.ops.send("onboarding.completed", "s", NOW - 40, webhook_id="msg_done_2")
    assert again.status_code == 202, again.text
    assert again.json()["event_id"] == "msg_done_2"
    # An earlier completion arriving late still moves the note, and adds no tag either.
    late = await desk.ops.send("onboarding.completed", "s", NOW - 55, webhook_id="msg_done_0")
    assert late.status_code == 202, late.text
    after = await desk.ticket_of("s")
    assert (after["tags"], after["version"], after["status"]) == ([], 3, "open")
    notes = [(e["text"], e["occurred_at"]) for e in after["timeline"] if e["kind"] == "note"]
    assert notes == [(READY_NOTE, iso(NOW - 55))]
    events = [e["event_type"] for e in after["timeline"] if e["kind"] == "event"]
    assert events == ["account.created"] + ["onboarding.completed"] * 3
    assert await desk.ops.count() == 4
    assert await desk.ops.count("ticket_entries") == 5
    # The agent's removal is the last word on the tag: one audit entry, Ops added nothing.
    changes = [(e["type"], e["added"], e["removed"]) for e in activity(after)]
    assert changes == [("tags", [], ["ready_for_ops"])]
