"""The drill-down by failure code (issue 12, item 3: each code of the "why sessions
failed" card opens its sessions): ``code`` on GET /api/v1/onboard/funnel/sessions(.csv),
read from the code kept on the session row (migration 0010) on a partial index.

What a code's link shows: the funnel cohort's failed sessions (first event in the window)
whose failed step is the stage and whose *last* failure had the code. The card counts
failure *events* per hour, so a session that failed twice with one code is 2 on the card
and 1 in the list, and a session that failed with A then B is listed under B only."""

from __future__ import annotations

import csv
import io
import re
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from servicekit.sqlfiles import migrate
from tests.ops.conftest import AUTH, HOUR, NOW, Ops
from vm122_ops.errors import BadRequest
from vm122_ops.funnel.failure_codes import requested_code
from vm122_ops.ingest.events import STAGES
from vm122_ops.routes.openapi import DOCUMENT
from vm122_ops.store.db import SQL_DIR
from vm122_ops.store.sql import QUERIES

LIST = "/api/v1/onboard/funnel/sessions"
DOMAIN_EXISTS = "carbonio:account.DOMAIN_EXISTS"


async def fail(ops: Ops, sid: str, at: float, code: str | None, **data: Any) -> None:
    extra: dict[str, Any] = {} if code is None else {"code": code}
    response = await ops.send("onboarding.failed", sid, at, domain=f"{sid}.pt", **extra, **data)
    assert response.status_code in (200, 202), response.text


async def seed(ops: Ops) -> None:
    for sid, started in (("a1", 5), ("a2", 4), ("twice", 3), ("moved", 3.5), ("none", 2)):
        await ops.send("onboarding.started", sid, NOW - started * HOUR, domain=f"{sid}.pt")
    step = {"stage": "account_created"}
    await fail(ops, "a1", NOW - 4 * HOUR, DOMAIN_EXISTS, **step)
    await fail(ops, "a2", NOW - 3 * HOUR, DOMAIN_EXISTS, **step)
    await fail(ops, "twice", NOW - 2 * HOUR, DOMAIN_EXISTS, **step)
    await fail(ops, "twice", NOW - 1 * HOUR, DOMAIN_EXISTS, **step)
    await fail(ops, "moved", NOW - 3 * HOUR, DOMAIN_EXISTS, **step)
    await fail(ops, "moved", NOW - 0.5 * HOUR, "cloudflare:81054", **step)
    await fail(ops, "none", NOW - 1 * HOUR, None)  # no stage named: the step after started


async def test_a_codes_list_is_its_sessions_by_their_last_failure(ops: Ops) -> None:
    await seed(ops)
    page = await ops.get(
        LIST, hours=24, stage="account_created", state="failed", code=DOMAIN_EXISTS
    )
    assert page["total"] == 3 and page["next"] is None
    assert [(i["session_id"], i["failure_code"]) for i in page["items"]] == [
        ("twice", DOMAIN_EXISTS),
        ("a2", DOMAIN_EXISTS),
        ("a1", DOMAIN_EXISTS),
    ]
    assert page["items"][0]["last_event_at"] == "2026-11-29T11:00:00.000Z"
    assert page["items"][0]["failed_step"] == "account_created"
    moved = await ops.get(
        LIST, hours=24, stage="account_created", state="failed", code="cloudflare:81054"
    )
    assert [i["session_id"] for i in moved["items"]] == ["moved"] and moved["total"] == 1
    none = await ops.get(
        LIST, hours=24, stage="domain_validated", state="failed", code="unspecified"
    )
    assert [i["session_id"] for i in none["items"]] == ["none"] and none["total"] == 1
    assert none["items"][0]["failure_code"] == "unspecified"
    # Without a stage: the code's sessions at every step; paged, the total on every page.
    first = await ops.get(LIST, hours=24, state="failed", code=DOMAIN_EXISTS, limit=2)
    assert [i["session_id"] for i in first["items"]] == ["twice", "a2"]
    assert first["total"] == 3 and first["next"] is not None
    rest = await ops.get(
        LIST, hours=24, state="failed", code=DOMAIN_EXISTS, limit=2, cursor=first["next"]
    )
    assert [i["session_id"] for i in rest["items"]] == ["a1"] and rest["next"] is None
    # A 2 h window's cohort holds only the sessions first seen in it.
    short = await ops.get(LIST, hours=2, state="failed", code=DOMAIN_EXISTS)
    assert short["total"] == 0 and short["items"] == []
    # The CSV takes the same filter.
    response = await ops.client.get(
        f"{LIST}.csv",
        params={"hours": 24, "state": "failed", "stage": "account_created", "code": DOMAIN_EXISTS},
        headers=AUTH,
    )
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.text)))
    assert [r[0] for r in rows[1:]] == ["twice", "a2", "a1"]
    assert {r[8] for r in rows[1:]} == {DOMAIN_EXISTS}


