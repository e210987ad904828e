"""Issue 17, finding 9 on the Portal side: the raw text of a rejected domain is never
forwarded to Ops, and bidi controls or zero-width characters in a domain are refused
with 422 (UTS 46 would otherwise silently drop a zero-width space and accept the name)."""

from __future__ import annotations

import orjson
import pytest

from tests.portal.conftest import Portal
from vm112_portal.release import RELEASE

SPOOFS = [
    pytest.param("\u202emoc.knab-emca", id="right-to-left-override"),
    pytest.param("acme\u200b-bank.com", id="zero-width-space"),
    pytest.param("acme\u200c-bank.com", id="zero-width-non-joiner"),
    pytest.param("acme-bank.com\u2069", id="pop-directional-isolate"),
    pytest.param("\ufeffacme-bank.com", id="byte-order-mark"),
]


@pytest.mark.parametrize("domain", SPOOFS)
async def test_a_spoofing_domain_is_refused_with_422(portal: Portal, domain: str) -> None:
    response = await portal.validate("s1", domain)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == (
        "domain must not contain bidi controls or zero-width characters"
    )


@pytest.mark.parametrize(
    "domain",
    [
        pytest.param("\u202emoc.knab-emca", id="bidi"),
        pytest.param("call-555-0100-for-support", id="not-a-domain"),
        pytest.param("acme bank.com", id="space"),
    ],
)
async def test_the_raw_text_of_a_rejected_domain_never_reaches_ops(
    portal: Portal, domain: str
) -> None:
    response = await portal.validate("s1", domain)
    assert response.status_code in (400, 422)
    (row,) = portal.outbox()
    data = orjson.loads(row["body"])["data"]
    assert row["event_type"] == "onboarding.started"
    # The refusal says why by its code alone: no text the customer typed.
    refusal = {"code": "domain_invalid", "status": response.status_code}
    assert data == {
        "session_id": "s1",
        "domain": "(rejected)",
        "reference": data["reference"],
        "refusal": refusal,
        "release": RELEASE,  # the Portal's, for the breakdowns
    }
