"""The ticket list's work queues (docs/desk.md, "Queues"): which ticket is in which
queue, the counts per queue, bulk changes audited per ticket, and "take it" on a stuck
session; exact values, and an oracle over random histories."""

from __future__ import annotations

import csv
import io
import random
import sqlite3
from typing import Any

import pytest

from tests.ops.conftest import NOW
from tests.ops.test_ticket_work import SAME_ORIGIN, Desk, activity, desk, patch

__all__ = ["desk"]  # the fixture, from the ticket work tests


async def listing(desk: Desk, **params: Any) -> dict[str, Any]:
    """Every page of the list under ``params`` (queues' counts from the first)."""
    first = await desk.ops.get("/api/v1/desk/tickets", limit=200, **params)
    tickets, cursor = list(first["tickets"]), first["next"]
    while cursor:
        page = await desk.ops.get("/api/v1/desk/tickets", limit=200, cursor=cursor, **params)
        tickets += page["tickets"]
        cursor = page["next"]
    return {**first, "tickets": tickets}


async def sessions_in(desk: Desk, queue: str) -> list[str]:
    return sorted(t["session_id"] for t in (await listing(desk, queue=queue))["tickets"])


async def send(desk: Desk, event_type: str, session_id: str, **data: Any) -> None:
    response = await desk.ops.send(event_type, session_id, NOW - 60, **data)
    assert response.status_code == 202, response.text


async def test_each_ticket_is_in_the_queue_its_work_says(desk: Desk) -> None:
    await send(desk, "account.created", "handover")
    await send(desk, "onboarding.completed", "handover")
    await send(desk, "account.created", "failed-late")
    await send(desk, "onboarding.failed", "failed-late", code="carbonio:service.FAILURE")
    await send(desk, "onboarding.failed", "failed-early", code="cloudflare:81053")
    await send(desk, "account.created", "in-progress")
    await send(desk, "account.created", "mail")
    await send(desk, "onboarding.completed", "mail")

    assert await sessions_in(desk, "needs_action") == ["failed-early", "failed-late"]
    assert await sessions_in(desk, "handover") == ["handover", "mail"]
    first = await listing(desk)
    assert first["queues"] == {"needs_action": 2, "handover": 2, "all": 5}
    by_session = {t["session_id"]: t for t in first["tickets"]}
    assert by_session["failed-late"]["failure_code"] == "carbonio:service.FAILURE"
    assert by_session["failed-late"]["failure_kind"] == "fault"
    assert by_session["failed-early"]["failure_kind"] == "customer"
    assert by_session["handover"]["failure_kind"] is None
    assert {t["queue"] for t in first["tickets"]} == {"needs_action", "handover", "other"}
    assert by_session["in-progress"]["queue"] == "other"

    # Mail not ready on a handover (readiness' tag): it needs action.
    mail = by_session["mail"]
    tags = [*mail["tags"], "mail_pending"]
    assert (await patch(desk.ana, mail["id"], version=mail["version"], tags=tags)).is_success
    assert await sessions_in(desk, "needs_action") == ["failed-early", "failed-late", "mail"]
    assert await sessions_in(desk, "handover") == ["handover"]

    # Resolved work leaves the queues; reopened work is back in "needs action".
    handover = by_session["handover"]
    resolved = await patch(desk.ana, handover["id"], version=handover["version"], status="resolved")
    assert await sessions_in(desk, "handover") == []
    version = resolved.json()["ticket"]["version"]
    assert (await patch(desk.ana, handover["id"], version=version, status="open")).is_success
    assert await sessions_in(desk, "needs_action") == [
        "failed-early",
        "failed-late",
        "handover",
        "mail",
    ]
    assert (await listing(desk))["queues"] == {"needs_action": 4, "handover": 0, "all": 5}


async def test_a_failed_session_that_starts_again_leaves_needs_action(desk: Desk) -> None:
    await send(desk, "onboarding.failed", "s", code="portal:timeout")
    assert await sessions_in(desk, "needs_action") == ["s"]
    response = await desk.ops.send("domain.validated", "s", NOW - 30)
    assert response.status_code == 202
    assert await sessions_in(desk, "needs_action") == []


async def test_the_queue_parameter_is_checked(desk: Desk) -> None:
    response = await desk.ana.get("/api/v1/desk/tickets", params={"queue": "urgent"})
    assert response.status_code == 400
    assert response.json() == {
        "ok": False,
        "error": "queue must be one of needs_action, handover, all",
        "status": 400,
    }