async def test_what_the_link_shows_against_the_card_and_the_funnel(ops: Ops) -> None:
    await seed(ops)
    card = await ops.get("/api/v1/onboard/failures", hours=24)
    funnel = await ops.funnel(hours=24)
    card_counts = {
        (step, row["code"]): row["count"] for step, rows in card["stages"].items() for row in rows
    }
    # The card counts failure events: "twice" twice, "moved" under both of its codes.
    assert card_counts == {
        ("account_created", DOMAIN_EXISTS): 5,
        ("account_created", "cloudflare:81054"): 1,
        ("domain_validated", "unspecified"): 1,
    }
    listed = {}
    for step, code in card_counts:
        page = await ops.get(LIST, hours=24, stage=step, state="failed", code=code)
        listed[(step, code)] = page["total"]
        assert page["total"] == len(page["items"])
    # The list counts sessions by their last failure's code.
    assert listed == {
        ("account_created", DOMAIN_EXISTS): 3,
        ("account_created", "cloudflare:81054"): 1,
        ("domain_validated", "unspecified"): 1,
    }
    # Same cohort as the funnel: a step's codes add up to its failed sessions.
    for stage in STAGES:
        by_code = sum(total for (step, _), total in listed.items() if step == stage)
        assert by_code == funnel["stopped"][stage]["failed"], stage


async def test_sessions_failing_once_list_exactly_the_cards_count(ops: Ops) -> None:
    codes = ["portal:timeout", "cloudflare:81054", DOMAIN_EXISTS, None]
    for n in range(12):
        sid = f"s{n}"
        await ops.send("onboarding.started", sid, NOW - (n + 2) * HOUR, domain=f"{sid}.pt")
        await ops.send("domain.validated", sid, NOW - (n + 1.5) * HOUR, domain=f"{sid}.pt")
        await fail(ops, sid, NOW - (n + 1) * HOUR, codes[n % 4])
    card = await ops.get("/api/v1/onboard/failures", hours=24)
    seen = 0
    for step, rows in card["stages"].items():
        for row in rows:
            page = await ops.get(LIST, hours=24, stage=step, state="failed", code=row["code"])
            assert page["total"] == row["count"] == 3, (step, row["code"])
            seen += 1
    assert seen == 4


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        pytest.param({"state": "stuck", "code": "x"}, "code needs state=failed", id="stuck"),
        pytest.param({"state": "completed", "code": "x"}, "code needs state=failed", id="done"),
        pytest.param({"state": "failed", "code": ""}, "code must be", id="empty"),
        pytest.param({"state": "failed", "code": "x" * 65}, "code must be", id="long"),
        pytest.param({"state": "failed", "code": " x"}, "code must be", id="space"),
        pytest.param({"state": "failed", "code": "a\tb"}, "code must be", id="control"),
    ],
)
@pytest.mark.parametrize("path", [LIST, f"{LIST}.csv"])
async def test_a_bad_code_is_a_400_with_a_reason(
    ops: Ops, path: str, params: dict[str, str], reason: str
) -> None:
    response = await ops.client.get(path, params=params, headers=AUTH)
    assert response.status_code == 400
    body = response.json()
    assert body["ok"] is False and reason in str(body["error"])


async def test_a_codes_list_is_an_index_range(ops: Ops) -> None:
    await ops.send("onboarding.started", "p1", NOW - 60)

    def plans(conn: sqlite3.Connection) -> dict[str, str]:
        found = {}
        base = {"step": 3, "code": DOMAIN_EXISTS, "cohort_since": 0}
        for name, params in (
            ("cohort_code_page", {**base, "before_at": None, "before_id": None, "limit": 10}),
            ("cohort_code_count", base),
        ):
            rows = conn.execute("explain query plan " + QUERIES[name], params).fetchall()
            found[name] = " | ".join(str(row["detail"]) for row in rows)
        return found

    found = await ops.db.read(plans)
    for plan in found.values():
        assert "onboard_sessions_failed_by_code" in plan, plan
        assert "SCAN webhook_events" not in plan and "SCAN s " not in plan + " "
        assert "TEMP B-TREE" not in plan
    assert "(failed_step=? AND failure_code=? AND last_event_at>?)" in found["cohort_code_count"]


