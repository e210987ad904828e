"""Issue 17, findings 2 and 9 on the Ops side: a session id with a line terminator, and a
domain carrying bidi controls or zero-width characters ("\\u202emoc.knab-emca" displays
as "acme-bank.com"), are refused with 422 and nothing is stored."""

from __future__ import annotations

import pytest

from tests.ops.conftest import NOW, Ops

SPOOFS = [
    pytest.param("\u202emoc.knab-emca", id="right-to-left-override"),
    pytest.param("acme\u200b-bank.com", id="zero-width-space"),
    pytest.param("acme\u200d-bank.com", id="zero-width-joiner"),
    pytest.param("acme\u2066-bank.com", id="left-to-right-isolate"),
    pytest.param("acme-bank.com\u200f", id="right-to-left-mark"),
    pytest.param("\ufeffacme-bank.com", id="byte-order-mark"),
    pytest.param("acme\u2060-bank.com", id="word-joiner"),
    pytest.param("acme\u061c-bank.com", id="arabic-letter-mark"),
]


@pytest.mark.parametrize("domain", SPOOFS)
async def test_a_spoofing_domain_is_refused(ops: Ops, domain: str) -> None:
    response = await ops.send("onboarding.started", "s1", NOW, domain=domain)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == (
        "data.domain must not contain bidi controls or zero-width characters"
    )
    assert await ops.count() == 0


@pytest.mark.parametrize("session_id", ["sess\n", "sess\r\n", "sess\u2028"])
async def test_a_session_id_with_a_line_terminator_is_refused(ops: Ops, session_id: str) -> None:
    response = await ops.send("onboarding.started", session_id, NOW)
    assert response.status_code == 422
    assert await ops.count() == 0


async def test_free_text_is_stored_as_sent(ops: Ops) -> None:
    """Free text keeps its characters; the Desk makes them visible (frontend/js/dom.js)."""
    reason = "quota \u202eexceeded"
    response = await ops.send("onboarding.failed", "s1", NOW, reason=reason)
    assert response.status_code == 202
    timeline = await ops.get("/api/v1/onboard/sessions/s1/timeline")
    assert timeline["events"][0]["data"]["reason"] == reason
