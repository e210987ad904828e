"""Issue 23, items 3, 4, 5 and 9 (DNS side): only live full zones are written; SPF counted
through its includes; DMARC p=none until DKIM; split TXT strings kept; proxied false."""

from __future__ import annotations

from typing import Any

import pytest

from tests.portal.conftest import Portal
from vm112_portal.providers.sandbox import Sandbox

MAIL = "mail.sandbox.example.net"


def sandbox_of(portal: Portal) -> Sandbox:
    sandbox: Sandbox = portal.app.state.portal.sandbox
    return sandbox


async def plan(portal: Portal, session: str, domain: str) -> dict[str, Any]:
    assert (await portal.validate(session, domain)).status_code == 200
    answer = await portal.post("dns/cloudflare/plan", {"session_id": session, "domain": domain})
    assert answer.status_code == 200, answer.text
    document: dict[str, Any] = answer.json()
    return document


@pytest.mark.parametrize(
    ("domain", "code", "said"),
    [
        ("pendingshop.pt", "zone_not_active", "pending"),
        ("movedshop.pt", "zone_not_active", "moved"),
        ("initializingshop.pt", "zone_not_active", "initializing"),
        ("partialshop.pt", "zone_not_full", "partial"),
        ("secondaryshop.pt", "zone_not_full", "secondary"),
    ],
)
async def test_zones_not_active_and_full_are_manual_mode_with_the_reason(
    portal: Portal, domain: str, code: str, said: str
) -> None:
    planned = await plan(portal, "z1", domain)
    assert planned["mode"] == "manual"
    assert planned["manual_reason"]["code"] == code
    assert said in planned["manual_reason"]["message"]
    assert [r["purpose"] for r in planned["records"]] == ["spf", "dmarc", "autodiscover", "mx"]
    applied = await portal.dns("z1", domain)
    assert applied.status_code == 200, applied.text
    assert applied.json()["mode"] == "manual"
    assert applied.json()["manual_reason"]["code"] == code
    assert sandbox_of(portal).cloudflare.writes == 0


async def test_dmarc_is_published_with_p_none_until_dkim(portal: Portal) -> None:
    planned = await plan(portal, "d1", "freshshop.pt")
    (dmarc,) = [s for s in planned["plan"] if s["purpose"] == "dmarc"]
    assert dmarc["content"] == "v=DMARC1; p=none; rua=mailto:dmarc@freshshop.pt"
    assert (await portal.dns("d1", "freshshop.pt")).status_code == 200
    records = sandbox_of(portal).records["freshshop.pt"]
    assert [r["content"] for r in records if r["name"] == "_dmarc.freshshop.pt"] == [
        "v=DMARC1; p=none; rua=mailto:dmarc@freshshop.pt"
    ]


async def test_every_record_written_says_proxied_false(portal: Portal) -> None:
    bodies: list[dict[str, Any]] = sandbox_of(portal).cloudflare.write_bodies
    assert (await portal.validate("p1", "freshshop.pt")).status_code == 200
    assert (await portal.dns("p1", "freshshop.pt")).status_code == 200
    assert bodies and all(body.get("proxied") is False for body in bodies)


async def test_spf_over_ten_lookups_after_merging_is_a_conflict_with_the_figures(
    portal: Portal,
) -> None:
    # heavyspf…: Google + Outlook + SendGrid + mx + a + a:relay: 4+2+1+3 = 10 lookups
    # before ours; ours makes 11 (the record's own terms show only 6).
    planned = await plan(portal, "s1", "heavyspfshop.pt")
    (spf,) = [s for s in planned["plan"] if s["purpose"] == "spf"]
    assert spf["action"] == "conflict"
    assert spf["reason"] == "spf_too_many_lookups"
    assert spf["figures"]["lookups"] == 11 and spf["figures"]["limit"] == 10


async def test_spf_include_that_does_not_resolve_is_a_conflict(portal: Portal) -> None:
    planned = await plan(portal, "s2", "brokenspfshop.pt")
    (spf,) = [s for s in planned["plan"] if s["purpose"] == "spf"]
    assert (spf["action"], spf["reason"]) == ("conflict", "spf_unresolvable")
    assert spf["figures"]["unresolved"][0]["name"] == "spf.gone.example"


async def test_spf_split_into_strings_is_merged_faithfully(portal: Portal) -> None:
    # splitspf…: "v=spf1 include:_spf.google.com" " " "~all" (three strings, one blank).
    planned = await plan(portal, "s3", "splitspfshop.pt")
    (spf,) = [s for s in planned["plan"] if s["purpose"] == "spf"]
    assert spf["action"] == "merge"
    assert spf["content"] == f"v=spf1 a:{MAIL} include:_spf.google.com ~all"
    assert spf["figures"]["lookups"] == 5  # a: + Google's include (4)