def test_a_store_of_schema_9_gets_its_failed_sessions_codes(tmp_path: Path) -> None:
    path = tmp_path / "ops.db"
    files = sorted((SQL_DIR / "schema").glob("*.sql"))
    assert files[9].name.startswith("0010_")
    older = tmp_path / "schema-9"
    older.mkdir()
    for file in files[:9]:
        shutil.copy(file, older / file.name)
    with sqlite3.connect(path) as conn:
        assert migrate(conn, older) == 9
        insert = (
            "insert into webhook_events (id, event_id, session_id, event_type, domain,"
            " occurred_at, received_at, payload) values (?, ?, ?, ?, ?, ?, ?, ?)"
        )
        session = (
            "insert into onboard_sessions (session_id, domain, first_event_at, last_event_at,"
            " last_event_type, last_event_row, furthest_stage, status, event_count, failed_step)"
            " values (?, 'velho.pt', 1, ?, ?, ?, 0, ?, 2, ?)"
        )
        cases = {
            # session: (last event row, its type, status, failed step, its data)
            "coded": (2, "onboarding.failed", "failed", 3, ', "code": "cloudflare:81054"'),
            "twice": (4, "onboarding.failed", "failed", 3, ', "code": "portal:timeout"'),
            "number": (5, "onboarding.failed", "failed", 1, ', "code": 81054'),
            "odd": (6, "onboarding.failed", "failed", 1, ', "code": " \\tportal:x\\u0007 "'),
            "blank": (7, "onboarding.failed", "failed", 1, ', "code": "  "'),
            "none": (8, "onboarding.failed", "failed", 1, ""),
            "list": (9, "onboarding.failed", "failed", 1, ', "code": ["a"]'),
            "long": (10, "onboarding.failed", "failed", 1, ', "code": "' + "y" * 70 + '"'),
            "purged": (99, "onboarding.failed", "failed", 1, None),
            "active": (11, "onboarding.started", "active", None, ', "code": "not:this"'),
        }
        for sid, (row, kind, status, step, data) in cases.items():
            conn.execute(session, (sid, row, kind, row, status, step))
            if data is not None:
                body = f'{{"type": "{kind}", "data": {{"session_id": "{sid}"{data}}}}}'
                conn.execute(insert, (row, f"w{row}", sid, kind, "velho.pt", row, row, body))
        older_failure = '{"type": "onboarding.failed", "data": {"code": "older:one"}}'
        earlier = (3, "w3", "twice", "onboarding.failed", "velho.pt", 3, 3, older_failure)
        conn.execute(insert, earlier)
    with sqlite3.connect(path) as conn:
        assert migrate(conn, SQL_DIR / "schema") >= 10
        found = dict(conn.execute("select session_id, failure_code from onboard_sessions"))
        indexes = [row[1] for row in conn.execute("pragma index_list(onboard_sessions)")]
    assert found == {
        "coded": "cloudflare:81054",
        "twice": "portal:timeout",
        "number": "81054",
        "odd": "portal:x",
        "blank": "unspecified",
        "none": "unspecified",
        "list": "unspecified",
        "long": "y" * 64,
        "purged": "unspecified",
        "active": None,
    }
    assert "onboard_sessions_failed_by_code" in indexes


@pytest.mark.parametrize("path", [LIST, f"{LIST}.csv"])
def test_the_openapi_document_names_the_code(path: str) -> None:
    [code] = [p for p in DOCUMENT["paths"][path]["get"]["parameters"] if p["name"] == "code"]
    assert code["in"] == "query" and code["required"] is False
    assert code["schema"]["maxLength"] == 64 and code["schema"]["minLength"] == 1
    pattern = re.compile(code["schema"]["pattern"])
    for good in (DOMAIN_EXISTS, "unspecified", "81054", "a b"):
        assert pattern.match(good) and requested_code(good) == good
    for bad in (" x", "x ", "a\tb", "a\x7fb"):
        assert not pattern.match(bad)
        with pytest.raises(BadRequest):
            requested_code(bad)
