"""Refused attempts (docs/webhook-funnel-events.md, "Refused attempts"; docs/desk.md,
"Session states"): a session whose only stage is `started`, whose onboarding.started
carried a refusal and that never got a domain validated is `refused`, never moving,
stuck or abandoned, and the funnel counts it apart."""

from __future__ import annotations

import itertools
import random
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from servicekit.sqlfiles import migrate, migration_files
from tests.desk.test_stuck_list import all_items
from tests.ops.conftest import AUTH, HOUR, NOW, Ops, running_ops
from tests.support import peek
from tests.support.apps import ops_settings
from vm122_ops.store import retention
from vm122_ops.store.db import SQL_DIR

STEPS = ["onboarding.started", "domain.validated", "dns.applied", "account.created"]
STEPS += ["infra.synced", "onboarding.completed"]
STAGES = ["started", "domain_validated", "dns_applied", "account_created", "infra_synced"]
GMAIL = {"code": "mailbox_provider", "status": 422}
TAKEN = {"code": "domain_in_progress", "status": 409}


@pytest.mark.parametrize(
    ("refusal", "reason"),
    [
        pytest.param("mailbox_provider", "data.refusal must be an object", id="a-string"),
        pytest.param([GMAIL], "data.refusal must be an object", id="a-list"),
        pytest.param({}, "data.refusal.code", id="no-code"),
        pytest.param({"code": ""}, "data.refusal.code", id="empty-code"),
        pytest.param({"code": 409}, "data.refusal.code", id="number-code"),
        pytest.param({"code": "name taken"}, "data.refusal.code", id="space-in-code"),
        pytest.param({"code": "x" * 65}, "data.refusal.code", id="code-too-long"),
        pytest.param({"code": "taken\n"}, "data.refusal.code", id="trailing-newline"),
        pytest.param({"code": "a", "status": 200}, "data.refusal.status", id="status-200"),
        pytest.param({"code": "a", "status": "409"}, "data.refusal.status", id="status-text"),
        pytest.param({"code": "a", "status": True}, "data.refusal.status", id="status-bool"),
        pytest.param({"code": "a", "status": 409.5}, "data.refusal.status", id="status-float"),
    ],
)
async def test_a_bad_refusal_is_422_and_nothing_is_stored(
    ops: Ops, refusal: Any, reason: str
) -> None:
    response = await ops.send("onboarding.started", "bad", NOW - 60, refusal=refusal)
    assert response.status_code == 422
    assert response.json()["ok"] is False and response.json()["status"] == 422
    assert reason in response.json()["error"]
    counts = peek.counts(ops.db_path, ["webhook_events", "onboard_sessions", "funnel_rollup"])
    assert counts == {"webhook_events": 0, "onboard_sessions": 0, "funnel_rollup": 0}


async def test_a_refusal_on_another_type_is_stored_as_sent(ops: Ops) -> None:
    # Only onboarding.started carries a refusal; elsewhere it is data like any other.
    await ops.send("onboarding.started", "other", NOW - 600)
    response = await ops.send("domain.validated", "other", NOW - 500, refusal="anything")
    assert response.status_code == 202
    assert (await ops.funnel(hours=24))["refused"] == 0


