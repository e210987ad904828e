"""mail.checked in Ops: stored once by webhook-id, the session's mail state and the ticket's
tag the same in any arrival order, bad checks refused, and the Desk's mail-readiness read
(its count equals the sessions it lists, against an oracle over what was sent)."""

from __future__ import annotations

import itertools
import random
from typing import Any

from tests.ops.conftest import AUTH, NOW, Ops, make_settings, running_ops
from tests.support import peek
from vm122_ops.ingest.events import STAGE_TYPES, STAGES

ITEMS = ("mx", "spf", "dmarc", "dkim", "autodiscover")


def items(**not_ok: str) -> list[dict[str, Any]]:
    """Every item ok but the ones named, each with its status."""
    found = []
    for name in ITEMS:
        status = not_ok.get(name, "ok")
        item: dict[str, Any] = {"name": name, "status": status, "code": "ok"}
        if name == "mx" and status != "ok":
            item.update(code="mx_elsewhere", provider="Microsoft 365")
        elif status != "ok":
            item["code"] = f"{name}_missing"
        found.append(item)
    return found


def check(ready: bool, **not_ok: str) -> dict[str, Any]:
    return {"ready": ready, "items": items(**not_ok), "changed_from": None}


async def onboard(ops: Ops, session_id: str, start: float, domain: str = "example.com") -> None:
    for n, event_type in enumerate(STAGE_TYPES):
        response = await ops.send(event_type, session_id, start + n, domain=domain)
        assert response.status_code == 202, response.text


async def session_mail(ops: Ops, session_id: str) -> dict[str, Any] | None:
    def read(conn: Any) -> dict[str, Any] | None:
        row = conn.execute(
            "select ready, items, checked_at, first_checked_at, not_ready_since, checks "
            "from session_mail where session_id = ?",
            (session_id,),
        ).fetchone()
        return None if row is None else dict(row)

    result: dict[str, Any] | None = await ops.db.read(read)
    return result


async def ticket_tags(ops: Ops, session_id: str) -> list[str]:
    tickets = (await ops.get("/api/v1/desk/tickets"))["tickets"]
    (ticket,) = [t for t in tickets if t["session_id"] == session_id]
    detail = await ops.get(f"/api/v1/desk/tickets/{ticket['id']}")
    tags: list[str] = detail["tags"]
    return tags


async def test_a_mail_check_is_stored_once_by_webhook_id(ops: Ops) -> None:
    await onboard(ops, "s", NOW - 100)
    first = await ops.send(
        "mail.checked", "s", NOW - 50, webhook_id="msg_m1", **check(False, mx="pending")
    )
    again = await ops.send(
        "mail.checked", "s", NOW - 50, webhook_id="msg_m1", **check(False, mx="pending")
    )
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["duplicate"] is True
    assert await ops.count() == len(STAGE_TYPES) + 1
    state = await session_mail(ops, "s")
    assert state is not None and (state["ready"], state["checks"]) == (0, 1)
    # Not a stage: the funnel's six stages stay, the session stays completed.
    funnel = await ops.funnel()
    assert list(funnel["stages"]) == list(STAGES)
    timeline = await ops.get("/api/v1/onboard/sessions/s/timeline")
    assert (timeline["status"], timeline["stage"]) == ("completed", "completed")
    assert timeline["events"][-1]["event_type"] == "mail.checked"


async def test_any_arrival_order_ends_with_the_same_mail_state_and_tag(tmp_path: Any) -> None:
    events: list[tuple[str, float, dict[str, Any]]] = [
        ("onboarding.started", NOW - 100, {}),
        ("account.created", NOW - 90, {}),
        ("onboarding.completed", NOW - 80, {}),
        ("mail.checked", NOW - 70, check(False, mx="pending", dkim="pending")),
        ("mail.checked", NOW - 60, check(False, dkim="pending")),
        ("mail.checked", NOW - 50, check(True)),
        ("mail.checked", NOW - 40, check(False, dkim="failed")),
    ]
    outcomes = set()
    orders = list(itertools.permutations(range(len(events))))
    for n, order in enumerate([*random.Random(24).sample(orders, 12), tuple(range(7))]):
        settings = make_settings(tmp_path / str(n))
        (tmp_path / str(n)).mkdir()
        async with running_ops(settings) as ops:
            for i in order:
                event_type, at, data = events[i]
                response = await ops.send(event_type, "s", at, webhook_id=f"msg_{i}", **data)
                assert response.status_code == 202, response.text
            state = await session_mail(ops, "s")
            assert state is not None
            tags = await ticket_tags(ops, "s")
            outcomes.add(
                (
                    state["ready"],
                    state["checked_at"],
                    state["first_checked_at"],
                    state["not_ready_since"],
                    state["checks"],
                    tuple(t for t in tags if t.startswith("mail_")),
                )
            )
    # Newest check not ready (dkim failed) since NOW - 40; the ready check before it ended
    # the earlier run; four checks; the tag follows the newest, alone.
    assert outcomes == {
        (
            0,
            int((NOW - 40) * 1000),
            int((NOW - 70) * 1000),
            int((NOW - 40) * 1000),
            4,
            ("mail_pending",),
        )
    }


