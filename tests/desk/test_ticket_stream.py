"""Ticket changes on GET /api/v1/stream (routes/stream.py, broker.py, ticket_work.py):
every change and note goes to every connected Desk as a ``ticket`` message, after its
COMMIT, and a stream resumes from its last ``E.C`` id without loss or repetition; against a
real uvicorn on 127.0.0.1."""

from __future__ import annotations

from typing import Any

from tests.desk.harness import Ops, SSEReader, open_stream
from tests.desk.test_stream import stream


async def opened(ops: Ops, session_id: str) -> int:
    """Open a session's ticket with an account.created event; its id."""
    await ops.post("account.created", session_id)
    params = {"session_id": session_id}
    listing = (await ops.client.get("/api/v1/desk/tickets", params=params)).json()
    ticket_id: int = listing["tickets"][0]["id"]
    return ticket_id


async def change(ops: Ops, ticket_id: int, **body: Any) -> dict[str, Any]:
    response = await ops.client.patch(f"/api/v1/desk/tickets/{ticket_id}", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def next_ticket(reader: SSEReader) -> tuple[str | None, dict[str, Any]]:
    while True:
        item = await reader.next_event()
        if item.kind == "ticket":
            return item.id, item.json()


async def test_changes_and_notes_reach_every_stream_live_then_resume(ops: Ops) -> None:
    ticket_id = await opened(ops, "s1")
    other = await opened(ops, "s2")
    async with stream(ops) as everyone, stream(ops, {"ticket_id": str(ticket_id)}) as page:
        assert (await everyone.next_event()).kind == "reset"
        assert (await page.next_event()).kind == "reset"
        await change(ops, ticket_id, version=1, status="pending")
        await change(ops, other, version=1, status="resolved")
        note = await ops.client.post(f"/api/v1/desk/tickets/{ticket_id}/notes", json={"text": "hi"})
        assert note.status_code == 201
        got = [await next_ticket(everyone) for _ in range(3)]
        assert [(m["ticket_id"], m["entry"]["type"]) for _, m in got] == [
            (ticket_id, "status"),
            (other, "status"),
            (ticket_id, "note"),
        ]
        ids = [sse_id for sse_id, _ in got]
        assert all(
            sse_id is not None and sse_id.endswith(f".{n}") for n, sse_id in enumerate(ids, 1)
        )
        first = got[0][1]
        assert first["ticket"]["status"] == "pending" and first["ticket"]["version"] == 2
        assert first["entry"]["actor"] == {"kind": "program"}
        # The ticket page's stream gets its own ticket's changes only.
        mine = [await next_ticket(page) for _ in range(2)]
        assert [m["entry"]["type"] for _, m in mine] == ["status", "note"]
    # Resume from the first change's id: the two later ones are replayed, nothing else.
    async with stream(ops, {"last_event_id": "2.1"}) as resumed:
        replayed = [await next_ticket(resumed) for _ in range(2)]
        assert [sse_id for sse_id, _ in replayed] == ids[1:]
        await change(ops, ticket_id, version=2, assignee=None, tags=["vip"])
        live_id, live = await next_ticket(resumed)
        assert (live_id, live["entry"]["type"]) == ("2.4", "tags")


async def test_an_event_id_from_before_ticket_work_still_resumes(ops: Ops) -> None:
    first = await ops.post("onboarding.started", "s")
    second = await ops.post("domain.validated", "s")
    async with stream(ops, {"last_event_id": str(first["id"])}) as reader:
        item = await reader.next_onboard()
        assert item.id == str(second["id"])


async def test_a_bad_stream_id_is_400(ops: Ops) -> None:
    for bad in ("1.2.3", "x.1", "1.", ".1", "1.-2"):
        response, reader = await open_stream(ops.client, {"last_event_id": bad})
        await reader.aclose()
        assert response.status_code == 400, bad


async def test_a_reopen_by_an_event_is_announced_as_a_ticket_change(ops: Ops) -> None:
    ticket_id = await opened(ops, "s")
    await change(ops, ticket_id, version=1, status="resolved")
    async with stream(ops, {"ticket_id": str(ticket_id)}) as page:
        assert (await page.next_event()).kind == "reset"
        failed = await ops.post("onboarding.failed", "s", reason="quota")
        kinds: list[tuple[str, str | None]] = []
        while len(kinds) < 2:
            item = await page.next_event()
            kinds.append((item.kind, item.json().get("entry", {}).get("type")))
        assert kinds == [("onboard", None), ("ticket", "status")]
        assert failed["id"]
    listing = await ops.client.get(f"/api/v1/desk/tickets/{ticket_id}")
    assert listing.json()["status"] == "open"
