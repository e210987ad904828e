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
