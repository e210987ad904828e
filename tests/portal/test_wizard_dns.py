"""The wizard against the upstream-modelled sandbox (issue 11): the DNS plan and its apply
run twice over a failure, the domain fixed once DNS is published, Carbonio token expiry
through the app, Unicode names, and the codes customers' messages are chosen by."""

from __future__ import annotations

from typing import Any

from tests.portal.conftest import Portal
from tests.support.poll import wait_until
from vm112_portal.providers.dns_plan import is_spf, spf_lookups, spf_terms
from vm112_portal.providers.sandbox import Sandbox
from vm122_ops.ingest.events import STAGE_TYPES

MAIL = "mail.sandbox.example.net"
ALL = ["mx", "spf", "dmarc", "autodiscover"]


def zone_of(portal: Portal, zone: str) -> list[tuple[str, str, str, Any]]:
    sandbox: Sandbox = portal.app.state.portal.sandbox
    return sorted(
        (r["type"], r["name"], r["content"], r.get("priority")) for r in sandbox.records[zone]
    )


async def apply(portal: Portal, session: str, domain: str, replace: list[str]) -> Any:
    return await portal.post(
        "dns/cloudflare/apply", {"session_id": session, "domain": domain, "replace": replace}
    )


async def test_the_same_wizard_twice_over_a_failure_ends_with_exactly_the_plan(
    portal: Portal,
) -> None:
    sandbox: Sandbox = portal.app.state.portal.sandbox
    assert (await portal.validate("w2", "m365twice.pt")).status_code == 200
    planned = await portal.post(
        "dns/cloudflare/plan", {"session_id": "w2", "domain": "m365twice.pt"}
    )
    steps = planned.json()["plan"]
    assert [(s["purpose"], s["action"]) for s in steps] == [
        ("mx", "conflict"),
        ("spf", "merge"),
        ("dmarc", "create"),
        ("autodiscover", "conflict"),
    ]
    # First run: the write of _dmarc fails after the SPF write went through (the SDK makes
    # no retry: issue 23; the MX is held for the account step).
    sandbox.cloudflare.fail_writes = {"_dmarc.m365twice.pt": 1}
    failed = await apply(portal, "w2", "m365twice.pt", ALL)
    assert failed.status_code == 502 and failed.json()["code"] == "provider_failed"
    # Second run of the same wizard step finishes the job.
    done = await apply(portal, "w2", "m365twice.pt", ALL)
    assert done.status_code == 200, done.text
    # Microsoft's MX stays until the mailbox exists (issue 23).
    assert [r for r in zone_of(portal, "m365twice.pt") if r[0] == "MX"] == [
        ("MX", "m365twice.pt", "m365twice-pt.mail.protection.outlook.com", 0)
    ]
    assert (await portal.account("w2", "m365twice.pt")).status_code == 200
    spf = f"v=spf1 a:{MAIL} include:spf.protection.outlook.com -all"
    assert zone_of(portal, "m365twice.pt") == [
        ("CNAME", "autodiscover.m365twice.pt", MAIL, None),
        ("MX", "m365twice.pt", MAIL, 10),
        (
            "TXT",
            "_dmarc.m365twice.pt",
            "v=DMARC1; p=none; rua=mailto:dmarc@m365twice.pt",
            None,
        ),
        ("TXT", "m365twice.pt", "MS=ms48151623", None),
        ("TXT", "m365twice.pt", spf, None),
    ]
    spf_records = [r for r in zone_of(portal, "m365twice.pt") if is_spf(r[2])]
    assert len(spf_records) == 1 and spf_lookups(spf) == 2
    assert "include:spf.protection.outlook.com" in spf_terms(spf)
    # The second run reports what was left to do; the first run's writes are present.
    body = done.json()
    assert [r["name"] for r in body["created"]] == ["_dmarc.m365twice.pt"]
    assert [(r["type"], r["reason"]) for r in body["replaced"]] == [("CNAME", "name_taken")]
    assert [r["type"] for r in body["present"]] == ["TXT"]  # merged by run one
    assert [(h["type"], h["action"]) for h in body["held"]] == [("MX", "replace")]
    await wait_until(portal.drained)
    types = portal.ops.types_for("w2")
    assert types == [*STAGE_TYPES[:2], "onboarding.failed", *STAGE_TYPES[2:]]
    failure = next(b for b in portal.ops.stored.values() if b["type"] == "onboarding.failed")
    assert failure["data"]["code"] == "cloudflare:10001"
    assert failure["data"]["stage"] == "dns_applied"


