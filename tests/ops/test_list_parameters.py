"""Lists refuse query parameters they do not know (issue 12, item 10): a typo such as
`?domain=` must not silently answer every ticket."""

from __future__ import annotations

from tests.ops.conftest import AUTH, NOW, Ops


async def test_the_ticket_list_refuses_an_unknown_filter(ops: Ops) -> None:
    await ops.send("onboarding.failed", "t1", NOW - 60, domain="a.pt")
    response = await ops.client.get("/api/v1/desk/tickets", params={"domain": "a.pt"}, headers=AUTH)
    assert response.status_code == 400
    assert response.json()["ok"] is False
    assert "unknown query parameter: domain" in str(response.json()["error"])
    both = await ops.client.get(
        "/api/v1/desk/tickets", params={"zz": "1", "status": "open", "aa": "2"}, headers=AUTH
    )
    assert both.status_code == 400 and "unknown query parameter: aa, zz" in both.text
    # The known ones still answer.
    known = await ops.get("/api/v1/desk/tickets", status="open", limit=5, session_id="t1")
    assert [ticket["session_id"] for ticket in known["tickets"]] == ["t1"]


HUGE = "1" * 5000  # past Python's 4,300-digit limit on int(): a ValueError, not a number


async def test_a_number_too_long_to_parse_is_a_400(ops: Ops) -> None:
    asked = [
        ("/api/v1/onboard/funnel", {"hours": HUGE}, "hours must be"),
        (
            "/api/v1/onboard/funnel/sessions",
            {"stage": "started", "state": "moving", "limit": HUGE},
            "limit must be",
        ),
        ("/api/v1/desk/tickets", {"limit": HUGE}, "limit must be"),
        ("/api/v1/onboard/trend", {"hours": HUGE}, "hours must be"),
        ("/api/v1/onboard/trend.csv", {"hours": HUGE}, "hours must be"),
        ("/api/v1/onboard/breakdown", {"by": "language", "top": HUGE}, "top must be"),
        ("/api/v1/onboard/breakdown/trend", {"by": "language", "hours": HUGE}, "hours must be"),
        (f"/api/v1/desk/tickets/{HUGE}", {}, "ticket id must be"),
    ]
    answers = []
    for path, params, _ in asked:
        response = await ops.client.get(path, params=params, headers=AUTH)
        answers.append((path, response.status_code, response.json().get("error", "")))
    assert [(path, status) for path, status, _ in answers] == [(path, 400) for path, _, _ in asked]
    for (_, _, error), (_, _, reason) in zip(answers, asked, strict=True):
        assert reason in error