async def test_the_ticket_tag_follows_the_newest_check(ops: Ops) -> None:
    await onboard(ops, "s", NOW - 100)
    await ops.send("mail.checked", "s", NOW - 50, **check(False, mx="pending"))
    assert [t for t in await ticket_tags(ops, "s") if t.startswith("mail_")] == ["mail_pending"]
    await ops.send("mail.checked", "s", NOW - 40, **check(True))
    assert [t for t in await ticket_tags(ops, "s") if t.startswith("mail_")] == ["mail_ready"]
    # An older check arriving late changes nothing.
    await ops.send("mail.checked", "s", NOW - 45, **check(False, spf="pending"))
    assert [t for t in await ticket_tags(ops, "s") if t.startswith("mail_")] == ["mail_ready"]


async def test_a_check_before_the_ticket_opens_tags_it_when_it_opens(ops: Ops) -> None:
    await ops.send("onboarding.started", "s", NOW - 100)
    await ops.send("mail.checked", "s", NOW - 50, **check(False, mx="pending"))
    await ops.send("account.created", "s", NOW - 90)
    assert "mail_pending" in await ticket_tags(ops, "s")


async def test_bad_mail_checks_are_refused_and_nothing_is_stored(ops: Ops) -> None:
    bad: list[dict[str, Any]] = [
        {"items": items()},  # no ready
        {"ready": "yes", "items": items()},
        {"ready": True},  # no items
        {"ready": True, "items": []},
        {"ready": True, "items": [{"name": "mx"}]},
        {"ready": True, "items": [{"name": "ptr", "status": "ok"}]},
        {"ready": True, "items": [{"name": "mx", "status": "ok"}, {"name": "mx", "status": "ok"}]},
        {"ready": True, "items": items(mx="pending")},  # ready with an item not ok
        {"ready": False, "items": items()},  # not ready with every item ok
        {"ready": True, "items": items(), "changed_from": "before"},
    ]
    for data in bad:
        response = await ops.send("mail.checked", "s", NOW - 10, **data)
        assert response.status_code == 422, data
        body = response.json()
        assert body["ok"] is False and "mail.checked" in body["error"], body
    assert await ops.count() == 0
    assert peek.counts(ops.db_path, ["session_mail"])["session_mail"] == 0


async def test_the_not_ready_count_equals_the_sessions_listed(ops: Ops) -> None:
    """Oracle: random sessions, some completed (ready, not ready, never checked), some not
    completed, some before the window; the read's figures against the same rules applied
    to what was sent."""
    rng = random.Random(2024)
    expected_not_ready: dict[str, int] = {}
    expected = {"completed": 0, "ready": 0, "unchecked": 0}
    for n in range(60):
        session_id = f"s{n:02d}"
        start = NOW - rng.randint(1800, 40 * 3600)
        inside = start >= NOW - 24 * 3600
        completed = rng.random() < 0.8
        types = STAGE_TYPES if completed else STAGE_TYPES[: rng.randint(1, 4)]
        for k, event_type in enumerate(types):
            await ops.send(event_type, session_id, start + k)
        checks = rng.randint(0, 3)
        newest: bool | None = None
        since: float | None = None
        for c in range(checks):
            ready = rng.random() < 0.4
            at = start + 10 + c * 60
            await ops.send(
                "mail.checked",
                session_id,
                at,
                **(check(True) if ready else check(False, mx="pending", dkim="pending")),
            )
            newest = ready
            since = None if ready else (since if since is not None else at)
        if not (inside and completed):
            continue
        expected["completed"] += 1
        if newest is None:
            expected["unchecked"] += 1
        elif newest:
            expected["ready"] += 1
        else:
            assert since is not None
            expected_not_ready[session_id] = int(since * 1000)
    found = await ops.get("/api/v1/onboard/mail", hours=24)
    assert found["completed"] == expected["completed"]
    assert found["mail_ready"] == expected["ready"]
    assert found["unchecked"] == expected["unchecked"]
    assert found["mail_not_ready"] == len(expected_not_ready) == found["listed"]
    assert found["mail_not_ready"] == len(found["sessions"])
    assert {s["session_id"] for s in found["sessions"]} == set(expected_not_ready)
    assert found["completed"] == found["mail_ready"] + found["mail_not_ready"] + found["unchecked"]
    assert len(expected_not_ready) >= 5 and expected["ready"] >= 3 and expected["unchecked"] >= 3
    for session in found["sessions"]:
        assert [m["name"] for m in session["missing"]] == ["mx", "dkim"]
        since_ms = expected_not_ready[session["session_id"]]
        assert session["waiting_seconds"] == (int(NOW * 1000) - since_ms) // 1000
    waits = [s["waiting_seconds"] for s in found["sessions"]]
    assert waits == sorted(waits, reverse=True)


async def test_the_mail_read_refuses_a_bad_window(ops: Ops) -> None:
    for hours in ("0", "721", "x"):
        response = await ops.client.get(
            "/api/v1/onboard/mail", params={"hours": hours}, headers=AUTH
        )
        assert response.status_code == 400
        assert response.json()["ok"] is False