async def test_conflicts_kept_are_listed_with_their_reason(portal: Portal) -> None:
    await portal.validate("k", "m365kept.pt")
    kept = await apply(portal, "k", "m365kept.pt", [])
    assert kept.status_code == 200
    assert [(r["type"], r["reason"]) for r in kept.json()["kept"]] == [
        ("MX", "mx_other_provider"),
        ("CNAME", "name_taken"),
    ]
    # Kept: nothing held, so the account step writes no MX either (issue 23).
    assert kept.json()["held"] == []
    await wait_until(portal.drained)
    applied = next(b for b in portal.ops.stored.values() if b["type"] == "dns.applied")["data"]
    assert [k["existing"][0]["content"] for k in applied["kept"]] == [
        "m365kept-pt.mail.protection.outlook.com",
        "autodiscover.outlook.com",
    ]
    assert [m["name"] for m in applied["merged"]] == ["m365kept.pt"]


async def test_the_domain_is_fixed_once_dns_is_published(portal: Portal) -> None:
    await portal.validate("fix", "example.pt")
    # Before DNS, the customer may still change their mind.
    assert (await portal.validate("fix", "other.pt")).status_code == 200
    assert (await portal.validate("fix", "example.pt")).status_code == 200
    await portal.dns("fix", "example.pt")
    moved = await portal.validate("fix", "other.pt")
    assert (moved.status_code, moved.json()["code"]) == (409, "domain_fixed")
    assert (await portal.validate("fix", "example.pt")).status_code == 200
    bodies = [row["body"] for row in portal.outbox() if row["event_type"] == "domain.validated"]
    assert len(bodies) == 3 and '"other.pt"' in bodies[1]


async def test_carbonio_token_expiry_between_two_onboardings(portal: Portal) -> None:
    # Item 1 through the app: the Portal's Carbonio client kept the ZM_ADMIN_AUTH_TOKEN
    # cookie, so after expiry every AuthRequest was answered AUTH_EXPIRED.
    sandbox: Sandbox = portal.app.state.portal.sandbox
    assert [r.status_code for r in await portal.wizard("t1", "first.pt")] == [200] * 3
    sandbox.expire_tokens()
    assert [r.status_code for r in await portal.wizard("t2", "second.pt")] == [200] * 3
    assert len(sandbox.tokens) == 2


async def test_unicode_domain_events_carry_ascii_with_unicode_beside(portal: Portal) -> None:
    responses = await portal.wizard("idn", "Café.pt")
    assert [r.status_code for r in responses] == [200] * 3
    assert responses[2].json()["account_unicode"] == "admin@café.pt"
    await wait_until(portal.drained)
    created = next(b for b in portal.ops.stored.values() if b["type"] == "account.created")
    data = created["data"]
    assert (data["domain"], data["domain_unicode"]) == ("xn--caf-dma.pt", "café.pt")
    assert (data["account"], data["account_unicode"]) == ("admin@xn--caf-dma.pt", "admin@café.pt")


async def test_errors_carry_a_code_for_the_customers_message(portal: Portal) -> None:
    bad = await portal.validate("c", "not a domain")
    assert (bad.status_code, bad.json()["code"]) == (400, "domain_invalid")
    await portal.validate("c", "example.pt")
    await portal.dns("c", "example.pt")
    short = await portal.account("c", "example.pt", password="short")
    assert (short.status_code, short.json()["code"]) == (400, "password_rule")