async def test_a_refused_session_is_its_own_state(ops: Ops) -> None:
    at = NOW - 3 * HOUR  # idle 3 h: stuck, had it been an attempt like the others
    await ops.send("onboarding.started", "ref", at, domain="(rejected)", refusal=GMAIL)
    await ops.send("onboarding.started", "waits", at, domain="waits.pt")
    for number, event_type in enumerate(STEPS):
        await ops.send(event_type, "done", at + number * 60, domain="done.pt")
    funnel = await ops.funnel(hours=24)
    assert (funnel["cohort"], funnel["stages"]["started"], funnel["refused"]) == (3, 3, 1)
    assert funnel["refused_by_code"] == {"mailbox_provider": 1}
    assert funnel["stages"]["domain_validated"] == 1
    # Conversion over the attempts that were not refused: 1 of 2, not 1 of 3.
    assert funnel["conversion"]["completed"] == {"of_started": 0.5, "of_previous": 1.0}
    assert funnel["conversion"]["domain_validated"] == {"of_started": 0.5, "of_previous": 0.5}
    assert funnel["stopped"]["started"] == {
        "moving": 0,
        "stuck": 1,
        "abandoned": 0,
        "failed": 0,
        "completed": 0,
        "refused": 1,
    }
    assert [s["session_id"] for s in funnel["active_sessions"]] == ["waits"]
    stuck_total, stuck = await all_items(ops, hours=24, state="stuck")
    assert (stuck_total, [item["session_id"] for item in stuck]) == (1, ["waits"])
    refused_total, refused = await all_items(ops, hours=24, state="refused")
    assert refused_total == 1
    assert [(item["session_id"], item["state"], item["refusal_code"]) for item in refused] == [
        ("ref", "refused", "mailbox_provider")
    ]
    # The trend counts it as entered and refused, and converts over the other two.
    trend = await ops.get("/api/v1/onboard/trend", hours=24)
    [period] = [p for p in trend["periods"] if p["entered"]]
    assert {k: period[k] for k in ("start", "entered", "completed", "refused", "conversion")} == {
        "start": "2026-11-29T09:00:00.000Z",
        "entered": 3,
        "completed": 1,
        "refused": 1,
        "conversion": 0.5,
    }
    timeline = await ops.get("/api/v1/onboard/sessions/ref/timeline")
    assert (timeline["status"], timeline["refusal"]) == (
        "refused",
        {"code": "mailbox_provider", "at": "2026-11-29T09:00:00.000Z"},
    )
    rows = peek.records(
        ops.db_path, "select session_id, status, refusal_code from onboard_sessions"
    )
    assert {row["session_id"]: (row["status"], row["refusal_code"]) for row in rows} == {
        "ref": ("active", "mailbox_provider"),
        "waits": ("active", None),
        "done": ("completed", None),
    }
    params: dict[str, str | int] = {"limit": 50, "queue": "all"}
    tickets = await ops.client.get("/api/v1/desk/tickets", params=params, headers=AUTH)
    assert [t["session_id"] for t in tickets.json()["tickets"]] == ["done"]


async def test_an_older_portals_rejected_domain_is_refused_unspecified(ops: Ops) -> None:
    await ops.send("onboarding.started", "old", NOW - 3 * HOUR, domain="(rejected)")
    funnel = await ops.funnel(hours=24)
    assert (funnel["refused"], funnel["refused_by_code"]) == (1, {"unspecified": 1})
    assert funnel["stopped"]["started"]["stuck"] == 0


async def _outcome(
    tmp_path: Path, name: str, events: list[tuple[str, float, dict[str, Any]]]
) -> Any:
    async with running_ops(ops_settings(tmp_path / f"{name}.db")) as ops:
        for event_type, at, data in events:
            response = await ops.send(event_type, "s", at, **data)
            assert response.status_code == 202, response.text
        funnel = await ops.funnel(hours=24)
        row = peek.records(
            ops.db_path, "select status, refusal_code, refusal_at from onboard_sessions"
        )[0]
        rollup = peek.records(
            ops.db_path,
            "select hour, stage, status, sessions from funnel_rollup where sessions <> 0 "
            "order by 1, 2, 3",
        )
        active = peek.records(ops.db_path, "select * from active_by_stage where sessions <> 0")
        return (
            funnel["refused"],
            funnel["refused_by_code"],
            funnel["stages"],
            funnel["stopped"]["started"],
            dict(row),
            [dict(cell) for cell in rollup],
            [dict(cell) for cell in active],
        )


FIRST = ("onboarding.started", NOW - 3 * HOUR, {"domain": "(rejected)", "refusal": GMAIL})
LATER = ("onboarding.started", NOW - 2 * HOUR, {"domain": "(rejected)", "refusal": TAKEN})
VALID = ("domain.validated", NOW - 1 * HOUR, {"domain": "acme.pt"})
FAIL = ("onboarding.failed", NOW - 2.5 * HOUR, {"domain": "(rejected)"})


