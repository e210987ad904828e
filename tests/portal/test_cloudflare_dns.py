"""CloudflareDns (vm112_portal/providers/cloudflare_dns.py) and the plan
(vm112_portal/providers/dns_plan.py): the official SDK against the upstream-modelled
sandbox (vm112_portal/providers/sandbox/cloudflare.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from cloudflare import AsyncCloudflare

from tests.portal.conftest import cloudflare_refuses_writes
from vm112_portal.domains import normalise
from vm112_portal.errors import CloudflareFailed
from vm112_portal.providers.cloudflare_dns import CloudflareDns, DnsOutcome
from vm112_portal.providers.dns_plan import is_spf, spf_lookups, spf_terms
from vm112_portal.providers.sandbox import Sandbox

BASE = "http://sandbox.test/cloudflare/client/v4"
MAIL_HOST = "mail.provider.example"


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(admin_user="admin@x.example", admin_password="x")


def client_for(transport: httpx.AsyncBaseTransport, **options: Any) -> CloudflareDns:
    http = httpx.AsyncClient(transport=transport)
    client = AsyncCloudflare(
        api_token="sandbox-token", base_url=BASE, http_client=http, max_retries=0
    )
    return CloudflareDns(client, **options)


@pytest.fixture
async def dns(sandbox: Sandbox) -> AsyncIterator[CloudflareDns]:
    yield client_for(httpx.ASGITransport(app=sandbox.app()), txt=sandbox.txt)


async def setup(
    dns: CloudflareDns, domain: str, replace: frozenset[str] = frozenset()
) -> DnsOutcome:
    zone, steps = await dns.plan(normalise(domain), MAIL_HOST)
    assert zone is not None
    return await dns.apply(zone, steps, replace)


def zone(sandbox: Sandbox, name: str) -> list[tuple[str, str, str, int | None]]:
    return sorted(
        (r["type"], r["name"], r["content"], r.get("priority")) for r in sandbox.records[name]
    )


def spf_of(sandbox: Sandbox, name: str) -> list[str]:
    return [
        r["content"] for r in sandbox.records[name] if r["name"] == name and is_spf(r["content"])
    ]


async def test_fresh_zone_gets_the_four_records(dns: CloudflareDns, sandbox: Sandbox) -> None:
    outcome = await setup(dns, "example.pt")
    assert [(r["type"], r["name"]) for r in outcome.created] == [
        ("MX", "example.pt"),
        ("TXT", "example.pt"),
        ("TXT", "_dmarc.example.pt"),
        ("CNAME", "autodiscover.example.pt"),
    ]
    assert zone(sandbox, "example.pt") == [
        ("CNAME", "autodiscover.example.pt", MAIL_HOST, None),
        ("MX", "example.pt", MAIL_HOST, 10),
        ("TXT", "_dmarc.example.pt", "v=DMARC1; p=none; rua=mailto:dmarc@example.pt", None),
        ("TXT", "example.pt", f"v=spf1 mx a:{MAIL_HOST} ~all", None),
    ]


async def test_a_second_run_finds_everything_present_and_writes_nothing(
    dns: CloudflareDns, sandbox: Sandbox
) -> None:
    await setup(dns, "example.pt")
    writes = sandbox.cloudflare.writes
    again = await setup(dns, "example.pt")
    assert (again.created, again.merged, again.replaced, again.kept) == ([], [], [], [])
    assert len(again.present) == 4
    assert sandbox.cloudflare.writes == writes


async def test_m365_zone_plans_conflicts_and_keeps_them_unless_told(
    dns: CloudflareDns, sandbox: Sandbox
) -> None:
    # Items 2 and 3: before the plan, apply() doubled the MX and SPF and then failed on
    # the autodiscover CNAME with 81053, leaving the zone half changed.
    zone_found, steps = await dns.plan(normalise("m365shop.pt"), MAIL_HOST)
    assert zone_found is not None
    assert [(s.purpose, s.action, s.reason) for s in steps] == [
        ("mx", "conflict", "mx_other_provider"),
        ("spf", "merge", None),
        ("dmarc", "create", None),
        ("autodiscover", "conflict", "name_taken"),
    ]
    before = zone(sandbox, "m365shop.pt")
    outcome = await dns.apply(zone_found, steps, frozenset())
    assert [k["reason"] for k in outcome.kept] == ["mx_other_provider", "name_taken"]
    after = zone(sandbox, "m365shop.pt")
    # Kept: the other provider's MX and autodiscover are untouched, no MX of ours beside it.
    assert [r for r in after if r[0] in ("MX", "CNAME")] == [
        r for r in before if r[0] in ("MX", "CNAME")
    ]
    assert len(spf_of(sandbox, "m365shop.pt")) == 1


async def test_m365_zone_replaced_on_confirmation(dns: CloudflareDns, sandbox: Sandbox) -> None:
    outcome = await setup(dns, "m365shop.pt", frozenset({"mx", "autodiscover"}))
    assert [(r["type"], r["reason"]) for r in outcome.replaced] == [
        ("MX", "mx_other_provider"),
        ("CNAME", "name_taken"),
    ]
    assert outcome.replaced[1]["removed"] == [
        {"type": "CNAME", "name": "autodiscover.m365shop.pt", "content": "autodiscover.outlook.com"}
    ]
    records = zone(sandbox, "m365shop.pt")
    assert [r for r in records if r[0] == "MX"] == [("MX", "m365shop.pt", MAIL_HOST, 10)]
    assert [r for r in records if r[0] == "CNAME"] == [
        ("CNAME", "autodiscover.m365shop.pt", MAIL_HOST, None)
    ]
    assert ("TXT", "m365shop.pt", "MS=ms48151623", None) in records  # unrelated TXT kept


async def test_spf_is_merged_into_one_record_checked_by_parsing(
    dns: CloudflareDns, sandbox: Sandbox
) -> None:
    outcome = await setup(dns, "spfshop.pt")
    assert [m["previous"] for m in outcome.merged] == ["v=spf1 include:_spf.google.com ~all"]
    (spf,) = spf_of(sandbox, "spfshop.pt")  # one v=spf1 per name (RFC 7208 §4.5)
    terms = spf_terms(spf)
    assert f"a:{MAIL_HOST}" in terms  # ours
    assert "include:_spf.google.com" in terms and terms[-1] == "~all"  # the old ones kept
    assert spf_lookups(spf) <= 10


async def test_spf_beyond_ten_lookups_is_a_conflict_not_a_merge(sandbox: Sandbox) -> None:
    heavy = "v=spf1 " + " ".join(f"include:s{i}.example" for i in range(10)) + " -all"
    sandbox.cloudflare.records["heavy.pt"] = [
        sandbox.cloudflare._record(
            "heavy.pt", {"type": "TXT", "name": "heavy.pt", "content": heavy}
        )
    ]
    dns = client_for(httpx.ASGITransport(app=sandbox.app()))
    _, steps = await dns.plan(normalise("heavy.pt"), MAIL_HOST)
    assert (steps[1].action, steps[1].reason) == ("conflict", "spf_too_many_lookups")
    assert spf_lookups(heavy) == 10


async def test_dmarc_of_another_policy_is_a_conflict_replaced_in_place(
    dns: CloudflareDns, sandbox: Sandbox
) -> None:
    outcome = await setup(dns, "dmarcshop.pt", frozenset({"dmarc"}))
    assert [(r["name"], r["reason"]) for r in outcome.replaced] == [
        ("_dmarc.dmarcshop.pt", "dmarc_other_policy")
    ]
    dmarc = [r for r in sandbox.records["dmarcshop.pt"] if r["name"] == "_dmarc.dmarcshop.pt"]
    assert [r["content"] for r in dmarc] == ["v=DMARC1; p=none; rua=mailto:dmarc@dmarcshop.pt"]


async def test_cpanel_autodiscover_a_record_is_a_conflict(dns: CloudflareDns) -> None:
    _, steps = await dns.plan(normalise("cpanelshop.pt"), MAIL_HOST)
    autodiscover = steps[3]
    assert (autodiscover.action, autodiscover.reason) == ("conflict", "name_taken")
    assert [r.type for r in autodiscover.existing] == ["A"]


async def test_records_are_read_page_by_page(sandbox: Sandbox) -> None:
    dns = client_for(httpx.ASGITransport(app=sandbox.app()), per_page=5)
    extra = [{"type": "TXT", "name": "paged.pt", "content": f"verification-{i}"} for i in range(11)]
    sandbox.cloudflare.records["paged.pt"] = [
        sandbox.cloudflare._record("paged.pt", r)
        for r in [*extra, {"type": "TXT", "name": "paged.pt", "content": "v=spf1 -all"}]
    ]
    _, steps = await dns.plan(normalise("paged.pt"), MAIL_HOST)
    assert steps[1].action == "merge"  # the SPF record was on the third page
    assert steps[1].record.content == f"v=spf1 a:{MAIL_HOST} -all"


async def test_nocf_domain_has_no_zone(dns: CloudflareDns, sandbox: Sandbox) -> None:
    assert await dns.plan(normalise("nocf-shop.pt"), MAIL_HOST) == (None, [])
    assert sandbox.records == {}


async def test_subdomain_uses_the_parent_zone(dns: CloudflareDns) -> None:
    outcome = await setup(dns, "eu.example.pt")
    assert outcome.zone_name == "example.pt"
    assert outcome.created[2]["name"] == "_dmarc.eu.example.pt"


async def test_other_api_errors_fail_with_code() -> None:
    refused = client_for(httpx.MockTransport(cloudflare_refuses_writes))
    with pytest.raises(CloudflareFailed) as caught:
        await setup(refused, "example.pt")
    assert (caught.value.code, caught.value.event_code) == (10000, "cloudflare:10000")
    assert "creating the mx record (10000: Authentication error)" in caught.value.reason


async def test_unreachable_cloudflare_fails() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    with pytest.raises(CloudflareFailed) as caught:
        await client_for(httpx.MockTransport(handler)).plan(normalise("example.pt"), MAIL_HOST)
    assert caught.value.reason == (
        "Cloudflare could not be reached while looking up the zone example.pt"
    )
    assert caught.value.event_code == "portal:unreachable"


@pytest.mark.parametrize(
    ("existing", "kind", "code"),
    [
        pytest.param("A", "CNAME", 81053, id="cname-beside-a"),
        pytest.param("CNAME", "CNAME", 81053, id="cname-beside-cname"),
        pytest.param("CNAME", "A", 81054, id="a-beside-cname"),
    ],
)
async def test_sandbox_refuses_cname_neighbours_like_cloudflare(
    sandbox: Sandbox, existing: str, kind: str, code: int
) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app())) as http:
        auth = {"authorization": "Bearer sandbox-token"}
        listed = await http.get(f"{BASE}/zones", params={"name": "example.pt"}, headers=auth)
        zone_id = listed.json()["result"][0]["id"]
        url = f"{BASE}/zones/{zone_id}/dns_records"
        first = {"type": existing, "name": "www.example.pt", "content": "192.0.2.1"}
        if existing == "CNAME":
            first["content"] = "elsewhere.example"
        second = {"type": kind, "name": "www.example.pt", "content": "198.51.100.1"}
        if kind == "CNAME":
            second["content"] = "target.example"
        assert (await http.post(url, json=first, headers=auth)).status_code == 200
        refused = await http.post(url, json=second, headers=auth)
        # Several TXT or MX on one name are fine; only CNAME neighbours are refused.
        txt = {"type": "TXT", "name": "example.pt", "content": "a"}
        assert (await http.post(url, json=txt, headers=auth)).status_code == 200
        assert (await http.post(url, json={**txt, "content": "b"}, headers=auth)).status_code == 200
        identical = await http.post(url, json=txt, headers=auth)
    assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == code
    assert identical.json()["errors"][0]["code"] == 81058