async def test_a_bulk_resolve_changes_each_ticket_with_its_own_audit_entry(desk: Desk) -> None:
    for name in ("a", "b", "c"):
        await send(desk, "onboarding.failed", name)
    tickets = {t["session_id"]: t for t in (await listing(desk))["tickets"]}
    stale = tickets["c"]
    await patch(desk.rui, stale["id"], version=stale["version"], status="pending")
    asked = [{"id": tickets[n]["id"], "version": tickets[n]["version"]} for n in "abc"]
    asked.append({"id": 999, "version": 1})
    response = await desk.ana.post(
        "/api/v1/desk/tickets/bulk",
        json={"tickets": asked, "status": "resolved", "assignee": "ana"},
        headers=SAME_ORIGIN,
    )
    assert response.status_code == 200, response.text
    assert response.json()["results"] == [
        {"id": tickets["a"]["id"], "outcome": "changed", "version": 2},
        {"id": tickets["b"]["id"], "outcome": "changed", "version": 2},
        {"id": tickets["c"]["id"], "outcome": "conflict"},
        {"id": 999, "outcome": "not_found"},
    ]
    for name in "ab":
        ticket = await desk.ticket_of(name)
        assert (ticket["status"], ticket["assignee"]) == ("resolved", "ana")
        entries = [(e["type"], e["to"], e["actor"]["name"]) for e in activity(ticket)]
        assert entries == [("status", "resolved", "ana"), ("assignee", "ana", "ana")]
    assert (await desk.ticket_of("c"))["status"] == "pending"
    assert await sessions_in(desk, "needs_action") == ["c"]
    # A closed ticket cannot be resolved: refused with the reason, the others go on.
    a = await desk.ticket_of("a")
    closed = await patch(desk.ana, a["id"], version=a["version"], status="closed")
    c = await desk.ticket_of("c")
    response = await desk.ana.post(
        "/api/v1/desk/tickets/bulk",
        json={
            "tickets": [
                {"id": a["id"], "version": closed.json()["ticket"]["version"]},
                {"id": c["id"], "version": c["version"]},
            ],
            "status": "resolved",
        },
        headers=SAME_ORIGIN,
    )
    assert response.json()["results"] == [
        {
            "id": a["id"],
            "outcome": "refused",
            "reason": "a closed ticket can go to open, not resolved",
        },
        {"id": c["id"], "outcome": "changed", "version": c["version"] + 1},
    ]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            {"tickets": [], "status": "resolved"},
            "tickets must be a list of 1-200 {id, version} objects",
        ),
        ({"tickets": [{"id": 1, "version": 1}]}, "say what to change: status, assignee or both"),
        (
            {"tickets": [{"id": "1", "version": 1}], "status": "resolved"},
            "a ticket id is a positive whole number",
        ),
        (
            {"tickets": [{"id": 1}], "status": "resolved"},
            "each ticket is an object with id and version",
        ),
        (
            {"tickets": [{"id": 2**63, "version": 1}], "status": "resolved"},
            "a ticket id is a positive whole number",
        ),
        (
            {"tickets": [{"id": 1, "version": 1}, {"id": 1, "version": 1}], "status": "resolved"},
            "ticket 1 is listed twice",
        ),
        ({"tickets": [{"id": 1, "version": 1}], "priority": 1}, "unknown field: priority"),
    ],
)
async def test_a_bad_bulk_body_is_400_and_changes_nothing(
    desk: Desk, body: dict[str, Any], error: str
) -> None:
    await send(desk, "onboarding.failed", "a")
    response = await desk.ana.post("/api/v1/desk/tickets/bulk", json=body, headers=SAME_ORIGIN)
    assert response.status_code == 400
    assert response.json() == {"ok": False, "error": error, "status": 400}
    assert activity(await desk.ticket_of("a")) == []


async def test_taking_a_session_opens_a_follow_up_assigned_to_the_agent(desk: Desk) -> None:
    await send(desk, "onboarding.started", "stuck")
    await send(desk, "domain.validated", "stuck")
    assert (await listing(desk))["tickets"] == []
    drill = {"state": "moving", "hours": 24}
    [item] = (await desk.ops.get("/api/v1/onboard/funnel/sessions", **drill))["items"]
    assert item["ticket_id"] is None  # and the page is kept until something changes
    response = await desk.ana.post("/api/v1/desk/sessions/stuck/take", headers=SAME_ORIGIN)
    assert response.status_code == 200, response.text
    ticket = response.json()["ticket"]
    assert (ticket["kind"], ticket["assignee"], ticket["status"]) == ("follow_up", "ana", "open")
    assert ticket["queue"] == "needs_action"
    [entry] = response.json()["entries"]
    assert (entry["type"], entry["from"], entry["to"]) == ("assignee", None, "ana")
    detail = await desk.ticket_of("stuck")
    events = [e["event_type"] for e in detail["timeline"] if e["kind"] == "event"]
    assert events == ["onboarding.started", "domain.validated"]  # its history, backfilled
    assert await sessions_in(desk, "needs_action") == ["stuck"]
    # The kept drill-down page shows the new ticket (no event arrived: the take let it go).
    [item] = (await desk.ops.get("/api/v1/onboard/funnel/sessions", **drill))["items"]
    assert item["ticket_id"] == ticket["id"]
    # Later events land on the same ticket; taking it again changes nothing.
    await send(desk, "account.created", "stuck")
    again = await desk.rui.post("/api/v1/desk/sessions/stuck/take", headers=SAME_ORIGIN)
    [entry] = again.json()["entries"]
    assert (entry["from"], entry["to"]) == ("ana", "rui")
    assert (
        await desk.ana.post("/api/v1/desk/sessions/nope/take", headers=SAME_ORIGIN)
    ).status_code == 404
    token = await desk.ops.client.post("/api/v1/desk/sessions/stuck/take", headers=desk_auth())
    assert token.status_code == 400