@pytest.mark.parametrize(
    ("events", "refused", "code"),
    [
        pytest.param([FIRST, LATER], 1, "domain_in_progress", id="latest-refusal-wins"),
        pytest.param([FIRST, LATER, VALID], 0, None, id="validated-later"),
        pytest.param([FIRST, FAIL, LATER], 1, "domain_in_progress", id="failed-then-refused"),
    ],
)
async def test_every_arrival_order_gives_the_same_outcome(
    tmp_path: Path, events: list[tuple[str, float, dict[str, Any]]], refused: int, code: str | None
) -> None:
    outcomes = []
    for number, order in enumerate(itertools.permutations(events)):
        outcomes.append(await _outcome(tmp_path, f"order{number}", list(order)))
    assert all(outcome == outcomes[0] for outcome in outcomes), outcomes
    assert outcomes[0][0] == refused
    assert outcomes[0][4]["refusal_code"] == code
    assert sum(cell["sessions"] for cell in outcomes[0][5]) == 1  # one session, one cell


@pytest.mark.parametrize("seed", [3, 4])
async def test_started_is_refused_plus_the_rest_and_refused_is_never_stuck(
    tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    async with running_ops(ops_settings(tmp_path / "ops.db")) as ops:
        last: dict[str, tuple[float, int, str]] = {}  # session -> (last at, stage, state)
        for index in range(60):
            session = f"r{index}"
            at = NOW - rng.randrange(60, 30 * 3600)
            if rng.random() < 0.35:
                refusal = rng.choice([GMAIL, TAKEN, {"code": "domain_invalid", "status": 400}])
                await ops.send(
                    "onboarding.started", session, at, domain="(rejected)", refusal=refusal
                )
                if rng.random() < 0.5:  # still refused
                    last[session] = (at, 0, "refused")
                    continue
                at += rng.choice([30, 300, 900])  # a later attempt is accepted
                steps = range(1, rng.randrange(2, len(STEPS) + 1))
            else:
                steps = range(rng.randrange(1, len(STEPS) + 1))
            stage, status, sent = 0, "active", at
            for number in steps:
                if at >= NOW - 1:
                    break
                response = await ops.send(STEPS[number], session, at, domain=f"{session}.pt")
                assert response.status_code == 202, response.text
                stage, sent = number, at
                if number == len(STEPS) - 1:
                    status = "completed"
                at += rng.choice([30, 300, 900, 3600, 7200])
            if status == "active" and rng.random() < 0.15:
                sent = min(sent + 60, NOW - 1)
                await ops.send("onboarding.failed", session, sent, domain=f"{session}.pt")
                status = "failed"
            last[session] = (sent, min(stage, 4), status)
        paces = await ops.get("/api/v1/onboard/paces")
        stuck_after = {p["stage"]: p["stuck_after_seconds"] for p in paces["steps"]}
        abandon = paces["abandon_after_seconds"]
        expected_stuck = set()
        expected_refused = {s for s, (_, _, state) in last.items() if state == "refused"}
        for session, (at, stage, status) in last.items():
            idle = NOW - at
            if status == "active" and stuck_after[STAGES[stage]] < idle <= abandon:
                expected_stuck.add(session)
        funnel = await ops.funnel(hours=720)
        others = sum(
            count
            for stopped in funnel["stopped"].values()
            for state, count in stopped.items()
            if state != "refused"
        )
        assert funnel["stages"]["started"] == funnel["refused"] + others == 60
        assert funnel["refused"] == len(expected_refused) > 5
        dashboard = sum(counts["stuck"] for counts in funnel["stopped"].values())
        total, items = await all_items(ops, hours=720, state="stuck")
        assert {item["session_id"] for item in items} == expected_stuck
        assert dashboard == total == len(expected_stuck)
        assert not expected_refused & {item["session_id"] for item in items}
        refused_total, listed = await all_items(ops, hours=720, state="refused")
        assert refused_total == len(expected_refused)
        assert {item["session_id"] for item in listed} == expected_refused
        alerts = await ops.get("/api/v1/desk/alerts")
        linked = {
            session["session_id"]
            for condition in alerts["conditions"]
            for session in condition.get("sessions", [])
            if condition["kind"] == "stuck_sessions"
        }
        assert not linked & expected_refused
        metrics = await ops.client.get("/metrics", headers=AUTH)
        assert metrics.status_code == 200


def test_a_store_before_refusals_gets_its_rejected_starts_as_refused(tmp_path: Path) -> None:
    files = migration_files(SQL_DIR / "schema")
    mine = [n for n, (_, file) in enumerate(files) if file.name.endswith("_session_refusal.sql")]
    older = tmp_path / "older"
    older.mkdir()
    for _, file in files[: mine[0]]:
        shutil.copy(file, older / file.name)
    path = tmp_path / "ops.db"
    hour = 498875
    at = hour * 3_600_000 + 60_000
    with sqlite3.connect(path) as conn:
        assert migrate(conn, older) == mine[0]
        session = (
            "insert into onboard_sessions (session_id, domain, first_event_at, last_event_at,"
            " last_event_type, last_event_row, furthest_stage, status, event_count)"
            " values (?, ?, ?, ?, ?, ?, ?, 'active', ?)"
        )
        event = (
            "insert into webhook_events (id, event_id, session_id, event_type, domain,"
            " occurred_at, received_at, payload) values (?, ?, ?, ?, ?, ?, ?, '{}')"
        )
        conn.execute(session, ("old-ref", "(rejected)", at, at, "onboarding.started", 1, 0, 1))
        conn.execute(event, (1, "w1", "old-ref", "onboarding.started", "(rejected)", at, at))
        conn.execute(session, ("old-ok", "ok.pt", at, at, "onboarding.started", 2, 0, 1))
        conn.execute(event, (2, "w2", "old-ok", "onboarding.started", "ok.pt", at, at))
        later = at + 1000
        conn.execute(session, ("old-val", "v.pt", at, later, "domain.validated", 4, 1, 2))
        conn.execute(event, (3, "w3", "old-val", "onboarding.started", "(rejected)", at, at))
        conn.execute(event, (4, "w4", "old-val", "domain.validated", "v.pt", later, later))
        conn.executemany(
            "insert into funnel_rollup values (?, ?, 'active', ?)", [(hour, 0, 2), (hour, 1, 1)]
        )
        conn.executemany("insert into active_by_stage values (?, ?)", [(0, 2), (1, 1)])
    with sqlite3.connect(path) as conn:
        assert migrate(conn, SQL_DIR / "schema") == len(files)
        found = dict(conn.execute("select session_id, refusal_code from onboard_sessions"))
        rollup = conn.execute(
            "select stage, status, sessions from funnel_rollup where sessions <> 0 order by 1, 2"
        ).fetchall()
        active = conn.execute("select stage, sessions from active_by_stage order by 1").fetchall()
        refusals = conn.execute("select hour, code, sessions from funnel_refusals").fetchall()
    assert found == {"old-ref": "unspecified", "old-ok": None, "old-val": None}
    assert rollup == [(0, "active", 1), (0, "refused", 1), (1, "active", 1)]
    assert active == [(0, 1), (1, 1)]
    assert refusals == [(hour, "unspecified", 1)]


async def test_the_purge_drops_emptied_and_unreachable_refusal_cells(ops: Ops) -> None:
    """The refusals per hour and code are purged like the funnel's cells: an hour no window
    reaches, and a cell a session left (it validated a domain after its refusal); the
    funnel stays the same."""
    ops.clock.now = NOW
    old = NOW - 100 * 24 * HOUR  # past the 90-day trend and the widest windows
    await ops.send("onboarding.started", "gone", old, domain="(rejected)", refusal=GMAIL)
    await ops.send("onboarding.started", "later", NOW - HOUR, domain="(rejected)", refusal=TAKEN)
    await ops.send("domain.validated", "later", NOW - HOUR + 60)
    await ops.send("onboarding.started", "still", NOW - 600, domain="(rejected)", refusal=GMAIL)
    before = await ops.get("/api/v1/onboard/funnel", hours=720)
    cells = "select hour, code, sessions from funnel_refusals order by hour, code"
    assert [(code, n) for _, code, n in peek.rows(ops.db_path, cells)] == [
        ("mailbox_provider", 1),
        ("domain_in_progress", 0),
        ("mailbox_provider", 1),
    ]
    await retention.purge(ops.db, 30, int(NOW * 1000))
    assert [(code, n) for _, code, n in peek.rows(ops.db_path, cells)] == [("mailbox_provider", 1)]
    ops.clock.now += 1  # a new moment: the funnel is computed again
    after = await ops.get("/api/v1/onboard/funnel", hours=720)
    assert (after["refused"], after["refused_by_code"]) == (1, {"mailbox_provider": 1})
    assert (after["refused"], after["refused_by_code"]) == (
        before["refused"],
        before["refused_by_code"],
    )
