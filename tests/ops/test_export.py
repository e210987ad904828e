"""CSV downloads (vm122_ops/tickets/export.py): the drill-down list and the trend, same filters,
UTF-8, formula cells neutralised, bad input 400."""

from __future__ import annotations

import csv
import io

import httpx
import pytest

from servicekit.contract import STAGE_TYPES
from tests.ops.conftest import AUTH, HOUR, NOW, Ops
from vm122_ops.tickets import export, search

# The trend download's header: refused last, added after the others.
TREND_HEADER = ["start", "entered", "completed", "failed", "conversion", "open", "refused"]


async def trend_rows(ops: Ops, hours: int) -> list[list[str]]:
    """The trend's CSV download (a 200) as rows of cells."""
    response = await ops.client.get(
        "/api/v1/onboard/trend.csv", params={"hours": hours}, headers=AUTH
    )
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.text)))


async def test_drill_down_and_trend_as_csv(ops: Ops) -> None:
    await ops.send("onboarding.started", "s1", NOW - 40 * 60, domain="açores.pt")
    await ops.send("onboarding.started", "s2", NOW - 2 * HOUR, domain="b.pt")
    await ops.send(
        "onboarding.failed",
        "s2",
        NOW - HOUR,
        domain="b.pt",
        code="portal:timeout",
        reason='=HYPERLINK("http://evil","x"), "quoted"',
        contact="admin@b.pt",
    )
    response = await ops.client.get(
        "/api/v1/onboard/funnel/sessions.csv", params={"hours": 24, "state": "failed"}, headers=AUTH
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="funnel-sessions.csv"' in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8"))))
    assert rows[0][:4] == ["session_id", "domain", "stage", "state"]
    assert len(rows) == 2 and rows[1][:4] == ["s2", "b.pt", "started", "failed"]
    assert rows[1][8] == "portal:timeout"
    assert rows[1][9] == '\'=HYPERLINK("http://evil","x"), "quoted"'  # not a formula
    # Every cell has its column: the header names each field of the JSON items.
    assert len(rows[0]) == len(rows[1])
    assert dict(zip(rows[0], rows[1], strict=True))["contact"] == "admin@b.pt"
    stuck = await ops.client.get(
        "/api/v1/onboard/funnel/sessions.csv",
        params={"hours": 24, "state": "stuck", "stage": "started"},
        headers=AUTH,
    )
    assert [r[1] for r in csv.reader(io.StringIO(stuck.text))] == ["domain", "açores.pt"]
    assert await trend_rows(ops, hours=3) == [
        TREND_HEADER,
        ["2026-11-29T10:00:00.000Z", "1", "0", "1", "0.0", "true", "0"],
        ["2026-11-29T11:00:00.000Z", "1", "0", "0", "0.0", "true", "0"],
        ["2026-11-29T12:00:00.000Z", "0", "0", "0", "", "true", "0"],
    ]


async def test_csv_bad_input_is_400(ops: Ops) -> None:
    for path, params in (
        ("/api/v1/onboard/funnel/sessions.csv", {"state": "x"}),
        ("/api/v1/onboard/funnel/sessions.csv", {"state": "stuck", "limit": "5"}),
        ("/api/v1/onboard/trend.csv", {"hours": "0"}),
    ):
        response = await ops.client.get(path, params=params, headers=AUTH)
        assert response.status_code == 400, (path, params)
        assert response.json()["ok"] is False


def csv_rows(response: httpx.Response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"))))


async def ticketed(ops: Ops) -> dict[str, int]:
    """Three sessions, two tickets: s1 (açores.pt, account created, then pending), s2 (a
    formula-like domain, failed with a formula-like reason), s3 without a ticket."""
    await ops.send("onboarding.started", "s1", NOW - 3 * HOUR, domain="açores.pt")
    await ops.send("account.created", "s1", NOW - 2 * HOUR, domain="açores.pt")
    await ops.send("onboarding.started", "s2", NOW - 2 * HOUR, domain="=2+3.pt")
    await ops.send("onboarding.failed", "s2", NOW - HOUR, domain="=2+3.pt", code="portal:timeout")
    await ops.send("onboarding.started", "s3", NOW - HOUR, domain="b.pt")
    listing = await ops.get("/api/v1/desk/tickets")
    ids = {ticket["session_id"]: ticket["id"] for ticket in listing["tickets"]}
    ops.clock.now = NOW + 60
    pending = await ops.client.patch(
        f"/api/v1/desk/tickets/{ids['s1']}",
        json={"version": 1, "status": "pending", "tags": ["vip"]},
        headers=AUTH,
    )
    assert pending.status_code == 200, pending.text
    return ids


async def test_ticket_list_as_csv_with_the_lists_filters(ops: Ops) -> None:
    ids = await ticketed(ops)
    response = await ops.client.get("/api/v1/desk/tickets.csv", headers=AUTH)
    assert 'filename="tickets.csv"' in response.headers["content-disposition"]
    assert response.headers["cache-control"] == "no-store"
    assert csv_rows(response) == [
        [
            "id",
            "session_id",
            "domain",
            "status",
            "session_status",
            "stage",
            "tags",
            "assignee",
            "version",
            "subject",
            "created_at",
            "updated_at",
            "kind",
            "queue",
            "contact",
            "failure_code",
        ],
        [
            str(ids["s1"]),
            "s1",
            "açores.pt",
            "pending",
            "active",
            "account_created",
            "vip",
            "",
            "2",
            "Onboarding of açores.pt",
            "2026-11-29T12:00:00.000Z",
            "2026-11-29T12:01:00.000Z",
            "onboarding",
            "other",
            "",
            "",
        ],
        [
            str(ids["s2"]),
            "s2",
            "'=2+3.pt",  # not a formula
            "open",
            "failed",
            "started",
            "onboarding_failed",
            "",
            "1",
            "Onboarding of =2+3.pt",
            "2026-11-29T12:00:00.000Z",
            "2026-11-29T12:00:00.000Z",
            "onboarding",
            "needs_action",
            "",
            "portal:timeout",
        ],
    ]
    # Exactly the JSON list's filters: the same tickets in the same order.
    for filters in (
        {"status": "open"},
        {"status": "pending"},
        {"tag": "onboarding_failed"},
        {"tag": "vip"},
        {"session_id": "s1"},
        {"session_id": "s3"},
        {"assignee": "none"},
        {"assignee": "nobody"},
        {"status": "closed", "tag": "vip"},
    ):
        listing = await ops.get("/api/v1/desk/tickets", **filters)
        rows = csv_rows(
            await ops.client.get("/api/v1/desk/tickets.csv", params=filters, headers=AUTH)
        )
        assert [row[0] for row in rows[1:]] == [str(t["id"]) for t in listing["tickets"]], filters
    assert [r[1] for r in rows] == ["session_id"]  # the last filter matches nothing


async def test_csv_downloads_are_bounded(ops: Ops, monkeypatch: pytest.MonkeyPatch) -> None:
    await ticketed(ops)
    monkeypatch.setattr(export, "MAX_ROWS", 1)
    tickets = csv_rows(await ops.client.get("/api/v1/desk/tickets.csv", headers=AUTH))
    assert [row[1] for row in tickets] == ["session_id", "s1"]  # the newest updated
    found = csv_rows(
        await ops.client.get("/api/v1/desk/search.csv", params={"q": "s"}, headers=AUTH)
    )
    assert len(found) <= 1 + search.LIMIT


async def test_search_results_as_csv(ops: Ops) -> None:
    ids = await ticketed(ops)
    header = ["session_id", "domain", "stage", "status", "last_event_at", "ticket_id", "matched"]
    for q in ("Aç", "xn--aores-yra", "açores.pt"):
        response = await ops.client.get("/api/v1/desk/search.csv", params={"q": q}, headers=AUTH)
        assert 'filename="search.csv"' in response.headers["content-disposition"]
        assert csv_rows(response) == [
            header,
            [
                "s1",
                "açores.pt",
                "account_created",
                "active",
                "2026-11-29T10:00:00.000Z",
                str(ids["s1"]),
                "domain",
            ],
        ], q
    by_ticket = await ops.client.get(
        "/api/v1/desk/search.csv", params={"q": f"#{ids['s2']}"}, headers=AUTH
    )
    assert csv_rows(by_ticket)[1] == [
        "s2",
        "'=2+3.pt",
        "started",
        "failed",
        "2026-11-29T11:00:00.000Z",
        str(ids["s2"]),
        "ticket",
    ]
    # The same results as the JSON search, in its order.
    for q in ("s", "b", "=", "s3", "zzz"):
        found = await ops.get("/api/v1/desk/search", q=q)
        rows = csv_rows(
            await ops.client.get("/api/v1/desk/search.csv", params={"q": q}, headers=AUTH)
        )
        assert [row[0] for row in rows[1:]] == [i["session_id"] for i in found["items"]], q


@pytest.mark.parametrize(
    ("path", "params", "reason"),
    [
        pytest.param("/api/v1/desk/tickets.csv", {"domain": "a.pt"}, "domain", id="unknown"),
        pytest.param("/api/v1/desk/tickets.csv", {"limit": "5"}, "limit", id="limit"),
        pytest.param("/api/v1/desk/tickets.csv", {"cursor": "MTox"}, "cursor", id="cursor"),
        pytest.param("/api/v1/desk/tickets.csv", {"status": "gone"}, "status", id="status"),
        pytest.param("/api/v1/desk/tickets.csv", {"tag": "A B"}, "tag", id="tag"),
        pytest.param("/api/v1/desk/tickets.csv", {"assignee": "me"}, "assignee", id="me-token"),
        pytest.param("/api/v1/desk/search.csv", {}, "q is required", id="no-q"),
        pytest.param("/api/v1/desk/search.csv", {"q": " "}, "q is required", id="blank-q"),
        pytest.param("/api/v1/desk/search.csv", {"q": "a\u202eb"}, "bidi", id="bidi-q"),
        pytest.param("/api/v1/desk/search.csv", {"q": "a", "x": "1"}, "x", id="unknown-q"),
    ],
)
async def test_list_csv_bad_input_is_400_with_a_reason(
    ops: Ops, path: str, params: dict[str, str], reason: str
) -> None:
    response = await ops.client.get(path, params=params, headers=AUTH)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["ok"] is False and body["status"] == 400
    assert reason in body["error"]


@pytest.mark.parametrize("path", ["/api/v1/desk/tickets.csv", "/api/v1/desk/search.csv?q=a"])
async def test_list_csv_needs_a_login_or_the_token(ops: Ops, path: str) -> None:
    response = await ops.client.get(path)
    assert response.status_code == 401
    assert response.json()["ok"] is False


async def test_the_trend_csv_has_refused_last_and_converts_without_them(ops: Ops) -> None:
    # 10:00 - 11:00: one attempt completed, one refused (the Portal refused its domain);
    # 11:00 - 12:00: one attempt started, nothing since.
    for number, event_type in enumerate(STAGE_TYPES):
        await ops.send(event_type, "done", NOW - 2 * HOUR + number * 60, domain="done.pt")
    refusal = {"code": "mailbox_provider", "status": 422}
    await ops.send("onboarding.started", "ref", NOW - 2 * HOUR + 30, refusal=refusal)
    await ops.send("onboarding.started", "waits", NOW - 30 * 60, domain="waits.pt")
    # The columns before refused keep their places (programs read them by position);
    # conversion is completed / (entered - refused), as the JSON's: 1 of 1, not 1 of 2.
    assert await trend_rows(ops, hours=3) == [
        TREND_HEADER,
        ["2026-11-29T10:00:00.000Z", "2", "1", "0", "1.0", "true", "1"],
        ["2026-11-29T11:00:00.000Z", "1", "0", "0", "0.0", "true", "0"],
        ["2026-11-29T12:00:00.000Z", "0", "0", "0", "", "true", "0"],
    ]
    periods = (await ops.get("/api/v1/onboard/trend", hours=3))["periods"]
    assert [p["refused"] for p in periods] == [1, 0, 0]