def desk_auth() -> dict[str, str]:
    from tests.ops.conftest import AUTH

    return AUTH


def oracle(conn: sqlite3.Connection) -> dict[int, str]:
    """Each ticket's queue by the rule, in Python, from the stored facts."""
    queues = {}
    for row in conn.execute(
        "select t.id, t.status, t.kind, s.status, "
        "(select group_concat(tag) from ticket_tags where ticket_id = t.id), "
        "(select count(*) from ticket_activity a where a.ticket_id = t.id and a.kind = 'status'"
        " and json_extract(a.detail, '$.to') = 'open'"
        " and json_extract(a.detail, '$.from') in ('resolved', 'closed')) "
        "from tickets t join onboard_sessions s using (session_id)"
    ):
        ticket_id, status, kind, session_status, tags, reopens = row
        tags = set((tags or "").split(","))
        if status in ("resolved", "closed"):
            queue = "other"
        elif (
            kind == "follow_up"
            or reopens
            or session_status == "failed"
            or {"ready_for_ops", "mail_pending"} <= tags
        ):
            queue = "needs_action"
        elif "ready_for_ops" in tags:
            queue = "handover"
        else:
            queue = "other"
        queues[ticket_id] = queue
    return queues


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_queues_equal_an_oracle_over_random_histories(desk: Desk, seed: int) -> None:
    rng = random.Random(seed)
    events = ["onboarding.started", "domain.validated", "account.created"]
    events += ["onboarding.completed", "onboarding.failed"]
    for step in range(240):
        session = f"s{rng.randrange(25)}"
        action = rng.random()
        if action < 0.6:
            sent = await desk.ops.send(rng.choice(events), session, NOW - 3600 + step)
            assert sent.status_code == 202, sent.text  # every event stored, whatever the tags
            continue
        page = (await listing(desk))["tickets"]
        if not page:
            continue
        ticket = rng.choice(page)
        agent = rng.choice([desk.ana, desk.rui])
        if action < 0.8:
            target = rng.choice(["open", "pending", "resolved", "closed"])
            await patch(agent, ticket["id"], version=ticket["version"], status=target)
        elif action < 0.9:
            # mail_pending and ready_for_ops come and go; a later onboarding.completed on a
            # ticket whose ready_for_ops an agent took off leaves the tag off (ingest stores
            # it without a second note: tests/ops/test_ticket_work.py).
            tags = [t for t in ticket["tags"] if t not in ("mail_pending", "ready_for_ops")]
            tags += rng.choice(
                [["mail_pending"], [], ["ready_for_ops"], ["ready_for_ops", "mail_pending"]]
            )
            await patch(agent, ticket["id"], version=ticket["version"], tags=tags)
        else:
            await agent.post(
                f"/api/v1/desk/sessions/{ticket['session_id']}/take", headers=SAME_ORIGIN
            )
    with sqlite3.connect(desk.ops.db_path) as conn:
        expected = oracle(conn)
    first = await listing(desk)
    assert {t["id"]: t["queue"] for t in first["tickets"]} == expected
    counted = list(expected.values())
    assert first["queues"] == {
        "needs_action": counted.count("needs_action"),
        "handover": counted.count("handover"),
        "all": len(counted),
    }
    for queue in ("needs_action", "handover"):
        listed = {t["id"] for t in (await listing(desk, queue=queue))["tickets"]}
        assert listed == {i for i, q in expected.items() if q == queue}


async def test_a_refused_sessions_ticket_says_refused(desk: Desk) -> None:
    """A customer refused for a gmail.com address calls; the agent takes the session: its
    ticket's answers, the list, the tickets CSV and the search by ticket number say its
    session is `refused` (`active` in the store), until a domain is validated."""
    gmail = {"code": "mailbox_provider", "status": 422}
    await send(desk, "onboarding.started", "ref", domain="(rejected)", refusal=gmail)
    taken = await desk.ana.post("/api/v1/desk/sessions/ref/take", headers=SAME_ORIGIN)
    assert taken.status_code == 200, taken.text
    ticket = taken.json()["ticket"]
    assert (ticket["session_id"], ticket["session_status"], ticket["stage"]) == (
        "ref",
        "refused",
        "started",
    )
    detail = await desk.ticket_of("ref")
    assert detail["session_status"] == "refused"
    [listed] = (await listing(desk, queue="all"))["tickets"]
    assert (listed["id"], listed["session_status"]) == (ticket["id"], "refused")
    response = await desk.ops.client.get("/api/v1/desk/tickets.csv", headers=desk_auth())
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(row["id"], row["session_status"]) for row in rows] == [(str(ticket["id"]), "refused")]
    found = await desk.ops.get("/api/v1/desk/search", q=f"#{ticket['id']}")
    assert [(i["session_id"], i["status"], i["matched"]) for i in found["items"]] == [
        ("ref", "refused", "ticket")
    ]
    await send(desk, "domain.validated", "ref", domain="loja.pt")
    assert (await desk.ticket_of("ref"))["session_status"] == "active"
